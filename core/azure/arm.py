"""The one module that talks to Azure Resource Manager.

Every request the SDK clients send passes ``ArmEndpointGuard``: scheme, host and port must be the
configured ``ARM_ENDPOINT`` (no userinfo) or the request is refused before the token is added, and
redirects are not followed.

It builds the credential (managed identity in Azure, the simulator's identity endpoint locally: both
through `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, no special case) and the SDK clients from `Settings`,
with a retry policy that never sleeps through a long `Retry-After` inside a call: a wait longer than
the inline cap surfaces as an error, and the orchestration reschedules the step instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.resource.features import FeatureClient
from azure.mgmt.resource.resources import ResourceManagementClient

from core.azure.ratelimit import RateLimitObserver
from core.azure.settings import Settings
from core.azure.transport import environment_options
from core.base.problems import clip

# Prefixed to the SDK's User-Agent on every ARM call: activity logs show who called, and the
# least-privilege test tells the app's calls from a test's own.
USER_AGENT = "cmk-gallery-image-builder"

# Status codes worth another try later; everything else in 4xx is the caller's mistake.
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class CappedRetryPolicy(RetryPolicy):
    """azure-core's retry policy, except that a `Retry-After` above `cap_seconds` is not waited for.

    azure-core honours `Retry-After` without a cap (ARM may say 1200 s); inside a Functions
    invocation that would hold a worker for twenty minutes. Such a response is returned as is, so the
    caller raises, and the step is rescheduled as a delayed queue message.
    """

    def __init__(self, *, cap_seconds: float, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", 2)
        kwargs.setdefault("retry_backoff_factor", 0.5)
        kwargs.setdefault("retry_backoff_max", 4)
        super().__init__(**kwargs)
        self.cap_seconds = cap_seconds

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self.cap_seconds:
            return False
        return super().is_retry(settings, response)


@dataclass(frozen=True)
class ArmFailure:
    """What went wrong with one ARM call, in the terms the orchestration decides on."""

    transient: bool
    status: int | None
    code: str
    message: str
    retry_after_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "transient": self.transient,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retryAfterSeconds": self.retry_after_seconds,
        }


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After") if headers is not None else None
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP-date; ARM sends seconds, so treat it as absent


def error_from_body(text: str) -> tuple[str, str]:
    """ARM's `{"error": {"code", "message"}}` (or a bare `{"code", "message"}`) as (code, message)."""
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        return "", text[:500]
    if not isinstance(body, dict):
        return "", text[:500]
    error = body.get("error", body)
    if not isinstance(error, dict):
        return "", text[:500]
    return str(error.get("code") or ""), str(error.get("message") or "")


def classify(exc: Exception) -> ArmFailure:
    """Sort an exception from an ARM call into transient (retry later) or permanent (fail the build)."""
    if isinstance(exc, HttpResponseError) and exc.response is not None:
        status = exc.response.status_code
        code, message = error_from_body(exc.response.text())
        return ArmFailure(
            transient=status in TRANSIENT_STATUS,
            status=status,
            code=code or (exc.error.code if exc.error and exc.error.code else f"Http{status}"),
            message=message or str(exc.message),
            retry_after_seconds=_retry_after(exc.response.headers),
        )
    if isinstance(exc, UntrustedUrl):
        return ArmFailure(transient=False, status=None, code="UntrustedUrl", message=str(exc))
    if isinstance(exc, ServiceRequestError | ServiceResponseError | ConnectionError | TimeoutError):
        return ArmFailure(transient=True, status=None, code=type(exc).__name__, message=str(exc))
    raise exc


class UntrustedUrl(ValueError):
    """A request to somewhere other than the configured ARM endpoint, refused before it was sent."""


# Before the query: only printable ASCII other than space and backslash (parsers disagree on those).
_UNSAFE_IN_URL = re.compile(r"[^\x21-\x5b\x5d-\x7e]")


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL with no userinfo and no characters parsers disagree on; None otherwise."""
    if _UNSAFE_IN_URL.search(url.split("?", 1)[0].split("#", 1)[0]):
        return None
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port if port is not None else 443


def is_arm_url(url: str, settings: Settings) -> bool:
    """True when ``url`` is https on exactly the configured ARM endpoint's host and port."""
    origin = _origin(url)
    return origin is not None and origin[0] == "https" and origin == _origin(settings.arm_endpoint)


