"""ARM error answers: ``{"error": {"code", "message", "target"?, "details"?}}`` with a status code.

Handlers raise :class:`ArmError`; the server turns it into the HTTP answer. The helpers below hold
the texts ARM and the Compute resource provider use for the common cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESOURCE_NOT_FOUND_HELP = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"
WWW_AUTHENTICATE = 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", '


@dataclass
class ArmError(Exception):
    """An error answer, as ARM would send it."""

    status: int
    code: str
    message: str
    target: str | None = None
    details: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def invalid_parameter(message: str, target: str | None = None) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target)


def resource_group_not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def subscription_not_found(subscription_id: str) -> ArmError:
    return ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found.")


def resource_not_found(type_path: str, resource_group: str) -> ArmError:
    """``type_path`` like ``Microsoft.Compute/galleries/MyGallery/images/MyImage``."""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{type_path}' under resource group '{resource_group}' was not found. " + RESOURCE_NOT_FOUND_HELP,
    )


def parent_resource_not_found(parent_names: str) -> ArmError:
    """``parent_names`` like ``MyGallery/MyImage`` (the text the gallery troubleshooting guide shows)."""
    return ArmError(
        404,
        "ParentResourceNotFound",
        f"Can not perform requested operation on nested resource. Parent resource '{parent_names}' not found.",
    )


def invalid_resource_type(resource_type: str, namespace: str, api_version: str) -> ArmError:
    return ArmError(
        404,
        "InvalidResourceType",
        f"The resource type '{resource_type}' could not be found in the namespace '{namespace}' "
        f"for api version '{api_version}'.",
    )


def invalid_resource_namespace(namespace: str) -> ArmError:
    return ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")


def missing_api_version() -> ArmError:
    return ArmError(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )


def method_not_allowed(method: str) -> ArmError:
    return ArmError(
        405,
        "MethodNotAllowed",
        f"The requested resource does not support http method '{method}'. "
        "(The simulator serves reads for this resource type; only gallery image versions accept writes.)",
    )


def missing_subscription_registration(namespace: str) -> ArmError:
    return ArmError(
        409,
        "MissingSubscriptionRegistration",
        f"The subscription is not registered to use namespace '{namespace}'. "
        "See https://aka.ms/rps-not-found for how to register subscriptions.",
        details=[
            {
                "code": "MissingSubscriptionRegistration",
                "target": namespace,
                "message": f"The subscription is not registered to use namespace '{namespace}'. "
                "See https://aka.ms/rps-not-found for how to register subscriptions.",
            }
        ],
    )


def authentication_missing() -> ArmError:
    return ArmError(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
        headers={
            "WWW-Authenticate": WWW_AUTHENTICATE
            + "error_description=\"The authentication failed because of missing 'Authorization' header.\""
        },
    )


def authentication_invalid_header() -> ArmError:
    return ArmError(
        401,
        "AuthenticationFailedInvalidHeader",
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        headers={
            "WWW-Authenticate": WWW_AUTHENTICATE
            + "error_description=\"The authentication failed because of invalid 'Authorization' header.\""
        },
    )


def invalid_token() -> ArmError:
    return ArmError(
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid.",
        headers={"WWW-Authenticate": WWW_AUTHENTICATE + 'error_description="The access token is invalid."'},
    )


def expired_token(expired_at: str, now: str) -> ArmError:
    message = f"The access token expiry UTC time '{expired_at}' is earlier than current UTC time '{now}'."
    return ArmError(
        401,
        "ExpiredAuthenticationToken",
        message,
        headers={"WWW-Authenticate": WWW_AUTHENTICATE + f'error_description="{message}"'},
    )


def wrong_audience(audience: str, allowed: tuple[str, ...]) -> ArmError:
    listed = ",".join(f"'{a}'" for a in allowed)
    message = (
        f"The access token has been obtained for wrong audience or resource '{audience}'. It should exactly "
        f"match with one of the allowed audiences {listed}."
    )
    return ArmError(
        401,
        "InvalidAuthenticationTokenAudience",
        message,
        headers={"WWW-Authenticate": WWW_AUTHENTICATE + 'error_description="The access token is invalid."'},
    )


@dataclass
class Forbidden(Exception):
    """The caller lacks ``action`` at ``scope``; the service answers ``authorization_failed`` for its caller."""

    action: str
    scope: str


def authorization_failed(client_id: str, object_id: str, action: str, scope: str) -> ArmError:
    """ARM's 403 for a principal without the RBAC action at the scope."""
    return ArmError(
        403,
        "AuthorizationFailed",
        f"The client '{client_id}' with object id '{object_id}' does not have authorization to perform action "
        f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh "
        "your credentials.",
    )
