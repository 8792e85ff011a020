"""What an audit covers and by which policy: app settings `AUDIT_GALLERIES`, `AUDIT_SUBSCRIPTIONS`,
`AUDIT_REQUIRE_CMK`, `AUDIT_EOL_WARNING_DAYS` and `KEY_EXPIRY_WARNING_DAYS`, or the CLI's `--gallery` /
`--subscription`. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from core.audit.rules import AuditPolicy
from core.azure import resource_ids
from core.azure.settings import SettingsError, read_int
from core.policy.facts import key_horizon_days


def _ids(raw: str | None, setting: str, check: Callable[[str], str]) -> tuple[str, ...]:
    values = []
    for entry in (raw or "").replace(",", " ").split():
        try:
            values.append(check(entry))
        except ValueError as error:
            raise SettingsError(f"{setting} entry {entry!r}: {error}") from None
    return tuple(dict.fromkeys(values))


def _gallery_id(text: str) -> str:
    parsed = resource_ids.parse_resource_id(text)
    if not parsed.is_kind(resource_ids.GALLERY):
        raise ValueError(f"is a {parsed.kind} ID; give a gallery ID (.../providers/Microsoft.Compute/galleries/<name>)")
    return str(parsed)


def _subscription_id(text: str) -> str:
    if not resource_ids.is_guid(text):
        raise ValueError("is not a subscription ID (a GUID)")
    return text.lower()


@dataclass(frozen=True)
class AuditConfig:
    """The galleries named, the subscriptions whose every gallery is audited, and the policy."""

    galleries: tuple[str, ...] = ()
    subscriptions: tuple[str, ...] = ()
    policy: AuditPolicy = field(default_factory=AuditPolicy)

    @property
    def empty(self) -> bool:
        return not self.galleries and not self.subscriptions

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, galleries: Iterable[str] = (),
                 subscriptions: Iterable[str] = ()) -> AuditConfig:
        """The settings (or, when given, ``galleries`` / ``subscriptions`` instead); SettingsError names the fix."""
        given_galleries, given_subscriptions = " ".join(galleries), " ".join(subscriptions)
        override = bool(given_galleries or given_subscriptions)
        require = (env.get("AUDIT_REQUIRE_CMK") or "true").strip().lower()
        if require not in ("true", "false", "1", "0"):
            raise SettingsError(f"AUDIT_REQUIRE_CMK={require!r} must be true or false")
        days = read_int(env, "AUDIT_EOL_WARNING_DAYS", 30, minimum=0, unit="days")
        return cls(
            galleries=_ids(given_galleries if override else env.get("AUDIT_GALLERIES"), "AUDIT_GALLERIES"
                           if not override else "--gallery", _gallery_id),
            subscriptions=_ids(given_subscriptions if override else env.get("AUDIT_SUBSCRIPTIONS"),
                               "AUDIT_SUBSCRIPTIONS" if not override else "--subscription", _subscription_id),
            policy=AuditPolicy(require_customer_key=require in ("true", "1"), eol_warning_days=days,
                               key_horizon_days=key_horizon_days(env)),
        )
