"""The deployed package (`make package`, what azd deploys through .funcignore) holds exactly what runs in
Azure, and in a venv with only requirements.txt it indexes the functions the local worker serves."""

from __future__ import annotations

import json
import subprocess
import zipfile
from datetime import UTC
from pathlib import Path

import pytest

from devstack.azurite import PROJECT_ROOT
from devstack.localworker.discovery import EventGridFunction, HttpFunction, QueueFunction, TimerFunction, discover
from devstack.package import build

DEPLOYED = ("function_app.py", "host.json", "requirements.txt", "core/", "templates/")
NEVER = ("tests/", "simulator/", "devstack/", "bench/", "infra/", ".venv", "node_modules/", "requirements-dev.txt",
         "local.settings", "__pycache__", ".git")  # fmt: skip
PACKAGE_PYTHON = PROJECT_ROOT / ".venv-package" / "bin" / "python"
TRIGGERS = {QueueFunction: "queueTrigger", TimerFunction: "timerTrigger", HttpFunction: "httpTrigger",
            EventGridFunction: "eventGridTrigger"}  # fmt: skip
INDEX = """
import json, sys
sys.path.insert(0, ".")
import function_app
found = {f.get_function_name(): f.get_trigger().get_binding_name() for f in function_app.app.get_functions()}
print(json.dumps({"functions": found, "loaded": sorted(m.split(".")[0] for m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("package") / "package.zip"


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    return sorted(f for f in listed if f in DEPLOYED or f.startswith(tuple(d for d in DEPLOYED if d.endswith("/"))))


def test_the_package_holds_exactly_the_app(package: Path):
    files = build(package)
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == files
    assert files == tracked_files()
    assert not [f for f in files if f.startswith(NEVER) or any(f"/{n}" in f"/{f}" for n in NEVER)]
    assert {"function_app.py", "host.json", "requirements.txt", "templates/seed-linux.json"} <= set(files)
    assert package.stat().st_size < 1024 * 1024, f"package is {package.stat().st_size} bytes"


def test_with_only_requirements_txt_the_package_indexes_the_functions_the_worker_serves(package: Path, tmp_path: Path):
    assert PACKAGE_PYTHON.exists(), "no .venv-package: `make setup` makes it from requirements.txt only"
    if not package.exists():
        build(package)
    with zipfile.ZipFile(package) as archive:
        archive.extractall(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "AUDIT_SCHEDULE": "0 0 6 * * *"}
    done = subprocess.run([str(PACKAGE_PYTHON), "-I", "-c", INDEX], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    indexed = json.loads(done.stdout)
    served = discover("function_app", env, zone=UTC)
    assert indexed["functions"] == {f.name: TRIGGERS[type(f)] for f in served.functions}
    assert not {"devstack", "simulator", "tests", "pytest"} & set(indexed["loaded"])


def test_the_package_venv_has_only_the_runtime_requirements():
    assert PACKAGE_PYTHON.exists(), "no .venv-package: `make setup` makes it from requirements.txt only"
    listed = subprocess.run([str(PACKAGE_PYTHON), "-m", "pip", "list", "--format=json"], capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    names = {p["name"].lower() for p in json.loads(listed)}
    assert "azure-functions" in names and "azure-mgmt-compute" in names
    assert not {"pytest", "ruff", "trustme", "hypothesis", "croniter", "pycep-parser", "checkov"} & names
