"""The verbs that operate the app rather than one build: ``worker``, ``templates check``, ``audit``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from core.entry.cli.environment import known_regions, runtime
from core.entry.cli.outcomes import EXIT_INVALID, EXIT_OK, Exit

if TYPE_CHECKING:
    from core.audit.report import AuditReport

EXIT_NONCOMPLIANT = 1


def run_worker(args: argparse.Namespace) -> int:
    """Serve function_app.py's triggers against the configured storage (the Functions host's job in Azure).

    The local host lives in ``devstack/``, which a deployed package does not hold: there the verb says so.
    """
    try:
        from devstack.localworker import run_worker as serve
        from devstack.localworker import sign_in_of
    except ModuleNotFoundError as missing:
        if not (missing.name or "").startswith("devstack"):
            raise
        print("python -m core worker: the local Functions host (devstack/localworker) is not in this package; "
              "in Azure the Functions host serves the triggers, locally run it from a clone of the repository",
              file=sys.stderr)
        return EXIT_INVALID

    import os

    from core.app.runtime import check_configuration
    from core.azure.settings import SettingsError

    try:
        sign_in = sign_in_of(args)
    except ValueError as error:
        print(f"worker: {error}", file=sys.stderr)
        return EXIT_INVALID
    if sign_in is not None:  # the local host stands in for App Service authentication, and says so as it does
        os.environ["WEBSITE_AUTH_ENABLED"] = "True"
    try:
        check_configuration(os.environ)
    except SettingsError as error:
        print(f"configuration: {error}", file=sys.stderr)
        return EXIT_INVALID
    idle_check = None
    if args.until_idle:
        from core.app.listing import any_in_flight

        rt = runtime()
        idle_check = lambda: not any_in_flight(rt)  # noqa: E731 - a delayed step message is not an empty queue
    return serve(until_idle=args.until_idle, http_port=args.http_port, idle_check=idle_check, sign_in=sign_in)


def run_templates_check(args: argparse.Namespace) -> int:
    """Validate every build template (TEMPLATES_DIR, or --dir): one line per problem and exit 2, else list them."""
    import os
    from pathlib import Path

    from core.snapshots.template_loader import load_templates, templates_dir
    from core.snapshots.templates import TemplatesInvalid

    directory = Path(args.dir) if args.dir else templates_dir(os.environ)
    try:
        templates = load_templates(directory, known_regions())
    except TemplatesInvalid as invalid:
        for problem in invalid.problems:
            print(str(problem).replace("\n", " "), file=sys.stderr)
        return EXIT_INVALID
    for template in templates:
        print(f"{template.name}: ok ({template.version.kind} versions) {template.description}".rstrip())
    print(f"{len(templates)} template(s) in {directory}")
    return EXIT_OK


def run_audit(args: argparse.Namespace) -> int:
    """Audit the configured galleries now (or start an audit for the workers, print an audit's report or the
    findings ledger): a table, or --json."""
    from core.app import audits
    from core.audit.report import format_findings

    rt = runtime()
    if args.recorded:
        rows = audits.recorded(rt, include_resolved=args.all)
        print(json.dumps(rows, indent=2) if args.json else format_findings(rows))
        return EXIT_OK
    if args.report is not None:
        try:
            return _print_report(audits.report(rt, args.report), args.json)
        except audits.AuditNotFound:
            print(f"no audit {args.report!r}: give an ID that `audit --start` printed, or latest", file=sys.stderr)
            return Exit.NOT_FOUND
    try:
        config = audits.scope(rt, galleries=args.gallery or (), subscriptions=args.subscription or ())
    except audits.NothingToAudit:
        print("nothing to audit: set AUDIT_GALLERIES (gallery resource IDs) or AUDIT_SUBSCRIPTIONS, or pass "
              "--gallery / --subscription", file=sys.stderr)
        return EXIT_INVALID
    state = audits.start(rt, config, origin="cli", record_findings=not args.no_record)
    if args.start:
        print(state.audit_id)
        return EXIT_OK
    print(f"audit {state.audit_id} started; its steps run here (interrupted, the workers go on with it)",
          file=sys.stderr)
    audits.drive(rt, state.audit_id)
    return _print_report(audits.report(rt, state.audit_id), args.json)


def _print_report(report: AuditReport, as_json: bool) -> int:
    """Print an audit's report; the exit code: 0 compliant, 1 an error finding or something not read (or the
    audit failed), 4 cancelled, 6 not ended yet."""
    from core.audit.report import format_findings
    from core.audit.state import AuditStatus

    document = report.to_dict()
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        print(format_findings(document["findings"]))
        print(report.summary())
    for problem in report.unreadable:
        print(f"not audited: {problem}", file=sys.stderr)
    status = report.state.status
    if not status.terminal:
        print(f"audit {report.state.audit_id} is {status}: the report so far", file=sys.stderr)
        return Exit.IN_FLIGHT
    if status is not AuditStatus.SUCCEEDED:
        print(f"audit {report.state.audit_id} {status}: {(report.state.error or {}).get('message', '')}",
              file=sys.stderr)
        return Exit.CANCELLED if status is AuditStatus.CANCELLED else EXIT_NONCOMPLIANT
    return EXIT_NONCOMPLIANT if report.has_errors else EXIT_OK
