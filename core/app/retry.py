"""Retrying a Failed build with the request it was given (Durable's rewind): `POST /api/builds/{id}/retry`."""

from __future__ import annotations

from dataclasses import dataclass

from core.app.build_lookup import admitted_build
from core.app.runtime import Runtime
from core.builds.admission import Outcome, Submission
from core.builds.state import BuildStatus
from core.builds.submissions import change_submission
from core.request import change

_FIX = {BuildStatus.REJECTED: "fix the request and submit it again", BuildStatus.CANCELLED: "submit the request again"}


@dataclass(frozen=True)
class RetryResult:
    """The new attempt: admitted at once (``status`` Accepted), ``outcome`` and ``detail`` as admission said."""

    build_id: str
    resource_id: str
    status: str
    outcome: Outcome
    detail: str


class NotRetryable(RuntimeError):
    """Build ``build_id`` is ``status``, not Failed: ``fix`` says what to do instead."""

    def __init__(self, build_id: str, status: str, fix: str) -> None:
        super().__init__(f"build {build_id} is {status}: {fix}")
        self.build_id = build_id
        self.status = status
        self.fix = fix


def retry_build(runtime: Runtime, reference: str) -> RetryResult:
    """Start a new attempt of the Failed build ``reference`` names, with its own request.

    Raises BuildNotFound, BuildNotAdmitted (still on the request queue) or NotRetryable."""
    state = admitted_build(runtime, reference)
    if state.status is not BuildStatus.FAILED or state.request is None:
        raise NotRetryable(state.build_id, str(state.status), _FIX.get(state.status, "only a Failed build is retried"))
    submission = Submission(state.resource_id, state.request, (), None, "retry")
    if change.is_change(state.request):  # a change of regions is keyed by its content, not the version alone
        submission = change_submission(state.request, state.resource_id, origin="retry",
                                       known_regions=runtime.settings.known_regions)
    admission = runtime.builds.submit(submission)
    return RetryResult(state.build_id, state.resource_id, str(BuildStatus.ACCEPTED), admission.outcome,
                       admission.reason)
