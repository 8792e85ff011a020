"""Policy profiles and configuration: levels per rule code, profiles, app settings and policy files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import policy
from core.policy import enforcement as policy_config
from core.policy.enforcement import Level, PolicyConfigError, config_from_env, load_file, load_profile

from .compliant import facts, request


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_current_profile_gives_every_registered_rule_a_level() -> None:
    """A new rule must get a level in current.json, and current.json names no rule that does not exist."""
    assert set(load_profile("current").levels) == set(policy.RULES)


def test_shipped_profiles() -> None:
    assert policy_config.profile_names() == ["current", "hardened", "preview-2020"]


def test_preview_2020_is_current_plus_the_2020_limits() -> None:
    current, preview = load_profile("current"), load_profile("preview-2020")
    changed = {code: preview.level(code) for code in current.levels if preview.level(code) != current.level(code)}
    assert changed == {"CustomerKeyImageReplicated": Level.ERROR, "CustomerKeyImageShared": Level.ERROR,
                       "SharedGalleryEncryption": Level.OFF}


def test_optional_rules_are_off_in_current() -> None:
    current = load_profile("current")
    assert current.level("DataDiskNotEncrypted") is Level.OFF
    assert current.level("CustomerKeyImageReplicated") is Level.OFF


def test_no_setting_means_the_current_profile() -> None:
    config = config_from_env({})
    assert config.name == "current" and config.levels == load_profile("current").levels


def test_policy_profile_setting_chooses_a_profile() -> None:
    assert config_from_env({"POLICY_PROFILE": "preview-2020"}).level("CustomerKeyImageReplicated") is Level.ERROR


def test_unknown_profile_names_the_setting_and_suggests() -> None:
    with pytest.raises(PolicyConfigError) as error:
        config_from_env({"POLICY_PROFILE": "preview2020"})
    assert "POLICY_PROFILE='preview2020'" in str(error.value) and "did you mean 'preview-2020'" in str(error.value)


def test_policy_file_overrides_its_base(tmp_path: Path) -> None:
    path = _write(tmp_path / "policy.json", {"base": "preview-2020", "description": "strict",
                                            "rules": {"DataDiskNotEncrypted": "error", "EndOfLifeDateInPast": "OFF",
                                                      "TargetVersionFailed": "error"}})
    config = config_from_env({"POLICY_FILE": str(path)})
    assert config.level("DataDiskNotEncrypted") is Level.ERROR
    assert config.level("EndOfLifeDateInPast") is Level.OFF
    assert config.level("CustomerKeyImageReplicated") is Level.ERROR  # from the base
    assert config.level("GalleryNotFound") is Level.ERROR  # from the base's base
    assert str(path) in config.name


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"base": "current", "rules": {"DataDiskNotEncypted": "error"}},
         ["field 'rules.DataDiskNotEncypted'", "unknown rule code", "did you mean 'DataDiskNotEncrypted'"]),
        ({"base": "current", "rules": {"DataDiskNotEncrypted": "enforce"}},
         ["field 'rules.DataDiskNotEncrypted'", "'enforce' is not a level", "\"warning\""]),
        ({"rules": {}}, ["field 'base' is required", "current, hardened, preview-2020"]),
        ({"base": "strict", "rules": {}}, ["field 'base'", "'strict' is not a policy profile"]),
        ({"base": "current", "rule": {}}, ["field 'rule' is unknown", "did you mean 'rules'"]),
        ({"base": "current"}, ["field 'rules' is required"]),
        ({"base": "current", "rules": ["DataDiskNotEncrypted"]}, ["field 'rules' must be an object"]),
        (["current"], ["must be a JSON object"]),
    ],
    ids=["unknown-code", "bad-level", "no-base", "unknown-base", "unknown-field", "no-rules", "rules-list", "list"],
)
def test_bad_policy_file_names_file_field_and_fix(tmp_path: Path, content: object, expected: list[str]) -> None:
    path = _write(tmp_path / "policy.json", content)
    with pytest.raises(PolicyConfigError) as error:
        config_from_env({"POLICY_FILE": str(path)})
    message = str(error.value)
    assert str(path) in message
    for part in expected:
        assert part in message


def test_policy_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text("{base: current}", encoding="utf-8")
    with pytest.raises(PolicyConfigError, match="not valid JSON"):
        load_file(path)


def test_missing_policy_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match=r"POLICY_FILE=.*does not exist"):
        config_from_env({"POLICY_FILE": str(tmp_path / "absent.json")})


def test_both_settings_are_contradictory(tmp_path: Path) -> None:
    path = _write(tmp_path / "policy.json", {"base": "current", "rules": {}})
    with pytest.raises(PolicyConfigError, match="both set; keep one"):
        config_from_env({"POLICY_PROFILE": "current", "POLICY_FILE": str(path)})


def test_profiles_with_a_cycle_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "a.json", {"base": "b", "rules": {}})
    _write(tmp_path / "b.json", {"base": "a", "rules": {}})
    monkeypatch.setattr(policy_config, "PROFILES_DIR", tmp_path)
    with pytest.raises(PolicyConfigError, match="a -> b -> a form a cycle"):
        load_profile("a")


def test_a_level_for_an_unknown_code_is_an_error() -> None:
    with pytest.raises(PolicyConfigError, match="rule code 'NoSuchRule' has no level"):
        load_profile("current").level("NoSuchRule")
    with pytest.raises(PolicyConfigError, match="unknown rule code"):
        load_profile("current").with_levels({"NoSuchRule": "error"})


def test_warned_rule_becomes_a_warning_and_off_rule_disappears() -> None:
    """The same breach (an end-of-life date in the past) at each level."""
    built = request(end_of_life_date="2020-01-01T00:00:00Z")
    current = load_profile("current")
    [error] = policy.evaluate(built, facts(), config=current)
    assert error.severity is policy.Severity.ERROR
    [warning] = policy.evaluate(built, facts(), config=current.with_levels({"EndOfLifeDateInPast": "warning"}))
    assert warning.severity is policy.Severity.WARNING and warning.message == error.message
    assert policy.evaluate(built, facts(), config=current.with_levels({"EndOfLifeDateInPast": Level.OFF})) == []


def test_evaluate_without_config_reads_the_app_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """config=None is the configured default profile (here the 2020 one, which refuses replication)."""
    monkeypatch.delenv("POLICY_FILE", raising=False)
    monkeypatch.setenv("POLICY_PROFILE", "preview-2020")
    assert [f.code for f in policy.evaluate(request(), facts())] == ["CustomerKeyImageReplicated"]
    monkeypatch.setenv("POLICY_PROFILE", "current")
    assert policy.evaluate(request(), facts()) == []


def test_finding_to_dict_is_plain_json() -> None:
    [finding] = policy.evaluate(request(version="2.0"), facts(), config=load_profile("current"))
    assert json.loads(json.dumps(finding.to_dict())) == {
        "code": "VersionNameInvalid", "severity": "error", "field": "version", "message": finding.message}


def test_every_rule_has_a_description() -> None:
    described = policy.describe_rules(load_profile("current"))
    assert [d["code"] for d in described] == list(policy.RULES)
    assert all(d["description"] and d["description"] != d["code"] for d in described)
