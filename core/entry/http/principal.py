"""The caller of an HTTP request, as App Service authentication (Easy Auth) describes it to the app.

With sign-in on, the platform signs the caller in with Entra ID and adds these headers (any a client sent
are removed first, which is why they are trusted only then, see ``core.app.callers``):

- `X-MS-CLIENT-PRINCIPAL`: base64 of a JSON object ``{"auth_typ": "aad", "claims": [{"typ", "val"}, ...],
  "name_typ": ..., "role_typ": ...}``; app roles are the claims whose `typ` is `roles` (as Entra ID names
  them), the `role_typ` the object declares, or the long role claim URI (Easy Auth uses either form).
- `X-MS-CLIENT-PRINCIPAL-ID` (the object ID) and `X-MS-CLIENT-PRINCIPAL-NAME` (a user principal name).

Every part is checked for shape and size; a header that is not what the platform sends is refused, never
half-read.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from core.app.callers import KEY_HOLDER, ApiSettings, Caller, SignInRequired
from core.base.actors import Actor, ActorKind

PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL"
PRINCIPAL_ID_HEADER = "X-MS-CLIENT-PRINCIPAL-ID"
PRINCIPAL_NAME_HEADER = "X-MS-CLIENT-PRINCIPAL-NAME"
MAX_PRINCIPAL_CHARS = 32 * 1024  # a token with many groups and roles stays well under this
MAX_CLAIMS = 500
ROLE_CLAIMS = frozenset({"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
OBJECT_ID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
NAME_CLAIMS = ("preferred_username", "name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
               "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
APP_ID_CLAIMS = ("appid", "azp")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _claims(document: Any) -> list[tuple[str, str]]:
    """The claims of a decoded principal, each (typ, val); SignInRequired when the shape is not Easy Auth's."""
    if not isinstance(document, dict) or not isinstance(document.get("claims"), list):
        raise SignInRequired(f"{PRINCIPAL_HEADER} is not a client principal (an object with a claims array)")
    claims = document["claims"]
    if len(claims) > MAX_CLAIMS:
        raise SignInRequired(f"{PRINCIPAL_HEADER} holds more than {MAX_CLAIMS} claims")
    pairs = []
    for claim in claims:
        if not isinstance(claim, dict) or not all(isinstance(claim.get(key), str) for key in ("typ", "val")):
            raise SignInRequired(f"{PRINCIPAL_HEADER} has a claim that is not {{typ, val}} strings")
        pairs.append((claim["typ"], claim["val"]))
    for key in ("auth_typ", "name_typ", "role_typ"):
        if key in document and document[key] is not None and not isinstance(document[key], str):
            raise SignInRequired(f"{PRINCIPAL_HEADER}: {key} is not a string")
    return pairs


def decode_principal(text: str) -> dict[str, Any]:
    """The JSON object of an `X-MS-CLIENT-PRINCIPAL` value; SignInRequired when it is not base64 JSON."""
    if len(text) > MAX_PRINCIPAL_CHARS or not text.isascii():
        raise SignInRequired(f"{PRINCIPAL_HEADER} is not a client principal (too long, or not base64)")
    try:
        padded = text.strip() + "=" * (-len(text.strip()) % 4)
        document = json.loads(base64.b64decode(padded, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise SignInRequired(f"{PRINCIPAL_HEADER} is not base64-encoded JSON") from None
    if not isinstance(document, dict):
        raise SignInRequired(f"{PRINCIPAL_HEADER} is not a client principal object")
    return document


def _first(claims: list[tuple[str, str]], types: tuple[str, ...]) -> str:
    found = {typ.lower(): val for typ, val in claims}
    return next((found[t.lower()] for t in types if found.get(t.lower())), "")


def signed_in_caller(headers: Mapping[str, str]) -> Caller:
    """The caller the platform's headers describe; SignInRequired when there is none or it is malformed."""
    text = _header(headers, PRINCIPAL_HEADER)
    if not text:
        raise SignInRequired(f"the request carries no {PRINCIPAL_HEADER}: sign in with Entra ID (a bearer token "
                             "for the API's app registration)")
    document = decode_principal(text)
    claims = _claims(document)
    role_types = ROLE_CLAIMS | {str(document.get("role_typ") or "roles")}
    roles = frozenset(val for typ, val in claims if typ in role_types)
    object_id = _header(headers, PRINCIPAL_ID_HEADER) or _first(claims, OBJECT_ID_CLAIMS)
    name = _header(headers, PRINCIPAL_NAME_HEADER) or _first(claims, NAME_CLAIMS)
    app_id = _first(claims, APP_ID_CLAIMS)
    if not object_id:
        raise SignInRequired(f"{PRINCIPAL_HEADER} names no object ID")
    # An app-only token (client credentials, a managed identity) has no user name; its application ID names it.
    kind = ActorKind.USER if name else ActorKind.APPLICATION
    return Caller(Actor(kind, object_id, name or app_id or object_id), roles)


def caller_of(api: ApiSettings, headers: Mapping[str, str]) -> Caller:
    """Who calls: the signed-in caller with sign-in on, else a function key's holder (every role; the Functions
    host checked the key, which says nothing of who holds it). Principal headers are ignored with sign-in off:
    then nothing strips them, so anyone could send them."""
    return signed_in_caller(headers) if api.sign_in else KEY_HOLDER
