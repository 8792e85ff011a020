"""Cancelling a build that has not ended (Durable's terminate): `python -m core cancel`,
`POST /api/builds/{id}/terminate`."""

from __future__ import annotations

from dataclasses import dataclass

from core.app.build_lookup import BuildNotFound, admitted_build
from core.app.runtime import Runtime


@dataclass(frozen=True)
class CancelResult:
    """The build as the cancel left it: ``status`` (Cancelled) and ``detail``, the reason it records."""

    build_id: str
    status: str
    detail: str


class BuildEnded(RuntimeError):
    """Build ``build_id`` has already ended (``status``): there is nothing to cancel."""

    def __init__(self, build_id: str, status: str) -> None:
        super().__init__(f"build {build_id} already ended {status}")
        self.build_id = build_id
        self.status = status


def cancel_build(runtime: Runtime, reference: str, reason: str) -> CancelResult:
    """Cancel the build ``reference`` names, recording ``reason``; a step already writing to Azure finishes
    there. Raises BuildNotFound, BuildNotAdmitted (still on the request queue) or BuildEnded."""
    state = admitted_build(runtime, reference)
    if state.status.terminal:
        raise BuildEnded(state.record_id, str(state.status))
    cancelled = runtime.runner.cancel(state.record_id, reason)
    if cancelled is None:
        raise BuildNotFound(reference)
    return CancelResult(cancelled.record_id, str(cancelled.status), (cancelled.error or {}).get("message", ""))
