"""The verbs about builds: ``plan`` (offline; live with ``--check``), ``submit``, ``status``, ``cancel``, ``list``.

Each parses its arguments, calls the application layer (core/app) and prints the result; its typed errors
become one line on stderr and an exit code (core/entry/cli/outcomes.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from core.app.build_lookup import BuildNotAdmitted, BuildNotFound
from core.app.cancel import BuildEnded, cancel_build
from core.app.listing import recent_builds
from core.app.plan import check_build, plan_build
from core.app.request_input import RequestTooLarge, read_request_file, read_request_source
from core.app.runtime import Runtime
from core.app.status import StatusDocument, get_status, is_terminal
from core.app.submit import BuildConflict, PreparedSubmission, SubmitResult, prepare_build, queue_submission
from core.entry.cli.environment import known_regions, runtime, settings
from core.entry.cli.outcomes import EXIT_INVALID, EXIT_OK, Exit, exit_for_status, report
from core.request import Problem, RequestInvalid

EXIT_NOT_FOUND = Exit.NOT_FOUND


def run_plan(args: argparse.Namespace) -> int:
    """Validate the request and print the image version's ID and the ARM PUT body."""
    try:
        plan = plan_build(read_request_file(args.request), known_regions=known_regions())
    except RequestInvalid as invalid:
        return report(invalid.problems)
    document: dict[str, Any] = {"resourceId": plan.resource_id, "body": plan.body}
    if not args.check:
        print(json.dumps(document, indent=2))
        return EXIT_OK
    checked = check_build(plan.request, settings())
    document["findings"] = [finding.to_dict() for finding in checked.findings]
    document["keyChains"] = checked.key_chains
    print(json.dumps(document, indent=2))
    for chain in checked.key_chains:
        print(f"key chain: {chain['diskEncryptionSetId'].rsplit('/', 1)[-1]}: {chain['verdict']}", file=sys.stderr)
    errors = 0
    for finding in checked.findings:
        errors += finding.severity == "error"
        print(f"{finding.severity}: [{finding.code}] {finding.field}: {finding.message}", file=sys.stderr)
    return EXIT_INVALID if errors else EXIT_OK


def submitted(prepare: Callable[..., PreparedSubmission], path: str) -> SubmitResult | int:
    """Prepare the request file ``path`` (``-``: stdin) with ``prepare`` of core/app/submit.py, offline (every
    problem is said before storage is needed), then queue it; the exit code instead when it is refused."""
    where = path
    try:
        data, where = read_request_source(path)
        prepared = prepare(data, where=where, origin="cli", known_regions=known_regions())
        return queue_submission(runtime(), prepared)
    except RequestTooLarge as large:
        return report([Problem(where, str(large))])
    except RequestInvalid as invalid:
        return report(invalid.problems)
    except BuildConflict as conflict:
        print(f"refused: {conflict.reason}", file=sys.stderr)
        return Exit.REFUSED


def print_submitted(result: SubmitResult) -> int:
    """The build ID on stdout; on stderr, a duplicate (nothing queued) or a new attempt said."""
    print(result.build_id)
    if result.duplicate:
        print(f"duplicate: {result.reason}; nothing new was queued", file=sys.stderr)
    elif result.restarted:
        print(f"queued: a new attempt of build {result.build_id} ({result.reason})", file=sys.stderr)
    return EXIT_OK


def run_submit(args: argparse.Namespace) -> int:
    """Validate the request offline, put it on the request queue as written, and print its build ID.

    A duplicate of the build's request prints the ID and says so (exit 0, nothing queued); a different request
    for a version being built or published is refused (exit 7)."""
    result = submitted(prepare_build, args.request)
    return result if isinstance(result, int) else print_submitted(result)


def _not_found(reference: str) -> int:
    print(f"no build {reference!r}: give the ID that `submit` printed or the image version's resource ID",
          file=sys.stderr)
    return EXIT_NOT_FOUND


def _document(rt: Runtime, reference: str) -> StatusDocument | None:
    try:
        return get_status(rt, reference)
    except BuildNotFound:
        return None


def run_status(args: argparse.Namespace) -> int:
    """Show a build: a readable summary by default, the status document with --json; the exit code follows
    the build's status (see core/entry/cli/outcomes.py). --watch on a terminal is a live view until it ends."""
    from core.entry.cli.status_text import format_status

    rt = runtime()
    document = _document(rt, args.build)
    if document is None:
        return _not_found(args.build)
    if args.watch and not args.json and not is_terminal(document["status"]):
        from core.entry.cli.live import watch

        items = watch(lambda: [(f"Build {document['id']}", _document(rt, args.build))], interval=args.interval,
                      stop=lambda items: not items[0][1] or is_terminal(items[0][1]["status"]))
        document = items[0][1] or document
    while True:
        print(json.dumps(document, indent=2) if args.json else format_status(document), flush=True)
        if not args.watch or is_terminal(document["status"]):
            return exit_for_status(document["status"])
        time.sleep(args.interval)
        document = _document(rt, args.build) or document


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel a build that has not ended; one already writing to Azure is told what continues there."""
    try:
        cancelled = cancel_build(runtime(), args.build, args.reason)
    except BuildNotAdmitted as queued:
        print(f"build {queued.build_id} is still on the request queue: cancel it once a worker has admitted it",
              file=sys.stderr)
        return Exit.REFUSED
    except BuildNotFound:
        return _not_found(args.build)
    except BuildEnded as ended:
        print(f"nothing to cancel: build {ended.build_id} already ended {ended.status}", file=sys.stderr)
        return Exit.REFUSED
    print(f"{cancelled.build_id}: {cancelled.status}" + (f" ({cancelled.detail})" if cancelled.detail else ""))
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    """The most recently updated builds, one line each."""
    for line in recent_builds(runtime(), limit=args.limit, in_flight=args.in_flight):
        print(f"{line.build_id}  {line.status:<12} {line.updated_at}  {line.resource_id}")
    return EXIT_OK
