"""Planning, without writing anything: the ARM PUT a build request would send (offline), the pre-flight
policy findings over what ARM holds (reads only), and the PUT a change of regions would send.

Behind `python -m core plan [--check]` and `python -m core change-regions --plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from core.app.submit import read_change
from core.azure.arm import Arm
from core.azure.settings import Settings, SettingsError
from core.policy.check import LiveCheck, check_live_report
from core.policy.enforcement import PolicyConfigError
from core.request import BuildRequest, Problem, RequestInvalid, change, parse_request
from core.request.encryption import to_body


@dataclass(frozen=True)
class BuildPlan:
    """A valid build request and the image version's PUT: ``resource_id`` and ``body`` (camelCase, as sent)."""

    request: BuildRequest
    resource_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class ChangePlan:
    """The PUT a change of regions sends to the version ``resource_id``, and the change's ``build_id``."""

    resource_id: str
    build_id: str
    body: dict[str, Any]


def plan_build(raw: object, *, known_regions: frozenset[str]) -> BuildPlan:
    """The plan of a build request (decoded JSON), offline; RequestInvalid listing every problem."""
    request = parse_request(raw, known_regions=known_regions)
    return BuildPlan(request, request.resource_id, to_body(request))


def check_build(request: BuildRequest, settings: Settings) -> LiveCheck:
    """The pre-flight rules over facts read from ARM (reads only), with the configured policy, and each disk
    encryption set's key-chain verdict.

    Raises SettingsError for a policy setting that cannot be used."""
    try:
        return check_live_report(request, Arm(settings, request.subscription_id))
    except PolicyConfigError as error:
        raise SettingsError(str(error)) from None


def plan_change(raw: object, settings: Settings) -> ChangePlan:
    """Read the version (read-only) and plan the change of regions (decoded JSON) against it.

    Raises RequestInvalid listing every problem: of the change itself, a version that does not exist, or a
    change that the version forbids."""
    parsed, submission = read_change(raw, known_regions=settings.known_regions, origin="plan")
    arm = Arm(settings, parsed.subscription_id)
    try:
        version = arm.compute.gallery_image_versions.get(parsed.resource_group, parsed.gallery_name,
                                                         parsed.image_definition, parsed.version).as_dict()
    except ResourceNotFoundError:
        raise RequestInvalid([Problem("version", f"image version {parsed.resource_id} does not exist")]) from None
    body, problems = change.plan_change(parsed, version, change_id=submission.build_id)
    if problems:
        raise RequestInvalid(problems)
    return ChangePlan(parsed.resource_id, submission.build_id, body)
