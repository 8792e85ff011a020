"""The verbs about builds: ``plan`` (offline; live with ``--check``), ``submit``, ``status``, ``cancel``, ``list``."""

import argparse
import json
import sys
from typing import Any

from core.app.request_input import InputInvalid, read_request_file
from core.entry.cli.environment import known_regions, runtime
from core.entry.cli.outcomes import EXIT_INVALID, EXIT_OK, Exit, exit_for_status, report
from core.request import RequestInvalid, parse_request
from core.request.encryption import to_body

EXIT_NOT_FOUND = Exit.NOT_FOUND
TERMINAL_STATUSES = ("Succeeded", "Failed", "Rejected", "Cancelled")


def run_plan(args: argparse.Namespace) -> int:
    """Validate the request and print the image version's ID and the ARM PUT body."""
    try:
        request = parse_request(read_request_file(args.request), known_regions=known_regions())
    except (InputInvalid, RequestInvalid) as invalid:
        return report(invalid.problems)
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
    from core.azure.arm import Arm
    from core.azure.settings import Settings, SettingsError
    from core.policy.check import check_live
    from core.policy.enforcement import PolicyConfigError

    try:
        return check_live(request, Arm(Settings.from_env(), request.subscription_id))
    except (SettingsError, PolicyConfigError) as error:
        print(f"configuration: {error}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def run_submit(args: argparse.Namespace) -> int:
    """Validate the request offline, put it on the request queue as written, and print its build ID.

    A duplicate of the build's request prints the ID and says so (exit 0, nothing queued); a different request
    for a version being built or published is refused (exit 7)."""
    from core.app.submit import submit_request
    from core.builds.admission import Outcome

    try:
        raw = read_request_file(args.request)
        parse_request(raw, known_regions=known_regions())
    except (InputInvalid, RequestInvalid) as invalid:
        return report(invalid.problems)
    assert isinstance(raw, dict)  # parse_request accepted it
    result = submit_request(runtime(), raw, origin="cli")
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
    from core.app.status import build_status
    from core.builds.submissions import find_build_id

    return build_status(rt.store, find_build_id(reference))


def run_status(args: argparse.Namespace) -> int:
    """Show a build: a readable summary by default, the status document with --json; the exit code follows
    the build's status (see core/entry/cli/outcomes.py). --watch on a terminal is a live view until it ends."""
    import time

    from core.app.status import format_status

    rt = runtime()
    document = _document(rt, args.build)
    if document is None:
        print(f"no build {args.build!r}: give the ID that `submit` printed or the image version's resource ID",
              file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.watch and not args.json and document["status"] not in TERMINAL_STATUSES:
        from core.entry.cli.live import watch

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
    from core.builds.state import BuildState
    from core.builds.submissions import find_build_id

    rt = runtime()
    build_id = find_build_id(args.build)
    loaded = rt.store.get(build_id)
    if loaded is None or not isinstance(loaded[0], BuildState):  # another workflow's record (an audit) is no build
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
    rt = runtime()
    from core.builds.state import BuildState

    states = rt.store.in_flight() if args.in_flight else rt.store.recent(args.limit)
    for state in (state for state in states if isinstance(state, BuildState)):  # an audit is no build
        print(f"{state.build_id}  {state.status!s:<12} {state.updated_at}  {state.resource_id}")
    return EXIT_OK
