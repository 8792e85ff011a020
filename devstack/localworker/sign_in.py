"""The local host standing in for App Service authentication (Easy Auth), which cannot run here.

In Azure the platform signs each caller in with Entra ID, removes any `X-MS-CLIENT-PRINCIPAL*` header the
client sent, adds its own, and sets `WEBSITE_AUTH_ENABLED=True` for the app. Locally:

- without a stand-in, the local host removes those headers from every request (nothing signed anyone in);
- ``--sign-in`` passes the headers a client sends (a test fixture plays the signed-in caller) and sets
  `WEBSITE_AUTH_ENABLED=True`, as the platform would;
- ``--sign-in-as NAME=ROLE,ROLE`` adds that caller to every request that carries none (a person trying the
  API with curl).

Never deployed: the package holds no devstack/.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PRINCIPAL_HEADERS = ("x-ms-client-principal", "x-ms-client-principal-id", "x-ms-client-principal-name",
                     "x-ms-client-principal-idp")
ROLE_CLAIM = "roles"


def principal_headers(name: str, roles: Iterable[str], *, object_id: str | None = None) -> dict[str, str]:
    """The headers App Service authentication adds for a user ``name`` holding app ``roles`` (the claims are
    Entra ID's as Easy Auth maps them); the object ID is derived from the name unless given."""
    oid = object_id or str(hashlib.sha256(name.encode()).hexdigest()[:32])
    claims = [{"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": oid},
              {"typ": "preferred_username", "val": name}, *({"typ": ROLE_CLAIM, "val": r} for r in roles)]
    document = {"auth_typ": "aad", "claims": claims,
                "name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(document).encode()).decode(),
            "X-MS-CLIENT-PRINCIPAL-ID": oid, "X-MS-CLIENT-PRINCIPAL-NAME": name,
            "X-MS-CLIENT-PRINCIPAL-IDP": "aad"}


@dataclass(frozen=True)
class SignInStandIn:
    """Sign-in as the local host plays it: pass the clients' principal headers, or add ``caller``'s."""

    caller: Mapping[str, str] | None = None

    @classmethod
    def signed_in_as(cls, text: str) -> SignInStandIn:
        """``NAME=ROLE,ROLE`` (e.g. ``alice@contoso.com=Builds.Read,Builds.Submit``); ValueError otherwise."""
        name, equals, roles = text.partition("=")
        if not name.strip() or not equals:
            raise ValueError(f"--sign-in-as {text!r}: give NAME=ROLE[,ROLE...], e.g. alice=Builds.Read")
        return cls(principal_headers(name.strip(), [r.strip() for r in roles.split(",") if r.strip()]))


def request_headers(incoming: Mapping[str, str], stand_in: SignInStandIn | None) -> dict[str, str]:
    """The headers the app sees: principal headers removed without a stand-in, kept (or added) with one."""
    headers = {key: value for key, value in incoming.items()
               if stand_in is not None or key.lower() not in PRINCIPAL_HEADERS}
    if stand_in is not None and stand_in.caller and not any(k.lower() == PRINCIPAL_HEADERS[0] for k in headers):
        headers.update(stand_in.caller)
    return headers
