"""Finding the build a person or a URL names (its build ID, or the image version's resource ID), and the
errors every operation on one build raises when it cannot be found or is not admitted yet."""

from __future__ import annotations

from core.app.runtime import Runtime
from core.audit.state import AuditState
from core.builds.state import BuildState
from core.builds.submissions import find_build_id


class BuildNotFound(LookupError):
    """No build, admitted or queued, for ``reference`` (as it was given)."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"no build {reference!r}")
        self.reference = reference


class BuildNotAdmitted(RuntimeError):
    """Build ``build_id`` is still on the request queue: no worker has admitted it, so it has no state yet."""

    def __init__(self, build_id: str) -> None:
        super().__init__(f"build {build_id} is still on the request queue")
        self.build_id = build_id


def admitted_build(runtime: Runtime, reference: str) -> BuildState:
    """The state of the build ``reference`` names; BuildNotAdmitted while it is queued, else BuildNotFound."""
    build_id = find_build_id(reference)
    loaded = runtime.store.get(build_id)
    if loaded is not None and not isinstance(loaded[0], AuditState):  # an audit is no build
        return loaded[0]
    if runtime.store.queued(build_id):
        raise BuildNotAdmitted(build_id)
    raise BuildNotFound(reference)
