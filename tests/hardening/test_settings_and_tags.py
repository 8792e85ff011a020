"""Settings and snapshot tags that used to crash or pass: each is now a SettingsError or a problem naming it."""

from pathlib import Path

import pytest

from core.audit.scope import AuditConfig
from core.azure.settings import Settings, SettingsError
from core.snapshots.snapshot_settings import SnapshotSettings
from core.snapshots.templates import data_disks_from_tags

SNAPSHOT = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/snapshots/os"


@pytest.mark.parametrize(("value", "fragment"), [
    ("http://management.azure.com", "must be an https:// URL"),
    ("https://user:secret@management.azure.com", "no user name"),
    ("https://user@management.azure.com", "no user name"),
    ("https://management.azure.com:99999", "port 1-65535"),
    ("https://management.azure.com:0", "port 1-65535"),
    ("https://bad_host!.example", "https://<host name>"),
])
def test_a_bad_arm_endpoint_is_refused_naming_the_setting(value, fragment):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"ARM_ENDPOINT": value})
    assert str(raised.value).startswith("ARM_ENDPOINT=") and fragment in str(raised.value)


@pytest.mark.parametrize("value", ["abc", "\u00b2", "\u0661\u0662", "1" * 5000, "1.5"])
def test_whole_number_settings_take_ascii_digits_only(value):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"POLL_INITIAL_SECONDS": value})
    assert str(raised.value).startswith("POLL_INITIAL_SECONDS=") and len(str(raised.value)) < 200
    with pytest.raises(SettingsError, match=r"^SNAPSHOT_POLL_SECONDS="):
        SnapshotSettings.from_env({"SNAPSHOT_POLL_SECONDS": value})
    with pytest.raises(SettingsError, match=r"^AUDIT_EOL_WARNING_DAYS="):
        AuditConfig.from_env({"AUDIT_EOL_WARNING_DAYS": value})


def test_extra_regions_extend_the_cloud_and_a_bad_one_is_named():
    assert "newregion1" in Settings.from_env({"EXTRA_REGIONS": "newregion1, New Region 2"}).known_regions
    assert "chinaeast2" in Settings.from_env({"AZURE_CLOUD": "AzureChinaCloud"}).known_regions
    assert "westus" not in Settings.from_env({"AZURE_CLOUD": "AzureChinaCloud"}).known_regions
    with pytest.raises(SettingsError, match=r"^EXTRA_REGIONS entry"):
        Settings.from_env({"EXTRA_REGIONS": "west-us"})


@pytest.mark.parametrize("suffix", ["\u00b2", "\u0663", "64", "007", "-1", ""])
def test_a_data_disk_tag_with_a_non_lun_suffix_is_a_problem(suffix):
    disks, problems = data_disks_from_tags({f"imageBuilder.dataDisk.{suffix}": "data0"}, SNAPSHOT)
    assert disks == [] and len(problems) == 1 and "is not a LUN" in problems[0]


@pytest.mark.parametrize(("setting", "value"), [
    ("POLL_INITIAL_SECONDS", "abc"), ("ARM_ENDPOINT", "http://management.azure.com"),
    ("ARM_ENDPOINT", "https://u:p@management.azure.com"), ("ARM_ENDPOINT", "https://management.azure.com:99999"),
    ("POLICY_FILE", "/nonexistent/policy.json"), ("SNAPSHOT_POLL_SECONDS", "\u00b2"),
])
def test_the_worker_stops_at_start_up_with_one_line_naming_a_bad_setting(setting, value, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "AzureWebJobsStorage": "UseDevelopmentStorage=true", setting: value}
    done = subprocess.run([sys.executable, "-m", "core", "worker"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"configuration: {setting}") and "Traceback" not in done.stderr


def test_a_policy_file_nested_a_thousand_deep_is_a_setting_problem(tmp_path):
    from core.app.runtime import check_configuration

    policy = tmp_path / "policy.json"
    policy.write_text("[" * 1000 + "]" * 1000)
    with pytest.raises(SettingsError, match="nested 1000 levels deep"):
        check_configuration({"POLICY_FILE": str(policy)})


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|ab)*", "(?:a*)*", "((x)y+)+", "(\\w+\\s?)+$"])
def test_a_template_regex_that_can_backtrack_exponentially_is_refused_at_load(pattern):
    from core.snapshots.template_loader import _name_pattern, _Reader

    reader = _Reader("t.json")
    assert _name_pattern(reader, {"regex": pattern}) is None
    assert [problem.field for problem in reader.problems] == ["match.snapshotName.regex"]


@pytest.mark.parametrize("pattern", ["web-.*", "(web|api)-[0-9]+", "[a-z]+-(\\d+)$", "(ab)*c"])
def test_ordinary_template_regexes_still_load(pattern):
    from core.snapshots.template_loader import _name_pattern, _Reader

    reader = _Reader("t.json")
    assert _name_pattern(reader, {"regex": pattern}) is not None and reader.problems == []


@pytest.mark.parametrize("reference", ["a/b", "x%2Fy".replace("%2F", "/"), "a#b", "a?b", "a\\b", "\x00", "", "z" * 600])
def test_an_odd_build_id_is_not_found_without_a_storage_call(reference):
    from core.builds.state import BuildState
    from core.engine.store import RecordStore

    class NoTable:
        def get_table_client(self, name: str) -> object:
            return object()  # any call on it would raise AttributeError

    store = RecordStore(NoTable(), "builds", {"build": BuildState})  # type: ignore[arg-type]
    assert store.get(reference) is None


def test_a_template_nested_a_thousand_deep_is_a_problem_naming_the_file(tmp_path):
    from core.snapshots.template_loader import load_templates
    from core.snapshots.templates import TemplatesInvalid

    (tmp_path / "deep.json").write_text('{"match": ' + "[" * 1000 + "]" * 1000 + "}")
    with pytest.raises(TemplatesInvalid) as raised:
        load_templates(tmp_path)
    assert [(p.file.endswith("deep.json"), p.field) for p in raised.value.problems] == [(True, "(file)")]
    assert "nested 1001 levels deep" in raised.value.problems[0].message
