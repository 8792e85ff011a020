"""``python -m core change-regions CHANGE.json [--plan]``: add or remove target regions of a published version."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.app.plan import plan_change
from core.app.request_input import read_request_file
from core.app.submit import prepare_change
from core.entry.cli.build_commands import print_submitted, submitted
from core.entry.cli.environment import settings
from core.entry.cli.outcomes import EXIT_OK, report
from core.request import RequestInvalid


def run_change_regions(args: argparse.Namespace) -> int:
    """Check the change offline; ``--plan`` reads the version (read-only) and prints the PUT it would send,
    otherwise the change goes on the request queue (its build `Queued` at once) and its build ID is printed."""
    if not args.plan:
        result = submitted(prepare_change, args.change)
        return result if isinstance(result, int) else print_submitted(result)
    try:
        planned = plan_change(read_request_file(args.change), settings())
    except RequestInvalid as invalid:
        return report(invalid.problems)
    print(json.dumps({"resourceId": planned.resource_id, "body": planned.body}, indent=2))
    return EXIT_OK


def add_parser(verbs: Any) -> None:
    verb = verbs.add_parser("change-regions", help="add or remove target regions of a published image version",
                            description="CHANGE.json: {subscriptionId, resourceGroup, galleryName, imageDefinition, "
                                        "version, addRegions, addRegionEncryption, removeRegions, "
                                        "allowDeletionOfReplicatedLocations}. Existing regions keep their encryption.")
    verb.add_argument("change", metavar="CHANGE.json", help="the change file, or - to read stdin")
    verb.add_argument("--plan", action="store_true", help="read the version (read-only) and print the PUT body")
    verb.set_defaults(handler=run_change_regions)
