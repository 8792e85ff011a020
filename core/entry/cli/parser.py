"""The `python -m core` parser (one subparser per verb, each naming its handler) and ``main``."""

import argparse
import sys
from collections.abc import Callable

from core.entry.cli.build_commands import run_cancel, run_list, run_plan, run_status, run_submit
from core.entry.cli.change_regions import add_parser as add_change_regions
from core.entry.cli.operating_commands import run_audit, run_templates_check, run_worker
from core.entry.cli.outcomes import EXIT_HELP, EXIT_INVALID, run_guarded
from core.entry.local_host_flags import add_sign_in_arguments


def build_parser() -> argparse.ArgumentParser:
    """The `python -m core` parser; each verb's subparser sets ``handler`` to its function."""
    parser = argparse.ArgumentParser(prog="python -m core", epilog=EXIT_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Publish CMK-encrypted Azure Compute Gallery image versions.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    plan = verbs.add_parser("plan", help="validate a build request offline and print the ARM PUT it would send",
                            description="Validate a build request (JSON, v1) offline and print "
                                        '{"resourceId": ..., "body": ...}. Exit 2 on invalid input.')
    plan.add_argument("request", metavar="REQUEST.json", help="the request file, or - to read stdin")
    plan.add_argument("--check", action="store_true",
                      help="also run the pre-flight policy checks live against ARM (read-only); "
                           "exit 2 if any finding is an error")
    plan.set_defaults(handler=run_plan)

    submit = verbs.add_parser("submit", help="put a build request on the request queue and print its build ID")
    submit.add_argument("request", metavar="REQUEST.json", help="the request file, or - to read stdin")
    submit.set_defaults(handler=run_submit)

    add_change_regions(verbs)

    status = verbs.add_parser("status", help="show a build's status, regions, problems and history")
    status.add_argument("build", metavar="ID", help="the build ID, or the image version's resource ID")
    status.add_argument("--json", action="store_true", help="print the status document as JSON")
    status.add_argument("--watch", action="store_true", help="repeat until the build ends")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between --watch refreshes")
    status.set_defaults(handler=run_status)

    cancel = verbs.add_parser("cancel", help="cancel a build that has not ended")
    cancel.add_argument("build", metavar="ID", help="the build ID, or the image version's resource ID")
    cancel.add_argument("--reason", default="cancelled by a user", help="recorded in the build's history")
    cancel.set_defaults(handler=run_cancel)

    listing = verbs.add_parser("list", help="list recent builds")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--in-flight", action="store_true", help="only builds that have not ended")
    listing.set_defaults(handler=run_list)

    worker = verbs.add_parser("worker", help="serve function_app.py locally: queues, timers, HTTP")
    worker.add_argument("--until-idle", action="store_true", help="stop once no build is in flight")
    worker.add_argument("--http-port", type=int, default=None, help="serve the HTTP triggers on this port")
    add_sign_in_arguments(worker)
    worker.set_defaults(handler=run_worker)

    templates = verbs.add_parser("templates", help="build templates (TEMPLATES_DIR)")
    template_verbs = templates.add_subparsers(dest="templates_verb", required=True, metavar="ACTION")
    check = template_verbs.add_parser("check", help="validate every template; exit 2 with one line per problem")
    check.add_argument("--dir", help="the folder of templates (default: TEMPLATES_DIR, else templates/)")
    check.set_defaults(handler=run_templates_check)

    audit = verbs.add_parser("audit", help="audit published image versions for compliance (exit 1 on an error)",
                             description="Audit every image version of AUDIT_GALLERIES / AUDIT_SUBSCRIPTIONS (or the "
                                         "--gallery / --subscription given): start an audit record and run its steps "
                                         "here (one gallery a step, paced by the ARM budget), record the findings and "
                                         "print them. Exit 0 compliant, 1 error findings or a gallery not read, "
                                         "2 configuration, 5 no such audit, 6 an audit not ended yet (--report).")
    audit.add_argument("--json", action="store_true", help="print the report as JSON")
    audit.add_argument("--gallery", action="append", metavar="ID", help="a gallery resource ID (repeatable)")
    audit.add_argument("--subscription", action="append", metavar="ID", help="every gallery of a subscription")
    audit.add_argument("--no-record", action="store_true", help="do not write the findings table")
    mode = audit.add_mutually_exclusive_group()
    mode.add_argument("--start", action="store_true",
                      help="start the audit, print its ID and leave its steps to the workers")
    mode.add_argument("--report", nargs="?", const="latest", metavar="ID",
                      help="print an audit's report instead of auditing (default: the latest audit)")
    mode.add_argument("--recorded", action="store_true", help="print the findings table instead of auditing")
    audit.add_argument("--all", action="store_true", help="with --recorded: resolved findings too")
    audit.set_defaults(handler=run_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; returns the process exit code (the table in core/entry/cli/outcomes.py; usage errors exit 2).

    Like the Functions host, every verb first reads `local.settings.json` (the current folder's, else the
    one beside function_app.py): its Values become settings unless the environment already has them."""
    import logging
    import os

    from core.azure.settings import SettingsError
    from core.entry.local_settings import find_local_settings, load_local_settings

    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    # The SDKs' warnings (a credential chain's every attempt) would bury the one line that says what to fix.
    if args.verb != "worker":
        logging.getLogger("azure").setLevel(logging.ERROR)
    found = find_local_settings()
    if found is not None:
        try:
            load_local_settings(found, os.environ)
        except SettingsError as error:
            print(f"configuration: {error}", file=sys.stderr)
            return EXIT_INVALID
    return run_guarded(handler, args)
