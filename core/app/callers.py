"""Who may call the HTTP API, and how the app knows: the app roles of its Entra ID app registration, the
caller a door identified, and the sign-in settings (`API_AUTH`, the public base URL of its links).

Two ways in, chosen by `API_AUTH`:

- ``entra``: App Service authentication (Easy Auth) signs every caller in with Entra ID before the request
  reaches the app, and tells the app who it is in the `X-MS-CLIENT-PRINCIPAL` header. The app trusts that
  header only because the platform strips it from every incoming request when authentication is on
  (`WEBSITE_AUTH_ENABLED=True`, set by the platform, is required; without it `API_AUTH=entra` is a
  configuration error). Each route needs one app role; function keys are off (the routes are anonymous
  to the Functions host, Easy Auth in front of them).
- ``keys`` (the fallback): function keys, as before; a key does not say who holds it, so its holder has every
  role and is recorded as a function-key holder.

Pure: no storage, no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from core.azure.settings import SettingsError
from core.base.actors import Actor, ActorKind

AUTH_SETTING = "API_AUTH"
BASE_URL_SETTING = "API_BASE_URL"
_TRUE = ("true", "1")
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


class Role(StrEnum):
    """The app roles of the API's app registration (their `value`s in the manifest)."""

    READ = "Builds.Read"  # list builds, read a build's status
    SUBMIT = "Builds.Submit"  # submit a build
    OPERATE = "Builds.Operate"  # cancel, retry, change the regions of a published version


ALL_ROLES = frozenset(Role)


class AuthMode(StrEnum):
    ENTRA = "entra"
    KEYS = "keys"


@dataclass(frozen=True)
class Caller:
    """An identified caller of the API: who (``actor``) and the app roles they hold."""

    actor: Actor
    roles: frozenset[str]

    def require(self, role: Role) -> None:
        """Forbidden unless the caller holds ``role``."""
        if role not in self.roles:
            raise Forbidden(role, self)


class Forbidden(PermissionError):
    """``caller`` lacks app role ``role`` for what they asked."""

    def __init__(self, role: Role, caller: Caller) -> None:
        super().__init__(f"{caller.actor} lacks the app role {role}")
        self.role = role
        self.caller = caller


class SignInRequired(PermissionError):
    """Sign-in is on and the request carries no usable caller: ``reason`` says what is missing or wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


KEY_HOLDER = Caller(Actor(ActorKind.FUNCTION_KEY, "", "function key holder"), ALL_ROLES)


@dataclass(frozen=True)
class ApiSettings:
    """How the API knows its callers (``mode``) and the origin its links use (``base_url``; '' for links
    without one, a path only: never the request's own `Host` header, which a client chooses)."""

    mode: AuthMode = AuthMode.KEYS
    base_url: str = ""

    @property
    def sign_in(self) -> bool:
        return self.mode is AuthMode.ENTRA

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        """`API_AUTH` (keys | entra), `API_BASE_URL`, else the platform's `WEBSITE_HOSTNAME`; SettingsError
        names a bad one."""
        raw = (env.get(AUTH_SETTING) or AuthMode.KEYS).strip().lower()
        try:
            mode = AuthMode(raw)
        except ValueError:
            raise SettingsError(f"{AUTH_SETTING}={raw!r} must be 'entra' (App Service authentication with Entra ID) "
                                "or 'keys' (function keys)") from None
        if mode is AuthMode.ENTRA and (env.get("WEBSITE_AUTH_ENABLED") or "").strip().lower() not in _TRUE:
            raise SettingsError(f"{AUTH_SETTING}=entra needs App Service authentication in front of the app "
                                "(WEBSITE_AUTH_ENABLED=True, set by the platform when it is on): without it "
                                "anyone could claim any identity")
        return cls(mode, _base_url(env))


def _base_url(env: Mapping[str, str]) -> str:
    configured = (env.get(BASE_URL_SETTING) or "").strip().rstrip("/")
    if configured:
        parts = urlsplit(configured)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment \
                or parts.path or "@" in parts.netloc:
            raise SettingsError(f"{BASE_URL_SETTING}={configured!r} must be an origin such as "
                                "https://builds.contoso.com (no path, query or user name)")
        return configured
    host = (env.get("WEBSITE_HOSTNAME") or "").strip().lower()
    if not host or any(ch in host for ch in "/?#@ \\"):
        return ""
    scheme = "http" if host.split(":")[0] in _LOOPBACK or host.startswith("[::1]") else "https"
    return f"{scheme}://{host}"
