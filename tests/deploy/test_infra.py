"""infra/ and azure.yaml checked with real tools: every .bicep file parses with pycep-parser (a Bicep
grammar; the Bicep CLI cannot be installed here), checkov finds no failed check (each waiver in place
with its reason), and the azd files agree with main.bicep."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from devstack.azurite import PROJECT_ROOT
from tests.deploy import bicep

INFRA_PYTHON = PROJECT_ROOT / ".venv-infra" / "bin" / "python"
CHECKOV = PROJECT_ROOT / ".venv-infra" / "bin" / "checkov"
GUID = re.compile(r"'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'")


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: str(p.relative_to(bicep.INFRA)))
def test_every_bicep_file_parses(path):
    parsed = bicep.parse(path)
    assert parsed.get("resources") or parsed.get("modules"), f"{path.name} declares nothing"


@pytest.fixture(scope="module")
def checkov() -> dict:
    assert CHECKOV.exists(), "no .venv-infra: `make setup` makes it from requirements-infra.txt"
    done = subprocess.run([str(CHECKOV), "-d", str(bicep.INFRA), "--framework", "bicep", "--skip-download", "-o", "json"],
                          capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "BC_SKIP_MAPPING": "TRUE"})  # fmt: skip
    report = json.loads(done.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_no_failed_check_and_every_waiver_has_its_reason(checkov):
    summary = checkov["summary"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}" for c in checkov["results"]["failed_checks"]]
    assert failed == [], "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 20
    for check in checkov["results"]["skipped_checks"]:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.strip()) > 20, f"{check['check_id']} on {check['resource']} is waived without a reason"


def test_every_role_guid_is_commented_with_its_name():
    for path in bicep.bicep_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if GUID.search(line):
                assert re.search(r"// \w", line), f"{path.name}: role GUID without its name: {line.strip()}"


def test_the_parameters_file_matches_main_bicep():
    declared = bicep.parse(bicep.INFRA / "main.bicep")["parameters"]
    given = json.loads((bicep.INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(declared), f"unknown parameters: {set(given) - set(declared)}"
    required = {name for name, p in declared.items() if p.get("default") is None}
    assert required <= set(given), f"required parameters not in main.parameters.json: {required - set(given)}"


def test_azure_yaml_deploys_this_folder_as_a_python_function():
    assert INFRA_PYTHON.exists(), "no .venv-infra: `make setup` makes it"
    read = subprocess.run([str(INFRA_PYTHON), "-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"],
                          input=(PROJECT_ROOT / "azure.yaml").read_text(), capture_output=True, text=True, check=True)  # fmt: skip
    azure = json.loads(read.stdout)
    assert azure["services"] == {"app": {"project": ".", "language": "python", "host": "function"}}
    assert set(azure["hooks"]["postdeploy"]) == {"posix", "windows"}
    tags = bicep.parse(bicep.FUNCTION_APP)["resources"]["site"]["config"]["tags"]
    assert "azd-service-name" in json.dumps(tags) and '"app"' in json.dumps(tags)


QUEUE_TRIGGERS = """
import json, function_app
triggers = (f.get_trigger() for f in function_app.app.get_functions())
print(json.dumps(sorted({t.queue_name for t in triggers if getattr(t, "queue_name", None)})))
"""


def test_the_storage_account_makes_exactly_the_queues_the_triggers_read():
    """A queue the app no longer uses (`snapshot-events`, gone with the snapshot intake's own engine) is not made;
    the host makes the `-poison` queues itself. (Indexed in a process of its own: a FunctionApp indexes once.)"""
    done = subprocess.run([sys.executable, "-c", QUEUE_TRIGGERS], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "AUDIT_SCHEDULE": "0 0 6 * * *"})
    assert done.returncode == 0, done.stderr
    triggers = set(json.loads(done.stdout))
    assert set(bicep.string_list(bicep.INFRA / "core" / "storage.bicep", "queues")) == \
        {name for name in triggers if not name.endswith("-poison")}


def test_alerts_as_code_watch_metrics_the_app_emits_and_only_with_an_action_group():
    """Each alert rule's query reads a metric the app creates (core/base/telemetry.py) or its build traces; the
    module is deployed only when alertActionGroupId is set; the key-health alert is among them."""
    alerts = bicep.parse(bicep.INFRA / "core" / "alerts.bicep")["variables"]["alerts"]["value"]
    telemetry = (PROJECT_ROOT / "core" / "base" / "telemetry.py").read_text(encoding="utf-8")
    emitted = set(re.findall(r'create_(?:counter|histogram)\("([^"]+)"', telemetry))
    for alert in alerts:
        metrics = set(re.findall(r'name == "([^"]+)"', alert["query"]))
        assert metrics <= emitted and (metrics or "build.id" in alert["query"]), alert["name"]
    assert {"build-failed", "poison-message", "build-stuck", "arm-throttling", "key-health"} == {a["name"] for a in alerts}
    condition = json.dumps(bicep.parse(bicep.INFRA / "main.bicep")["modules"]["alerts"]["config"]["condition"])
    assert "alertActionGroupId" in condition and '"not"' in condition
