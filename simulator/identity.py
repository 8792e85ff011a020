"""The managed-identity side: tokens this simulator issues, and the checks ARM makes on them.

The token endpoint speaks App Service's protocol (what ``azure-identity``/MSAL use when
``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set): ``GET <endpoint>?api-version=2019-08-01&
resource=<resource>[&client_id=<id>]`` with header ``X-IDENTITY-HEADER: <secret>``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import errors
from .clouds import ARM_AUDIENCES

TOKEN_LIFETIME_SECONDS = 24 * 3600
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SYSTEM_CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@dataclass(frozen=True)
class IssuedToken:
    audience: str
    client_id: str
    expires_on: int

    @property
    def object_id(self) -> str:
        """The ``oid`` claim of the caller's tokens (as ``issue`` derives it)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, self.client_id))


class IdentityError(Exception):
    """A token request the endpoint refuses: ``status`` and App Service's ``{"statusCode", "message"}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"statusCode": self.status, "message": self.message}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%m/%d/%Y %H:%M:%S")


class TokenIssuer:
    """Issues JWT-shaped bearer tokens and remembers them; ARM accepts only tokens issued here."""

    def __init__(self, secret_header: str | None = None, clock: Any = time.time, cloud: str = "AzureCloud") -> None:
        self.identity_header = secret_header or secrets.token_urlsafe(24)
        self.audiences = ARM_AUDIENCES[cloud]  # what ARM accepts in this world's cloud
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}

    def token_response(self, query: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        """Answer a token request, or raise :class:`IdentityError` as App Service would."""
        if headers.get("x-identity-header") != self.identity_header:
            raise IdentityError(401, "X-IDENTITY-HEADER is missing or does not match IDENTITY_HEADER.")
        if query.get("api-version") != "2019-08-01":
            raise IdentityError(400, "api-version must be 2019-08-01 (the App Service managed identity protocol).")
        resource = query.get("resource")
        if not resource:
            raise IdentityError(400, "The 'resource' query parameter is required, e.g. https://management.azure.com")
        client_id = query.get("client_id") or SYSTEM_CLIENT_ID
        return self.issue(resource, client_id)

    def issue(self, resource: str, client_id: str = SYSTEM_CLIENT_ID) -> dict[str, Any]:
        now = int(self._clock())
        expires_on = now + TOKEN_LIFETIME_SECONDS
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{TENANT_ID}/",
            "iat": now,
            "nbf": now,
            "exp": expires_on,
            "appid": client_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "tid": TENANT_ID,
            "idtyp": "app",
            "jti": uuid.uuid4().hex,
        }
        token = f"{_b64({'typ': 'JWT', 'alg': 'RS256', 'kid': 'simulator'})}.{_b64(claims)}.{secrets.token_urlsafe(32)}"
        with self._lock:
            self._tokens[token] = IssuedToken(resource, client_id, expires_on)
        return {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }

    def expire_all(self) -> None:
        """Make every issued token expired (to exercise ``ExpiredAuthenticationToken``)."""
        with self._lock:
            past = int(self._clock()) - 1
            self._tokens = {t: IssuedToken(i.audience, i.client_id, past) for t, i in self._tokens.items()}

    def authenticate(self, authorization: str | None) -> IssuedToken:
        """Check an ``Authorization`` header as ARM does; raise the ARM 401 :class:`errors.ArmError`."""
        if not authorization:
            raise errors.authentication_missing()
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.authentication_invalid_header()
        with self._lock:
            issued = self._tokens.get(token.strip())
        if issued is None:
            raise errors.invalid_token()
        now = self._clock()
        if issued.expires_on <= now:
            raise errors.expired_token(_utc(issued.expires_on), _utc(now))
        if issued.audience not in self.audiences:
            raise errors.wrong_audience(issued.audience, self.audiences)
        return issued
