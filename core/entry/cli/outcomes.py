"""Exit codes of `python -m core` (`MEANING` is the table `--help` and docs/cli.md show), and the one line
(with the fix) that replaces a traceback for Ctrl-C, a closed pipe, unreachable storage or ARM, no credential."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

from core.request import Problem


class Exit(IntEnum):
    OK = 0
    FAILED = 1
    INVALID = 2
    REJECTED = 3
    CANCELLED = 4
    NOT_FOUND = 5
    IN_FLIGHT = 6
    REFUSED = 7
    UNREACHABLE = 8
    INTERRUPTED = 130
    BROKEN_PIPE = 141


# The two codes most verbs return, as the plain ints they have always been.
EXIT_OK = 0
EXIT_INVALID = 2

MEANING = {
    Exit.OK: "done; the build Succeeded (a snapshot's intake: it started its build, or was Skipped)",
    Exit.FAILED: "the build Failed (audit: an error finding, or a gallery not read)",
    Exit.INVALID: "usage, invalid input or configuration",
    Exit.REJECTED: "the build was Rejected",
    Exit.CANCELLED: "the build (audit --report: the audit) was Cancelled",
    Exit.NOT_FOUND: "no such build (audit --report: no such audit)",
    Exit.IN_FLIGHT: "the build has not ended yet (status without --watch; audit --report: the audit)",
    Exit.REFUSED: "refused: another request for a version being built or published; nothing to cancel",
    Exit.UNREACHABLE: "storage or ARM cannot be reached, or no credential was found",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
    Exit.BROKEN_PIPE: "the output pipe was closed (e.g. | head)",
}
EXIT_HELP = "exit codes:\n" + "\n".join(f"  {int(code):>3}  {text}" for code, text in MEANING.items())

_BY_STATUS = {"Succeeded": Exit.OK, "Failed": Exit.FAILED, "Rejected": Exit.REJECTED, "Cancelled": Exit.CANCELLED,
              "BuildStarted": Exit.OK, "Skipped": Exit.OK}


def exit_for_status(status: str) -> Exit:
    """What `status` exits with for a build in `status`."""
    return _BY_STATUS.get(status, Exit.IN_FLIGHT)


_POOL = re.compile(r"host='([^']+)', port=(\d+)")


def _where(error: BaseException) -> str:
    """host:port an SDK connection error was about (urllib3 names its pool in the message), or ''."""
    found = _POOL.search(str(error))
    return f"{found[1]}:{found[2]}" if found else ""


def describe(error: BaseException, settings_hint: str = "AzureWebJobsStorage") -> tuple[str, Exit] | None:
    """One line naming the cause and the fix, and the exit code; None for an error that is a bug."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
    from azure.identity import CredentialUnavailableError

    from core.azure.settings import SettingsError

    if isinstance(error, SettingsError):
        return f"configuration: {error}", Exit.INVALID
    no_credential = "failed to retrieve a token from the included credentials" in str(error)
    if isinstance(error, CredentialUnavailableError) or no_credential:
        return ("no credential found: run `az login`, or set IDENTITY_ENDPOINT/IDENTITY_HEADER (managed identity) "
                "or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET"), Exit.UNREACHABLE
    if isinstance(error, ClientAuthenticationError):
        first = str(error).splitlines()[0][:200]
        return f"authentication failed: {first}; check the identity and its role assignments", Exit.UNREACHABLE
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        host = _where(error)
        arm = os.environ.get("ARM_ENDPOINT", "")
        arm_host = urlsplit(arm).netloc if arm else "management.azure.com"
        if host and (host == arm_host or host == f"{arm_host}:443"):
            fix = "check ARM_ENDPOINT (and ARM_CA_BUNDLE), or start the ARM simulator"
            what = "ARM"
        else:
            fix = f"check {settings_hint} in local.settings.json or the environment, or start Azurite"
            what = "storage"
        reason = str(error).splitlines()[0].split(": ")[-1][:120]
        return f"cannot reach {what}{f' at {host}' if host else ''} ({reason}): {fix}", Exit.UNREACHABLE
    return None


def run_guarded(handler: Callable[[Any], int], args: Any) -> int:
    """Run one verb; Ctrl-C, a closed pipe and the known environment errors end in one line, not a traceback."""
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # The reader went away: send the rest of our output nowhere, so the interpreter's flush at exit is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return Exit.BROKEN_PIPE
    except Exception as error:
        described = describe(error)
        if described is None:
            raise
        message, code = described
        print(message, file=sys.stderr)
        return code


def report(problems: list[Problem]) -> int:
    """Every problem on stderr, one ``field: message`` line each; the exit code of invalid input."""
    for problem in problems:
        print(str(problem).replace("\n", " "), file=sys.stderr)
    return EXIT_INVALID