def check_arm_url(url: str, settings: Settings) -> str:
    """Refuse a URL (a stored `Azure-AsyncOperation`, a `nextLink`, a redirect) not on the ARM endpoint.

    The SDK's bearer-token policy would send the ARM token to any https URL it is given.
    """
    if not is_arm_url(url, settings):
        parts = urlsplit(url)
        raise UntrustedUrl(f"refusing to call {clip(parts.scheme)}://{clip(parts.netloc)}: not the ARM endpoint "
                           f"{settings.arm_endpoint}; the ARM token goes nowhere else")
    return url


class ArmEndpointGuard(SansIOHTTPPolicy[HttpRequest, Any]):
    """Refuses, before the token is added, every request the SDK would send elsewhere than ARM.

    Placed after the retry policy, so every attempt passes it: pages (`nextLink`), status URLs,
    `send_request`, and whatever a later SDK version sends. Redirects are off besides (see ``Arm``).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
        check_arm_url(request.http_request.url, self.settings)


# What an ARM call can raise that is ARM's (or the network's, or the guard's) doing, for `classify`.
ARM_ERRORS = (HttpResponseError, ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError, UntrustedUrl)


def build_credential(settings: Settings) -> TokenCredential:
    """Managed identity where the platform provides it (`IDENTITY_ENDPOINT`), else the usual chain."""
    from azure.identity import DefaultAzureCredential

    # DefaultAzureCredential reads AZURE_CLIENT_ID for a user-assigned identity itself; the authority
    # matters to the non-managed-identity credentials (a developer's az login on Azure China).
    return DefaultAzureCredential(exclude_interactive_browser_credential=True, authority=settings.cloud.authority)


class Arm:
    """ARM clients for one subscription, sharing one credential and one transport configuration.

    Each client is built on first use and kept (``cached_property``); ``for_subscription`` hands out the
    same credential's clients for another subscription, each subscription's built once, so an ``Arm`` that
    lives for the process (``core.azure.arm_pool``) builds every client once per process.
    """

    def __init__(self, settings: Settings, subscription_id: str, credential: TokenCredential | None = None) -> None:
        self.settings = settings
        self.subscription_id = subscription_id
        self.credential = credential or build_credential(settings)
        self._siblings: dict[str, Arm] = {subscription_id.lower(): self}

    def for_subscription(self, subscription_id: str) -> Arm:
        """The same credential and settings scoped to ``subscription_id`` (SDK clients are per subscription)."""
        key = subscription_id.lower()
        sibling = self._siblings.get(key)
        if sibling is None:
            sibling = Arm(self.settings, subscription_id, self.credential)
            sibling._siblings = self._siblings  # one table for the family: each subscription built once
            sibling = self._siblings.setdefault(key, sibling)
        return sibling

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            **environment_options(),
            "base_url": self.settings.arm_endpoint,
            "credential_scopes": [self.settings.arm_scope],
            "retry_policy": CappedRetryPolicy(cap_seconds=self.settings.retry_after_inline_cap_seconds),
            "read_timeout": self.settings.arm_read_timeout_seconds,  # a slow answer must not hold a function
            # ARM does not redirect management calls; a 3xx is answered as an error, never followed.
            "permit_redirects": False,
            # The guard checks every attempt; the observer counts every attempt and what ARM says is left.
            "per_retry_policies": [ArmEndpointGuard(self.settings), RateLimitObserver()],
            "user_agent": USER_AGENT,
        }
        if self.settings.arm_ca_bundle:
            kwargs["connection_verify"] = self.settings.arm_ca_bundle
        return kwargs

    @cached_property
    def compute(self) -> ComputeManagementClient:
        return ComputeManagementClient(self.credential, self.subscription_id, **self._client_kwargs())

    @cached_property
    def resources(self) -> ResourceManagementClient:
        return ResourceManagementClient(self.credential, self.subscription_id, **self._client_kwargs())

    @cached_property
    def features(self) -> FeatureClient:
        return FeatureClient(self.credential, self.subscription_id, **self._client_kwargs())

    @cached_property
    def keyvault(self) -> KeyVaultManagementClient:
        """Key Vault's management plane (vaults, keys and key versions as ARM resources): no data-plane call."""
        return KeyVaultManagementClient(self.credential, self.subscription_id, **self._client_kwargs())

    @cached_property
    def authorization(self) -> AuthorizationManagementClient:
        """Role assignments and role definitions (reads only)."""
        return AuthorizationManagementClient(self.credential, self.subscription_id, **self._client_kwargs())

    def get_url(self, url: str) -> HttpResponse:
        """One authenticated GET of a stored ARM URL (an async-operation status), after checking its host."""
        response = self.compute.send_request(HttpRequest("GET", check_arm_url(url, self.settings)))
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        return response
