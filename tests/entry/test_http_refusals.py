"""The HTTP door renders each refusal of the application layer as its problem response (RFC 9457), the
same for every route; no storage is touched (the route raises before it would)."""

from __future__ import annotations

from typing import Any

import pytest

from core.app.build_lookup import BuildNotAdmitted, BuildNotFound
from core.app.cancel import BuildEnded
from core.app.retry import NotRetryable
from core.app.runtime import Runtime
from core.app.submit import BuildConflict
from core.entry.http import routes
from core.entry.http.messages import PROBLEM_JSON, ApiRequest, ApiResponse

BASE = "https://img.example.net/api/builds"


def answered(refusal: Exception) -> ApiResponse:
    @routes._answered
    def route(runtime: Runtime, request: ApiRequest) -> ApiResponse:
        raise refusal

    return route(None, ApiRequest("POST", f"{BASE}/abc/terminate?code=k", params={"code": "k"}))  # type: ignore[arg-type]


@pytest.mark.parametrize(("refusal", "status", "kind", "extra"), [
    (BuildNotFound("abc"), 404, "build-not-found", {}),
    (BuildNotAdmitted("abc"), 409, "build-not-admitted", {}),
    (BuildEnded("abc", "Succeeded"), 410, "build-ended", {"buildStatus": "Succeeded"}),
    (NotRetryable("abc", "Rejected", "fix the request and submit it again"), 409, "build-not-failed", {}),
    (BuildConflict("abc", "/subscriptions/x", "being built"), 409, "build-conflict",
     {"id": "abc", "statusQueryGetUri": f"{BASE}/abc?code=k"}),
])
def test_each_refusal_is_its_problem(refusal: Exception, status: int, kind: str, extra: dict[str, Any]):
    response = answered(refusal)
    assert response.status == status and response.mimetype == PROBLEM_JSON
    document = response.json()
    assert document["type"].endswith(kind) and document["status"] == status
    assert document["instance"] == "/api/builds/abc/terminate" and document["detail"]
    assert extra.items() <= document.items()


def test_a_bug_is_not_a_refusal():
    with pytest.raises(KeyError):
        answered(KeyError("bug"))
