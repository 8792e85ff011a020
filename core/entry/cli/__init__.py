"""`python -m core`: one subparser and one handler function per verb.

Verbs that touch storage or ARM read their configuration from the environment (docs/configuration.md):
``submit`` puts a request on the request queue, ``status`` and ``cancel`` read and change a build,
``worker`` serves function_app.py locally.

``plan REQUEST.json`` (or ``-`` for stdin) is offline: it validates a build request and prints one JSON
object ``{"resourceId": ..., "body": ...}``, the ARM PUT it would send; exit 0. Bad input exits 2 with
every problem on stderr, one ``field: message`` line each, and never a traceback.

Each verb parses its arguments, calls the application layer (core/app) and prints what it answers.

- ``environment``         the settings and the app's runtime, as the verbs read them
- ``build_commands``      plan, submit, status, cancel, list
- ``change_regions``      change-regions
- ``status_text``         a status document as a person reads it;  ``live``  the live view of builds
- ``operating_commands``  worker, templates check, audit
- ``outcomes``            exit codes, and the one line that replaces a traceback
- ``parser``              the parser and ``main``
"""

from core.app.request_input import InputInvalid, load_json, load_request_bytes, read_request_file
from core.app.status import TERMINAL_STATUSES
from core.entry.cli.build_commands import EXIT_NOT_FOUND, run_cancel, run_list, run_plan, run_status, run_submit
from core.entry.cli.environment import CLI_STORAGE_OPTIONS
from core.entry.cli.operating_commands import EXIT_NONCOMPLIANT, run_audit, run_templates_check, run_worker
from core.entry.cli.outcomes import EXIT_INVALID, EXIT_OK
from core.entry.cli.parser import build_parser, main

__all__ = [
    "CLI_STORAGE_OPTIONS", "EXIT_INVALID", "EXIT_NONCOMPLIANT", "EXIT_NOT_FOUND", "EXIT_OK", "TERMINAL_STATUSES",
    "InputInvalid", "build_parser", "load_json", "load_request_bytes", "main", "read_request_file", "run_audit",
    "run_cancel", "run_list", "run_plan", "run_status", "run_submit", "run_templates_check", "run_worker",
]
