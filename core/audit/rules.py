"""Compliance rules over image versions already published (pure): each a function over facts with a stable code.

A rule reads one version's REST JSON (GET with `$expand=ReplicationStatus`) and the disk encryption sets
it names (read beforehand; None = ARM answered 404) and yields ``(subject, message)`` pairs; ``subject``
says what inside the version is wrong (a region, a disk encryption set, the end-of-life date), so that a
finding keeps its identity from one audit to the next. The codes a build's pre-flight check shares
(`DiskEncryptionSet*`) mean the same thing there, and a finding's `Severity` is the pre-flight check's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.azure import resource_ids
from core.azure.regions import normalize_region
from core.base.json_input import dig as _get
from core.policy import Severity
from core.policy.facts import encrypted_disks
from core.policy.keychain import DEFAULT_EXPIRY_HORIZON_DAYS, KeyChain

Json = dict[str, Any]
OS_DISK = "OS disk"


@dataclass(frozen=True)
class AuditPolicy:
    """``require_customer_key``: every disk in every region has a DES (else only all-or-nothing per disk);
    ``key_horizon_days``: how far ahead a key's expiry is warned about (``KEY_EXPIRY_WARNING_DAYS``)."""

    require_customer_key: bool = True
    eol_warning_days: int = 30
    key_horizon_days: int = DEFAULT_EXPIRY_HORIZON_DAYS


@dataclass(frozen=True)
class AuditFacts:
    """What the rules look at for one version. ``des`` is keyed by lower-case ID; a DES in another
    subscription is not read (the reference is wrong whatever it holds), so it is absent. ``key_chains``:
    the key chain of each DES read (``core.policy.key_facts``), by lower-case DES ID."""

    version: Json
    des: Mapping[str, Json | None]
    now: datetime
    policy: AuditPolicy
    key_chains: Mapping[str, KeyChain] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditFinding:
    code: str
    severity: Severity
    version_id: str
    subject: str
    message: str

    @property
    def key(self) -> str:
        """Stable identity within the version: the same problem found again is the same finding."""
        return f"{self.code}|{self.subject.lower()}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": str(self.severity), "versionId": self.version_id,
                "subject": self.subject, "message": self.message}


