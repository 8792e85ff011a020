"""What a verb reads from the environment: the settings (and so the configured cloud's regions) and the
app's runtime.

Both are imported late, so that the offline verbs need no storage settings; a bad setting ends the verb
with one ``configuration:`` line and exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from core.entry.cli.outcomes import EXIT_INVALID

if TYPE_CHECKING:
    from core.app.runtime import Runtime
    from core.azure.settings import Settings

T = TypeVar("T")

# A command line fails fast on unreachable storage (the SDK's default retries wait 77 s before giving up).
CLI_STORAGE_OPTIONS = {"retry_total": 0, "connection_timeout": 10, "read_timeout": 30}


def _configured(make: Callable[[], T]) -> T:
    """``make()``; a SettingsError ends the verb with one ``configuration:`` line and exit 2."""
    from core.azure.settings import SettingsError

    try:
        return make()
    except SettingsError as error:
        print(f"configuration: {error}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def settings() -> Settings:
    """The app's settings (AZURE_CLOUD, EXTRA_REGIONS, ARM_ENDPOINT, ...); a bad setting stops here."""
    from core.azure.settings import Settings

    return _configured(Settings.from_env)


def known_regions() -> frozenset[str]:
    """The regions of the configured cloud (AZURE_CLOUD, EXTRA_REGIONS); a bad setting stops here."""
    return settings().known_regions


def runtime() -> Runtime:
    """The app's runtime from the environment; imported late so that `plan` needs no storage settings."""
    from core.app.runtime import build_runtime

    return _configured(lambda: build_runtime(storage_options=CLI_STORAGE_OPTIONS))
