"""Sign-in in the Bicep: App Service authentication (authsettingsV2) with Entra ID when an app registration is
given, every route but the anonymous ones behind it, the app told by API_AUTH; and the app roles an admin
creates (infra/auth/app-roles.json) are exactly the roles the routes check.

What cannot be tested here (no Entra ID on this machine): that Azure issues tokens with these roles and that
Easy Auth fills X-MS-CLIENT-PRINCIPAL from them. The app's side is proven from the header on
(tests/entry/live/test_roles.py, tests/entry/test_http_principal.py)."""

from __future__ import annotations

import json
import uuid

from core.app.callers import Role
from core.entry.http.routes import ROUTES
from devstack.azurite import PROJECT_ROOT
from tests.deploy import bicep

APP_ROLES = PROJECT_ROOT / "infra" / "auth" / "app-roles.json"


def auth() -> dict:
    return bicep.parse(bicep.FUNCTION_APP)["resources"]["auth"]["config"]


def test_the_app_roles_manifest_is_the_roles_the_routes_check():
    roles = json.loads(APP_ROLES.read_text(encoding="utf-8"))
    assert {role["value"] for role in roles} == {str(role) for role in Role}
    assert len({uuid.UUID(role["id"]) for role in roles}) == len(roles)
    assert all(role["isEnabled"] and set(role["allowedMemberTypes"]) == {"User", "Application"} for role in roles)


def test_sign_in_is_on_exactly_when_an_app_registration_is_given():
    resource = auth()
    assert resource["condition"] == "signIn"
    parsed = bicep.parse(bicep.FUNCTION_APP)["variables"]
    assert parsed["signIn"]["value"]["operator"]["operands"]["bool_value"]["function"] == {
        "type": "empty", "parameters": {"item_to_test": "apiClientId"}}
    settings = {entry["name"]: entry["value"] for entry in parsed["appSettings"]["value"]}
    assert settings["API_AUTH"]["operator"]["operands"] == {"condition": "signIn", "true_value": "entra",
                                                            "false_value": "keys"}
    validation = resource["config"]["properties"]["globalValidation"]
    assert validation["requireAuthentication"] is True and validation["unauthenticatedClientAction"] == "Return401"
    aad = resource["config"]["properties"]["identityProviders"]["azureActiveDirectory"]
    assert aad["enabled"] is True and aad["registration"]["clientId"] == "apiClientId"


def test_only_the_anonymous_routes_and_event_grids_webhook_are_outside_sign_in():
    open_paths = bicep.string_list(bicep.FUNCTION_APP, "openPaths")
    anonymous = {f"/api/{spec.route}" for spec in ROUTES if spec.role is None}
    assert set(open_paths) == anonymous | {"/runtime/webhooks/eventgrid"}
    assert auth()["config"]["properties"]["globalValidation"]["excludedPaths"] == "openPaths"