Check = Callable[[AuditFacts], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class AuditRule:
    code: str
    severity: Severity
    check: Check

    @property
    def summary(self) -> str:
        return (self.check.__doc__ or self.code).strip().splitlines()[0]


RULES: dict[str, AuditRule] = {}


def audit_rule(code: str, severity: Severity) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if code in RULES:
            raise ValueError(f"audit rule code {code!r} is registered twice")
        RULES[code] = AuditRule(code, severity, check)
        return check

    return register


# --- views over a version ----------------------------------------------------------------------------------



def _region(name: object) -> str:
    try:
        return normalize_region(str(name))
    except ValueError:
        return str(name)


def target_regions(version: Json) -> list[tuple[str, dict[str, str]]]:
    """(normalised region, {disk: DES ID}) for each target region, in the version's order."""
    result = []
    for target in _get(version, "properties", "publishingProfile", "targetRegions") or []:
        disks: dict[str, str] = {}
        os_des = _get(target, "encryption", "osDiskImage", "diskEncryptionSetId")
        if os_des:
            disks[OS_DISK] = str(os_des)
        for data in _get(target, "encryption", "dataDiskImages") or []:
            if _get(data, "diskEncryptionSetId") and isinstance(_get(data, "lun"), int):
                disks[f"LUN {data['lun']}"] = str(data["diskEncryptionSetId"])
        result.append((_region(_get(target, "name")), disks))
    return result


def version_disks(version: Json) -> list[str]:
    """The version's disks: the OS disk, each data disk image, and any disk encrypted somewhere."""
    luns = {d["lun"] for d in _get(version, "properties", "storageProfile", "dataDiskImages") or []
            if isinstance(_get(d, "lun"), int)}
    luns |= {int(disk[4:]) for disk in encrypted_disks(version) if disk.startswith("LUN ")}
    return [OS_DISK, *(f"LUN {lun}" for lun in sorted(luns))]


def referenced_des(version: Json) -> dict[str, str]:
    """Every DES the version names: lower-case ID -> ID as written."""
    found: dict[str, str] = {}
    for _, disks in target_regions(version):
        for des_id in disks.values():
            found.setdefault(des_id.lower(), des_id)
    return found


def _subscription(resource_id: str) -> str | None:
    try:
        return resource_ids.parse_resource_id(resource_id).subscription
    except ValueError:
        return None


def _name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def end_of_life(version: Json) -> datetime | None:
    value = _get(version, "properties", "publishingProfile", "endOfLifeDate")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the rules ---------------------------------------------------------------------------------------------


@audit_rule("CustomerKeyMissingInRegion", Severity.ERROR)
def customer_key_in_every_region(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """Every target region encrypts the disks policy requires with a customer-managed key."""
    regions = target_regions(facts.version)
    encrypted_somewhere = {disk for _, disks in regions for disk in disks}
    required = version_disks(facts.version) if facts.policy.require_customer_key else sorted(encrypted_somewhere)
    why = ("policy requires a customer-managed key on every disk in every region" if facts.policy.require_customer_key
           else "the same disk uses a customer-managed key in another region (all or nothing per disk)")
    for region, disks in regions:
        missing = [disk for disk in required if disk not in disks]
        if missing:
            yield region, (f"target region '{region}' has no disk encryption set for {', '.join(missing)} ({why}); "
                           f"publish a new version with a disk encryption set located in '{region}' for each disk, "
                           "or remove the region")


@audit_rule("DiskEncryptionSetSubscription", Severity.ERROR)
def des_in_version_subscription(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """Each disk encryption set is in the image version's subscription."""
    subscription = _subscription(str(facts.version.get("id")))
    for des_id in referenced_des(facts.version).values():
        if _subscription(des_id) != subscription:
            yield des_id, (f"disk encryption set {des_id} is not in the image version's subscription "
                           f"'{subscription}'; use a set in that subscription for each region")


@audit_rule("DiskEncryptionSetNotFound", Severity.ERROR)
def des_exists(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """Each disk encryption set the version names still exists."""
    for key, des_id in referenced_des(facts.version).items():
        if key in facts.des and facts.des[key] is None:
            yield des_id, (f"disk encryption set {des_id} was not found: replicas encrypted with it cannot be "
                           "used; restore the set or publish a new version with an existing one")


@audit_rule("DiskEncryptionSetRegion", Severity.ERROR)
def des_in_its_region(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """Each disk encryption set is located in the target region whose disks it encrypts."""
    for region, disks in target_regions(facts.version):
        by_des: dict[str, list[str]] = {}
        for disk, des_id in disks.items():
            by_des.setdefault(des_id, []).append(disk)
        for des_id, used_for in by_des.items():
            des = facts.des.get(des_id.lower())
            location = _region(des.get("location")) if des else None
            if location is not None and location != region:
                yield f"{region} {_name(des_id)}", (
                    f"target region '{region}' encrypts {', '.join(used_for)} with disk encryption set "
                    f"'{_name(des_id)}', which is located in '{location}'; a set only encrypts replicas in its own "
                    f"region: use one located in '{region}'")


@audit_rule("DiskEncryptionSetKeyRotationFailed", Severity.WARNING)
def des_key_rotation(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """No disk encryption set the version uses reports an automatic key rotation error."""
    for key, des_id in referenced_des(facts.version).items():
        error = _get(facts.des.get(key), "properties", "autoKeyRotationError")
        if error:
            detail = (error.get("message") or error.get("code")) if isinstance(error, dict) else str(error)
            yield des_id, (f"disk encryption set '{_name(des_id)}' reports a key rotation error: "
                           f"{str(detail).rstrip('. ')}; fix the "
                           "set's access to its Key Vault key")


@audit_rule("ReplicationFailed", Severity.ERROR)
def replication_succeeded(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """Replication to every target region completed."""
    for entry in _get(facts.version, "properties", "replicationStatus", "summary") or []:
        if str(_get(entry, "state") or "").lower() == "failed":
            region = _region(_get(entry, "region"))
            details = _get(entry, "details")
            yield region, (f"replication to '{region}' failed{': ' + str(details) if details else ''}; update the "
                           "version without the region and add it back, or publish a new version")


@audit_rule("EndOfLifePassed", Severity.ERROR)
def end_of_life_passed(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """The version's end-of-life date has not passed."""
    moment = end_of_life(facts.version)
    if moment is not None and moment <= facts.now:
        yield "endOfLifeDate", (f"end of life {moment.date().isoformat()} has passed; publish a successor and "
                                "exclude this version from latest, or delete it")


@audit_rule("EndOfLifeSoon", Severity.WARNING)
def end_of_life_soon(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """The version's end of life is more than the warning period away."""
    moment = end_of_life(facts.version)
    horizon = facts.now + timedelta(days=facts.policy.eol_warning_days)
    if moment is not None and facts.now < moment <= horizon:
        days = (moment - facts.now).days
        yield "endOfLifeDate", (f"end of life {moment.date().isoformat()} is in {days} day(s) (warning period "
                                f"{facts.policy.eol_warning_days}); publish a successor")


def audit_version(facts: AuditFacts) -> list[AuditFinding]:
    """Every finding of every rule for one version, in rule order."""
    version_id = str(facts.version.get("id"))
    return [AuditFinding(code, rule.severity, version_id, subject, message)
            for code, rule in RULES.items() for subject, message in rule.check(facts)]


def describe_rules() -> list[dict[str, str]]:
    return [{"code": code, "severity": str(rule.severity), "description": rule.summary} for code, rule in RULES.items()]
