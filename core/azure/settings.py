"""Settings read from the environment (app settings in Azure, local.settings.json or the shell locally).

Every setting has a safe default except the storage connection. Bad values raise `SettingsError`
naming the variable and what it accepts; nothing here talks to the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.azure.clouds import AZURE_CLOUD, CloudProfile, cloud_named
from core.azure.regions import PUBLIC_REGIONS, normalize_region
from core.azure.vm_sizes import DEFAULT_VERIFICATION_VM_SIZES, SizeRule, parse_size_rules

PUBLIC_ARM_ENDPOINT = AZURE_CLOUD.arm_endpoint


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")


def read_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, unit: str = "seconds") -> int:
    """A whole-number setting in ASCII digits (int() would also take '²'-like digits and 4,000-digit text)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise SettingsError(f"{name}={raw[:40]!r} is not a whole number; set a whole number of {unit}, "
                            f"at least {minimum}")
    value = int(raw)
    if value < minimum:
        raise SettingsError(f"{name}={value} is below the minimum {minimum}")
    return value


def cloud_from_env(env: Mapping[str, str]) -> CloudProfile:
    """The cloud profile `AZURE_CLOUD` names (default AzureCloud)."""
    try:
        return cloud_named(env.get("AZURE_CLOUD") or AZURE_CLOUD.name)
    except ValueError as exc:
        raise SettingsError(f"AZURE_CLOUD: {exc}") from None


