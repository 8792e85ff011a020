"""``python -m core change-regions CHANGE.json [--plan]``: add or remove target regions of a published version."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.app.request_input import InputInvalid, read_request_file
from core.entry.cli.environment import known_regions, runtime
from core.entry.cli.outcomes import EXIT_INVALID, EXIT_OK, report


def run_change_regions(args: argparse.Namespace) -> int:
    """Check the change offline; ``--plan`` reads the version (read-only) and prints the PUT it would send,
    otherwise the change goes on the request queue and its build ID is printed."""
    from core.builds.submissions import change_submission
    from core.request import RequestInvalid, change

    try:
        raw = read_request_file(args.change)
        parsed = change.parse_change({"operation": change.OPERATION, **raw} if isinstance(raw, dict) else raw,
                                     known_regions=known_regions())
    except (InputInvalid, RequestInvalid) as invalid:
        return report(invalid.problems)
    canonical = change.change_to_dict(parsed)
    build_id = change_submission(canonical, parsed.resource_id).build_id
    if args.plan:
        return _plan(parsed, build_id)
    from core.azure.storage import send_message

    rt = runtime()
    send_message(rt.queues.get_queue_client(rt.settings.request_queue), json.dumps(canonical))
    print(build_id)
    return EXIT_OK


def _plan(parsed: Any, build_id: str) -> int:
    from azure.core.exceptions import ResourceNotFoundError

    from core.azure.arm import Arm
    from core.azure.settings import Settings, SettingsError
    from core.request import Problem, change

    try:
        arm = Arm(Settings.from_env(), parsed.subscription_id)
    except SettingsError as error:
        print(f"configuration: {error}", file=sys.stderr)
        return EXIT_INVALID
    try:
        version = arm.compute.gallery_image_versions.get(parsed.resource_group, parsed.gallery_name,
                                                         parsed.image_definition, parsed.version).as_dict()
    except ResourceNotFoundError:
        return report([Problem("version", f"image version {parsed.resource_id} does not exist")])
    body, problems = change.plan_change(parsed, version, change_id=build_id)
    if problems:
        return report(problems)
    print(json.dumps({"resourceId": parsed.resource_id, "body": body}, indent=2))
    return EXIT_OK


def add_parser(verbs: Any) -> None:
    verb = verbs.add_parser("change-regions", help="add or remove target regions of a published image version",
                            description="CHANGE.json: {subscriptionId, resourceGroup, galleryName, imageDefinition, "
                                        "version, addRegions, addRegionEncryption, removeRegions, "
                                        "allowDeletionOfReplicatedLocations}. Existing regions keep their encryption.")
    verb.add_argument("change", metavar="CHANGE.json", help="the change file, or - to read stdin")
    verb.add_argument("--plan", action="store_true", help="read the version (read-only) and print the PUT body")
    verb.set_defaults(handler=run_change_regions)
