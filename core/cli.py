"""`python -m core`: one subparser and one handler function per verb.

Verbs that touch storage or ARM read their configuration from the environment (see README):
``submit`` puts a request on the request queue, ``status`` and ``cancel`` read and change a build,
``worker`` serves function_app.py locally.

``plan REQUEST.json`` (or ``-`` for stdin) is offline: it validates a build request and prints one JSON
object ``{"resourceId": ..., "body": ...}``, the ARM PUT it would send; exit 0. Bad input exits 2 with
every problem on stderr, one ``field: message`` line each, and never a traceback.
"""

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from core import json_input
from core.cli_outcomes import EXIT_HELP, Exit, exit_for_status, run_guarded
from core.request import Problem, RequestInvalid, parse_request
from core.request.encryption import to_body

EXIT_OK = 0
EXIT_INVALID = 2

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class InputInvalid(Exception):
    """Input that cannot even be read as a JSON request; ``problems`` say why, field by field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def _decode(data: bytes, where: str) -> str:
    """UTF-8, or UTF-8/UTF-16 with a BOM (what Windows PowerShell's Out-File writes)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            data, chosen = data[len(bom):], encoding
            break
    else:
        chosen = "utf-8"
    try:
        return data.decode(chosen)
    except UnicodeDecodeError as error:
        raise InputInvalid([Problem(where, f"is not {chosen} text ({error.reason} at byte {error.start}); "
                                           "save it as UTF-8")]) from None


def load_json(text: str, where: str) -> object:
    """Decode JSON safely (``core.json_input``): depth, number size, duplicate keys, NaN and surrogates."""
    try:
        return json_input.load(text, where)
    except json_input.JsonInvalid as invalid:
        raise InputInvalid(invalid.problems) from None


def load_request_bytes(data: bytes, where: str) -> object:
    """A request's bytes (a file, stdin, an HTTP body) as decoded JSON; InputInvalid when they cannot be."""
    return load_json(_decode(data, where), where)


def read_request_file(path: str, stdin: TextIO | None = None) -> object:
    """Read a request from ``path`` (``-`` = stdin) as decoded JSON; InputInvalid when it cannot be."""
    where = "request (stdin)" if path == "-" else f"request file '{path}'"
    try:
        if path == "-":
            stream = stdin or sys.stdin
            data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as error:
        raise InputInvalid([Problem(where, f"cannot be read ({error.strerror}); give a readable JSON file, "
                                           "or - for stdin")]) from None
    return load_request_bytes(data, where)


def _known_regions() -> frozenset[str]:
    """The regions of the configured cloud (AZURE_CLOUD, EXTRA_REGIONS); a bad setting stops here."""
    from core.config import Settings, SettingsError

    try:
        return Settings.from_env().known_regions
    except SettingsError as error:
        print(f"configuration: {error}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def _report(problems: list[Problem]) -> int:
    for problem in problems:
        print(str(problem).replace("\n", " "), file=sys.stderr)
    return EXIT_INVALID


def run_plan(args: argparse.Namespace) -> int:
    """Validate the request and print the image version's ID and the ARM PUT body."""
    try:
        request = parse_request(read_request_file(args.request), known_regions=_known_regions())
    except (InputInvalid, RequestInvalid) as invalid:
        return _report(invalid.problems)
    plan: dict[str, Any] = {"resourceId": request.resource_id, "body": to_body(request)}
    if not args.check:
        print(json.dumps(plan, indent=2))
        return EXIT_OK
    findings = _check_live(request)
    plan["findings"] = [finding.to_dict() for finding in findings]
    print(json.dumps(plan, indent=2))
    errors = 0
    for finding in findings:
        errors += finding.severity == "error"
        print(f"{finding.severity}: [{finding.code}] {finding.field}: {finding.message}", file=sys.stderr)
    return EXIT_INVALID if errors else EXIT_OK


def _check_live(request: Any) -> list[Any]:
    """The pre-flight rules over facts read from ARM (reads only), with the configured policy."""
    from core.clients.arm import Arm
    from core.config import Settings, SettingsError
    from core.policy.check import check_live
    from core.policy.config import PolicyConfigError

    try:
        return check_live(request, Arm(Settings.from_env(), request.subscription_id))
    except (SettingsError, PolicyConfigError) as error:
        print(f"configuration: {error}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


EXIT_NOT_FOUND = Exit.NOT_FOUND
TERMINAL_STATUSES = ("Succeeded", "Failed", "Rejected", "Cancelled")
# A command line fails fast on unreachable storage (the SDK's default retries wait 77 s before giving up).
CLI_STORAGE_OPTIONS = {"retry_total": 0, "connection_timeout": 10, "read_timeout": 30}


def _runtime() -> Any:
    """The app's runtime from the environment; imported late so that `plan` needs no storage settings."""
    from core.config import SettingsError
    from core.handlers import build_runtime

    try:
        return build_runtime(storage_options=CLI_STORAGE_OPTIONS)
    except SettingsError as error:
        print(f"configuration: {error}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def run_submit(args: argparse.Namespace) -> int:
    """Validate the request offline, put it on the request queue as written, and print its build ID.

    A duplicate of the build's request prints the ID and says so (exit 0, nothing queued); a different request
    for a version being built or published is refused (exit 7)."""
    from core.api.submit import submit_request
    from core.orchestration.admission import Outcome

    try:
        raw = read_request_file(args.request)
        parse_request(raw, known_regions=_known_regions())
    except (InputInvalid, RequestInvalid) as invalid:
        return _report(invalid.problems)
    assert isinstance(raw, dict)  # parse_request accepted it
    result = submit_request(_runtime(), raw, origin="cli")
    if result.outcome is Outcome.CONFLICT:
        print(f"refused: {result.reason}", file=sys.stderr)
        return Exit.REFUSED
    print(result.build_id)
    if result.outcome is Outcome.DUPLICATE:
        print(f"duplicate: {result.reason}; nothing new was queued", file=sys.stderr)
    elif result.outcome is Outcome.RESTARTED:
        print(f"queued: a new attempt of build {result.build_id} ({result.reason})", file=sys.stderr)
    return EXIT_OK


def _document(rt: Any, reference: str) -> dict[str, Any] | None:
    from core.orchestration.submissions import find_build_id
    from core.status import build_status

    return build_status(rt.store, find_build_id(reference))


def run_status(args: argparse.Namespace) -> int:
    """Show a build: a readable summary by default, the status document with --json; the exit code follows
    the build's status (see core/cli_outcomes.py). --watch on a terminal is a live view until it ends."""
    import time

    from core.status import format_status

    rt = _runtime()
    document = _document(rt, args.build)
    if document is None:
        print(f"no build {args.build!r}: give the ID that `submit` printed or the image version's resource ID",
              file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.watch and not args.json and document["status"] not in TERMINAL_STATUSES:
        from core.live import watch

        items = watch(lambda: [(f"Build {document['buildId']}", _document(rt, args.build))], interval=args.interval,
                      stop=lambda items: not items[0][1] or items[0][1]["status"] in TERMINAL_STATUSES)
        document = items[0][1] or document
    while True:
        print(json.dumps(document, indent=2) if args.json else format_status(document), flush=True)
        if not args.watch or document["status"] in TERMINAL_STATUSES:
            return exit_for_status(document["status"])
        time.sleep(args.interval)
        document = _document(rt, args.build) or document


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel a build that has not ended; one already writing to Azure is told what continues there."""
    from core.orchestration.submissions import find_build_id

    rt = _runtime()
    build_id = find_build_id(args.build)
    loaded = rt.store.get(build_id)
    if loaded is None:
        if rt.store.queued(build_id):
            print(f"build {build_id} is still on the request queue: cancel it once a worker has admitted it",
                  file=sys.stderr)
            return Exit.REFUSED
        print(f"no build {args.build!r}: give the ID that `submit` printed or the image version's resource ID",
              file=sys.stderr)
        return EXIT_NOT_FOUND
    if loaded[0].status.terminal:
        print(f"nothing to cancel: build {build_id} already ended {loaded[0].status}", file=sys.stderr)
        return Exit.REFUSED
    state = rt.runner.cancel(build_id, args.reason)
    print(f"{state.build_id}: {state.status}" + (f" ({state.error['message']})" if state.error else ""))
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    """The most recently updated builds, one line each."""
    rt = _runtime()
    states = rt.store.in_flight() if args.in_flight else rt.store.recent(args.limit)
    for state in states:
        print(f"{state.build_id}  {state.status!s:<12} {state.updated_at}  {state.resource_id}")
    return EXIT_OK


def run_worker(args: argparse.Namespace) -> int:
    """Serve function_app.py's triggers against the configured storage (the Functions host's job in Azure).

    The local host lives in ``devstack/``, which a deployed package does not hold: there the verb says so.
    """
    try:
        from devstack.localworker import run_worker as serve
    except ModuleNotFoundError as missing:
        if not (missing.name or "").startswith("devstack"):
            raise
        print("python -m core worker: the local Functions host (devstack/localworker) is not in this package; "
              "in Azure the Functions host serves the triggers, locally run it from a clone of the repository",
              file=sys.stderr)
        return EXIT_INVALID

    import os

    from core.config import SettingsError
    from core.handlers import check_configuration

    try:
        check_configuration(os.environ)
    except SettingsError as error:
        print(f"configuration: {error}", file=sys.stderr)
        return EXIT_INVALID
    idle_check = None
    if args.until_idle:
        store = _runtime().store
        idle_check = lambda: not store.in_flight()  # noqa: E731 - a delayed step message is not an empty queue
    return serve(until_idle=args.until_idle, http_port=args.http_port, idle_check=idle_check)


def run_templates_check(args: argparse.Namespace) -> int:
    """Validate every build template (TEMPLATES_DIR, or --dir): one line per problem and exit 2, else list them."""
    import os
    from pathlib import Path

    from core.snapshots.template_loader import load_templates, templates_dir
    from core.snapshots.templates import TemplatesInvalid

    directory = Path(args.dir) if args.dir else templates_dir(os.environ)
    try:
        templates = load_templates(directory, _known_regions())
    except TemplatesInvalid as invalid:
        for problem in invalid.problems:
            print(str(problem).replace("\n", " "), file=sys.stderr)
        return EXIT_INVALID
    for template in templates:
        print(f"{template.name}: ok ({template.version.kind} versions) {template.description}".rstrip())
    print(f"{len(templates)} template(s) in {directory}")
    return EXIT_OK


EXIT_NONCOMPLIANT = 1


def run_audit(args: argparse.Namespace) -> int:
    """Audit the configured galleries now (or print the recorded findings): a table, or --json."""
    import os

    from core.audit.run import AuditConfig, auditor, format_findings
    from core.config import SettingsError

    rt = _runtime()
    if args.recorded:
        rows = auditor(rt).recorded(include_resolved=args.all)
        print(json.dumps(rows, indent=2) if args.json else format_findings(rows))
        return EXIT_OK
    try:
        config = AuditConfig.from_env(rt.settings.env or os.environ, galleries=args.gallery or (),
                                      subscriptions=args.subscription or ())
    except SettingsError as error:
        print(f"configuration: {error}", file=sys.stderr)
        return EXIT_INVALID
    if config.empty:
        print("nothing to audit: set AUDIT_GALLERIES (gallery resource IDs) or AUDIT_SUBSCRIPTIONS, or pass "
              "--gallery / --subscription", file=sys.stderr)
        return EXIT_INVALID
    report = auditor(rt, record=not args.no_record).run(config)
    document = report.to_dict()
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(format_findings(document["findings"]))
        print(report.summary())
    for problem in report.unreadable:
        print(f"not audited: {problem}", file=sys.stderr)
    errors = any(finding["severity"] == "error" for finding in document["findings"])
    return EXIT_NONCOMPLIANT if errors or report.unreadable else EXIT_OK


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

    from core.cli_change import add_parser as add_change_regions

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
    worker.set_defaults(handler=run_worker)

    templates = verbs.add_parser("templates", help="build templates (TEMPLATES_DIR)")
    template_verbs = templates.add_subparsers(dest="templates_verb", required=True, metavar="ACTION")
    check = template_verbs.add_parser("check", help="validate every template; exit 2 with one line per problem")
    check.add_argument("--dir", help="the folder of templates (default: TEMPLATES_DIR, else templates/)")
    check.set_defaults(handler=run_templates_check)

    audit = verbs.add_parser("audit", help="audit published image versions for compliance (exit 1 on an error)",
                             description="Audit every image version of AUDIT_GALLERIES / AUDIT_SUBSCRIPTIONS (or the "
                                         "--gallery / --subscription given), record the findings and print them. "
                                         "Exit 0 compliant, 1 error findings or a gallery not read, 2 configuration.")
    audit.add_argument("--json", action="store_true", help="print the report as JSON")
    audit.add_argument("--gallery", action="append", metavar="ID", help="a gallery resource ID (repeatable)")
    audit.add_argument("--subscription", action="append", metavar="ID", help="every gallery of a subscription")
    audit.add_argument("--no-record", action="store_true", help="do not write the findings table")
    audit.add_argument("--recorded", action="store_true", help="print the findings table instead of auditing")
    audit.add_argument("--all", action="store_true", help="with --recorded: resolved findings too")
    audit.set_defaults(handler=run_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; returns the process exit code (the table in core/cli_outcomes.py; usage errors exit 2).

    Like the Functions host, every verb first reads `local.settings.json` (the current folder's, else the
    one beside function_app.py): its Values become settings unless the environment already has them."""
    import logging
    import os

    from core.config import SettingsError
    from core.local_settings import find_local_settings, load_local_settings

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
