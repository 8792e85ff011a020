"""The caller App Service authentication describes in X-MS-CLIENT-PRINCIPAL: roles under either claim type Easy
Auth uses, users and applications told apart, and the header trusted only with sign-in on."""

from __future__ import annotations

import base64
import json

import pytest

from core.app.callers import KEY_HOLDER, ApiSettings, AuthMode, Role, SignInRequired
from core.entry.http.principal import caller_of, signed_in_caller

ROLE_URI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def header(claims: list[dict[str, str]], **extra: str) -> dict[str, str]:
    document = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": ROLE_URI, **extra}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(document).encode()).decode()}


def test_a_user_with_roles_under_the_short_claim_type():
    caller = signed_in_caller({**header([{"typ": OID, "val": "o-1"}, {"typ": "roles", "val": "Builds.Read"},
                                         {"typ": "roles", "val": "Builds.Submit"}]),
                               "X-MS-CLIENT-PRINCIPAL-NAME": "alice@contoso.com"})
    assert caller.roles == {"Builds.Read", "Builds.Submit"}
    assert caller.actor.to_dict() == {"kind": "user", "id": "o-1", "name": "alice@contoso.com"}


def test_an_application_with_roles_under_the_role_uri():
    """A client-credentials token (a pipeline's service principal): no user name, its app ID names it."""
    caller = signed_in_caller(header([{"typ": OID, "val": "o-2"}, {"typ": "appid", "val": "app-9"},
                                      {"typ": ROLE_URI, "val": "Builds.Operate"}]))
    assert caller.roles == {"Builds.Operate"} and caller.actor.kind == "application" and caller.actor.name == "app-9"
    caller.require(Role.OPERATE)


@pytest.mark.parametrize("claims", [[{"typ": OID, "val": 5}], [{"typ": "roles"}], "all", [[1]]])
def test_a_malformed_principal_is_refused(claims: object):
    with pytest.raises(SignInRequired):
        signed_in_caller(header(claims))  # type: ignore[arg-type]


def test_the_header_is_trusted_only_with_sign_in_on():
    forged = header([{"typ": OID, "val": "o-3"}, {"typ": "roles", "val": "Builds.Operate"}])
    assert caller_of(ApiSettings(AuthMode.KEYS), forged) is KEY_HOLDER
    assert caller_of(ApiSettings(AuthMode.ENTRA), forged).actor.id == "o-3"
