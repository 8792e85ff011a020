"""The verification VM: after the version succeeds, boot a VM from it in each chosen region with the
region's DES on every disk, prove what the VM got (``vm_proof``), and delete the VM, its disks and its NIC
whatever happened. A failed verification never loses the image: the build still ends ``Succeeded``.

Each region moves through phases, one short burst of ARM calls per step (never a wait):
``create`` (GET the image definition and version, plan the VM (``vm_plan``); GET the VM; PUT NIC, PUT VM)
-> ``provisioning`` (GET VM until Succeeded/Failed; then GET each disk and prove) -> ``cleanup`` (DELETE
VM; once it is gone, DELETE its disks and NIC) -> ``done``. ``verify`` (I/O) runs one burst.

A Windows VM (or a Linux VM without an SSH key) gets a password made for it just before its PUT
(``admin_password``); it lives in that PUT's body only. ``create`` reads the VM before it PUTs: after a
lost answer (a reset, a worker killed mid-call) the VM this build made is found and not PUT again, so its
password never changes. A transient error keeps the region's phase for the next step; a permanent one
fails the region's verification and goes to cleanup.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.compute.operations._operations import build_virtual_machines_create_or_update_request

from core.azure.arm import classify
from core.builds import admin_password, vm_plan, vm_proof
from core.builds.events import Event, VerificationProgressed
from core.builds.state import BuildState
from core.request import BuildRequest, RegionTarget, VerificationRegion, parse_request

NETWORK_API_VERSION = "2024-05-01"
DISK_API_VERSION = "2024-03-02"
_ARM_ERRORS = (HttpResponseError, ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)
GONE = (200, 202, 204, 404)


class StepFailed(Exception):
    """An ARM call of a phase failed; ``message`` holds no password, ``transient`` says whether to retry."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


def wanted(request: BuildRequest) -> bool:
    return request.verification is not None and bool(request.verification.regions)


def initial(request: BuildRequest, build_id: str) -> dict[str, dict[str, Any]]:
    """Every chosen region at phase ``create``, with the name of the VM it will make."""
    assert request.verification is not None
    return {region.name: {"phase": "create", "vm": vm_plan.vm_name(build_id, region.name), "result": None,
                          "reason": ""} for region in request.verification.regions}


def _send(ctx: Any, method: str, path: str, body: dict[str, Any] | None = None,
          api_version: str = NETWORK_API_VERSION) -> Any:
    request = HttpRequest(method, f"{path}?api-version={api_version}", json=body)
    return ctx.arm.compute.send_request(request, retry_total=0)


def _failed(exc: Exception, password: str | None = None) -> StepFailed:
    failure = classify(exc)
    message = admin_password.scrub(f"{failure.code}: {failure.message}" if failure.code else failure.message,
                                   password)
    return StepFailed(message[:500], transient=failure.transient)


class _Image:
    """The image definition and version, read once per burst by the first region that plans a VM."""

    def __init__(self, ctx: Any, request: BuildRequest) -> None:
        self.ctx, self.request, self.facts = ctx, request, None

    def get(self) -> vm_plan.ImageFacts:
        if self.facts is None:
            compute, r = self.ctx.arm.compute, self.request
            definition = compute.gallery_images.get(r.resource_group, r.gallery_name, r.image_definition).as_dict()
            version = compute.gallery_image_versions.get(r.resource_group, r.gallery_name, r.image_definition,
                                                         r.version).as_dict()
            self.facts = vm_plan.ImageFacts.from_arm(definition, version)
        return self.facts


def _read_vm(ctx: Any, request: BuildRequest, name: str) -> dict[str, Any] | None:
    try:
        return ctx.arm.compute.virtual_machines.get(request.resource_group, name).as_dict()
    except ResourceNotFoundError:
        return None


def _plan(ctx: Any, request: BuildRequest, target: RegionTarget, where: VerificationRegion, info: dict[str, Any],
          image: _Image, build_id: str) -> vm_plan.VmPlan | str:
    """The region's plan: as stored with it, or made now (from the image) and stored."""
    if "os" in info:
        return vm_plan.from_info(request, target, where, build_id, info)
    planned = vm_plan.plan_vm(request, target, where, image.get(), ctx.settings.verification_vm_sizes, build_id)
    if not isinstance(planned, str):
        info.update(planned.to_info())
    return planned


def _create(ctx: Any, request: BuildRequest, target: RegionTarget, where: VerificationRegion, info: dict[str, Any],
            image: _Image, build_id: str) -> None:
    planned = _plan(ctx, request, target, where, info, image, build_id)
    if isinstance(planned, str):
        info.update(phase="done", result="failed", reason=planned,
                    checks=[{"check": "plan", "passed": False, "detail": planned}])
        return
    existing = _read_vm(ctx, request, planned.vm_name)
    if existing is not None:
        if ((existing.get("tags") or {}).get(vm_plan.VM_BUILD_TAG) or "") != build_id:
            info.update(phase="done", result="failed", reason=f"a VM named {planned.vm_name} exists and was not made "
                                                              "by this build: left alone, nothing verified")
            return
        info["phase"] = "provisioning"  # an earlier try's PUT went through: never PUT (a new password) again
        return
    answer = _send(ctx, "PUT", planned.nic_id, vm_plan.nic_body(planned))
    if answer.status_code not in (200, 201):
        raise HttpResponseError(response=answer)
    password = admin_password.new_password() if planned.needs_password else None
    try:
        http_request = build_virtual_machines_create_or_update_request(
            resource_group_name=request.resource_group, vm_name=planned.vm_name,
            subscription_id=request.subscription_id, content_type="application/json",
            content=json.dumps(vm_plan.vm_body(planned, password)))
        answer = ctx.arm.compute.send_request(http_request, retry_total=0)
        if answer.status_code not in (200, 201):
            raise HttpResponseError(response=answer)
    except _ARM_ERRORS as exc:
        raise _failed(exc, password) from None
    finally:
        password = None
    info["phase"] = "provisioning"