_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def _https_origin(name: str, raw: str) -> str:
    """``https://host[:port]`` lower-cased: no userinfo, path, query, fragment; a valid port and host name."""
    parts = urlsplit(raw.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise SettingsError(f"{name}={raw!r} must be an https:// URL (bearer tokens are never sent over http)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise SettingsError(f"{name}={raw!r} must be a bare origin like https://management.azure.com "
                            "(no user name, path or query)")
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    if (port is not None and not 1 <= port <= 65535) or not _HOST.fullmatch(host):
        raise SettingsError(f"{name}={raw!r} must be https://<host name>[:<port 1-65535>]")
    return f"https://{parts.netloc.lower()}"


def _regions(env: Mapping[str, str], cloud: CloudProfile) -> frozenset[str]:
    extra = set()
    for entry in filter(None, (part.strip() for part in env.get("EXTRA_REGIONS", "").split(","))):
        try:
            extra.add(normalize_region(entry))
        except ValueError:
            raise SettingsError(f"EXTRA_REGIONS entry {entry!r} is not a region name; give names such as "
                                "'eastus2', separated by commas") from None
    return cloud.regions | extra


def _vm_sizes(env: Mapping[str, str], known_regions: frozenset[str]) -> tuple[SizeRule, ...]:
    """The setting's entries, then the default entries it does not replace (so `westus=Standard_D4s_v5`
    keeps the confidential default)."""

    def known(name: str) -> str:
        region = normalize_region(name)
        if region not in known_regions:
            raise ValueError(region)
        return region

    try:
        given = parse_size_rules(env.get("VERIFICATION_VM_SIZES") or "", known)
    except ValueError as exc:
        raise SettingsError(f"VERIFICATION_VM_SIZES {exc}") from None
    taken = {(rule.region, rule.security_type) for rule in given}
    defaults = Settings.verification_vm_sizes
    return given + tuple(rule for rule in defaults if (rule.region, rule.security_type) not in taken)


@dataclass(frozen=True)
class Settings:
    """Configuration for every trigger, the worker and the command line."""

    storage_connection: str = "AzureWebJobsStorage"
    arm_endpoint: str = PUBLIC_ARM_ENDPOINT
    arm_audience: str = AZURE_CLOUD.arm_audience
    cloud: CloudProfile = AZURE_CLOUD
    arm_ca_bundle: str | None = None
    request_queue: str = "image-build-requests"
    step_queue: str = "image-build-steps"
    builds_table: str = "builds"
    subscriptions_table: str = "subscriptions"
    required_features: tuple[str, ...] = ("Microsoft.Compute/SIGEncryption",)
    poll_initial_seconds: int = 15
    poll_max_seconds: int = 300
    poll_min_seconds: int = 2
    retry_initial_seconds: int = 5
    retry_max_seconds: int = 600
    transient_retry_limit: int = 8
    retry_after_inline_cap_seconds: int = 10
    feature_registration_timeout_seconds: int = 3600
    registration_cache_seconds: int = 3600
    step_lease_seconds: int = 120
    redrive_grace_seconds: int = 60
    arm_read_timeout_seconds: int = 60
    known_regions: frozenset[str] = PUBLIC_REGIONS
    arm_budget_percent: int = 50
    arm_read_bucket: int = 250
    arm_reads_per_second: int = 25
    arm_write_bucket: int = 200
    arm_writes_per_second: int = 10
    # The verification VM's size per region and security type (a request's `vmSize` overrides it).
    verification_vm_sizes: tuple[SizeRule, ...] = parse_size_rules(DEFAULT_VERIFICATION_VM_SIZES, normalize_region)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def arm_scope(self) -> str:
        return self.arm_audience.rstrip("/") + "/.default"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        cloud = cloud_from_env(env)
        # A simulator or private endpoint in ARM_ENDPOINT keeps the cloud's audience unless ARM_AUDIENCE is set.
        endpoint = _https_origin("ARM_ENDPOINT", env.get("ARM_ENDPOINT") or cloud.arm_endpoint)
        audience = env.get("ARM_AUDIENCE") or cloud.arm_audience
        ca_bundle = env.get("ARM_CA_BUNDLE") or None
        if ca_bundle and not os.path.isfile(ca_bundle):
            raise SettingsError(f"ARM_CA_BUNDLE={ca_bundle!r} is not a file; point it at a PEM CA certificate")
        features_raw = env.get("REQUIRED_FEATURES")
        if features_raw is None:
            features: tuple[str, ...] = cls.required_features
        else:
            features = tuple(f.strip() for f in features_raw.replace(";", ",").split(",") if f.strip())
            for feature in features:
                namespace, _, name = feature.partition("/")
                if not namespace or not name or "/" in name:
                    raise SettingsError(
                        f"REQUIRED_FEATURES entry {feature!r} must be <namespace>/<feature>, "
                        "e.g. Microsoft.Compute/SIGEncryption"
                    )
        return cls(
            storage_connection=env.get("STORAGE_CONNECTION_SETTING", "AzureWebJobsStorage"),
            arm_endpoint=endpoint,
            arm_audience=audience,
            cloud=cloud,
            arm_ca_bundle=ca_bundle,
            required_features=features,
            poll_initial_seconds=read_int(env, "POLL_INITIAL_SECONDS", cls.poll_initial_seconds, minimum=1),
            poll_max_seconds=read_int(env, "POLL_MAX_SECONDS", cls.poll_max_seconds, minimum=1),
            poll_min_seconds=read_int(env, "POLL_MIN_SECONDS", cls.poll_min_seconds, minimum=1),
            retry_initial_seconds=read_int(env, "RETRY_INITIAL_SECONDS", cls.retry_initial_seconds, minimum=1),
            retry_max_seconds=read_int(env, "RETRY_MAX_SECONDS", cls.retry_max_seconds, minimum=1),
            transient_retry_limit=read_int(env, "TRANSIENT_RETRY_LIMIT", cls.transient_retry_limit, minimum=0),
            retry_after_inline_cap_seconds=read_int(
                env, "RETRY_AFTER_INLINE_CAP_SECONDS", cls.retry_after_inline_cap_seconds
            ),
            feature_registration_timeout_seconds=read_int(
                env,
                "FEATURE_REGISTRATION_TIMEOUT_SECONDS",
                cls.feature_registration_timeout_seconds,
                minimum=1,
            ),
            registration_cache_seconds=read_int(
                env, "REGISTRATION_CACHE_SECONDS", cls.registration_cache_seconds, minimum=0
            ),
            step_lease_seconds=read_int(env, "STEP_LEASE_SECONDS", cls.step_lease_seconds, minimum=1),
            redrive_grace_seconds=read_int(env, "REDRIVE_GRACE_SECONDS", cls.redrive_grace_seconds, minimum=0),
            arm_read_timeout_seconds=read_int(env, "ARM_READ_TIMEOUT_SECONDS", cls.arm_read_timeout_seconds, minimum=1),
            known_regions=_regions(env, cloud),
            arm_budget_percent=read_int(env, "ARM_BUDGET_PERCENT", cls.arm_budget_percent, minimum=0),
            arm_read_bucket=read_int(env, "ARM_READ_BUCKET", cls.arm_read_bucket, minimum=1),
            arm_reads_per_second=read_int(env, "ARM_READS_PER_SECOND", cls.arm_reads_per_second, minimum=1),
            arm_write_bucket=read_int(env, "ARM_WRITE_BUCKET", cls.arm_write_bucket, minimum=1),
            arm_writes_per_second=read_int(env, "ARM_WRITES_PER_SECOND", cls.arm_writes_per_second, minimum=1),
            verification_vm_sizes=_vm_sizes(env, _regions(env, cloud)),
            env=env,
        )
