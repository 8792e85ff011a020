"""`local.settings.json` as the Functions host reads it locally: its `Values` become app settings, and a
variable already set in the environment wins. Used by every `python -m core` verb and the local worker."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from pathlib import Path

from core.azure.settings import SettingsError

FILE_NAME = "local.settings.json"
APP_DIR = Path(__file__).resolve().parent.parent  # the folder of function_app.py


def load_local_settings(path: Path, env: MutableMapping[str, str]) -> list[str]:
    """Copy `Values` of a local.settings.json into `env` unless already set; returns the names skipped."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise SettingsError(f"{path} is not valid JSON: {error}") from None
    except OSError as error:
        raise SettingsError(f"{path} cannot be read ({error.strerror})") from None
    if not isinstance(document, dict):
        raise SettingsError(f"{path} must hold a JSON object with a 'Values' object")
    if document.get("IsEncrypted"):
        raise SettingsError(f"{path} is encrypted (IsEncrypted=true); decrypt it with `func settings decrypt`")
    values = document.get("Values") or {}
    if not isinstance(values, dict):
        raise SettingsError(f"{path} Values must be an object of setting names to strings")
    skipped = []
    for name, value in values.items():
        if name in env:
            skipped.append(name)
        else:
            env[name] = "" if value is None else str(value)
    return skipped


def find_local_settings(cwd: Path | None = None) -> Path | None:
    """local.settings.json in the current folder, else beside function_app.py; None when there is none."""
    for folder in (cwd or Path.cwd(), APP_DIR):
        candidate = folder / FILE_NAME
        if candidate.is_file():
            return candidate
    return None