def _check(ctx: Any, request: BuildRequest, target: RegionTarget, where: VerificationRegion, info: dict[str, Any],
           image: _Image, build_id: str) -> None:
    planned = _plan(ctx, request, target, where, info, image, build_id)
    if isinstance(planned, str):  # a VM created before plans were stored, that no plan fits now
        info.update(phase="cleanup", result="failed", reason=planned)
        return
    compute = ctx.arm.compute
    vm = compute.virtual_machines.get(request.resource_group, planned.vm_name).as_dict()
    state, detail = vm_proof.provisioning(vm)
    if state == "Failed":
        info.update(phase="cleanup", result="failed", reason=f"the VM failed to provision: {detail}",
                    checks=[{"check": "provisioned", "passed": False, "detail": detail}])
        return
    if state != "Succeeded":
        return
    disks: dict[str, dict[str, Any] | None] = {}
    for label in planned.expected():
        try:
            disks[label] = compute.disks.get(request.resource_group, planned.disk_name(label)).as_dict()
        except ResourceNotFoundError:
            disks[label] = None
    checks = vm_proof.prove(planned, vm, disks)
    result, reason = vm_proof.verdict(checks)
    info["disks"] = {label: ((d or {}).get("properties") or {}).get("encryption", {}).get("diskEncryptionSetId")
                     for label, d in disks.items()}
    info.update(phase="cleanup", result=result, reason=reason, checks=checks)


def _disk_names(request: BuildRequest, target: RegionTarget, info: dict[str, Any]) -> list[str]:
    luns = info.get("luns")
    if luns is None:  # never planned: the LUNs the request encrypts
        luns = [d.lun for d in target.data_disk_encryption]
    return [f"{info['vm']}-os", *(f"{info['vm']}-lun{lun}" for lun in luns)]


def _cleanup(ctx: Any, request: BuildRequest, target: RegionTarget, info: dict[str, Any]) -> None:
    group = f"/subscriptions/{request.subscription_id}/resourceGroups/{request.resource_group}/providers"
    if _read_vm(ctx, request, info["vm"]) is not None:
        answer = _send(ctx, "DELETE", f"{group}/Microsoft.Compute/virtualMachines/{info['vm']}")
        if answer.status_code not in GONE:
            raise HttpResponseError(response=answer)
        return
    for disk in _disk_names(request, target, info):
        answer = _send(ctx, "DELETE", f"{group}/Microsoft.Compute/disks/{disk}", api_version=DISK_API_VERSION)
        if answer.status_code not in GONE:
            raise HttpResponseError(response=answer)
    answer = _send(ctx, "DELETE", vm_plan.nic_id(request, info["vm"]))
    if answer.status_code not in GONE:
        raise HttpResponseError(response=answer)
    info["phase"] = "done"


def verify(state: BuildState, ctx: Any) -> Event:
    """One burst for every region not done. A permanent error while creating or checking fails that region's
    verification (then cleans up); a transient one, or any error while cleaning up, is tried again at the
    next step (``settings.transient_retry_limit`` times for the first two)."""
    request = parse_request(state.request, known_regions=ctx.settings.known_regions)
    assert request.verification is not None
    regions = copy.deepcopy(state.verification) or initial(request, state.build_id)
    targets = {t.name: t for t in request.target_regions}
    chosen = {r.name: r for r in request.verification.regions}
    image = _Image(ctx, request)
    for name, info in regions.items():
        target, where = targets[name], chosen[name]
        phase = info["phase"]
        try:
            try:
                if phase == "create":
                    _create(ctx, request, target, where, info, image, state.build_id)
                elif phase == "provisioning":
                    _check(ctx, request, target, where, info, image, state.build_id)
                elif phase == "cleanup":
                    _cleanup(ctx, request, target, info)
            except _ARM_ERRORS as exc:
                raise _failed(exc) from None
        except StepFailed as failure:
            if phase == "cleanup":
                info["cleanupError"] = failure.message
            elif failure.transient and info.get("retries", 0) < ctx.settings.transient_retry_limit:
                info["retries"] = info.get("retries", 0) + 1
                info["lastError"] = failure.message
            else:
                info.update(phase="cleanup", result="failed", reason=f"{phase}: {failure.message}",
                            checks=[{"check": phase, "passed": False, "detail": failure.message}])
    return VerificationProgressed(regions)
