"""`python -m core plan`: in-process for the many cases, as a subprocess for the real entry point."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.entry.cli import build_parser, main
from tests.request.test_examples import EXAMPLE_CLOUDS
from tests.support.builders import raw_request

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def run_module(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, input=stdin, capture_output=True,
                          timeout=60, check=False, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_plan_on_each_example_prints_one_json_object_and_exits_0(example):
    cloud = EXAMPLE_CLOUDS.get(example.name)
    result = run_module("plan", str(example), env={"AZURE_CLOUD": cloud} if cloud else None)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    plan = json.loads(result.stdout)  # one object and nothing else, or this raises
    assert set(plan) == {"resourceId", "body"}
    assert plan["resourceId"].endswith("/versions/1.0.0")
    assert result.stdout.decode().startswith('{\n  "resourceId": ')  # indent 2


def test_plan_reads_stdin_when_given_a_dash():
    public = next(e for e in EXAMPLES if e.name not in EXAMPLE_CLOUDS)
    result = run_module("plan", "-", stdin=public.read_bytes())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(run_module("plan", str(public)).stdout)


def test_plan_on_a_bad_request_exits_2_with_one_line_per_problem_and_no_traceback():
    bad = raw_request(version="1.0", replicaCount=0, targetRegions="westus=abc", colour="red")
    result = run_module("plan", "-", stdin=json.dumps(bad).encode())
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == ["colour", "version", "targetRegions", "replicaCount"]
    assert "Traceback" not in result.stderr.decode()


def test_plan_on_a_missing_file_exits_2_naming_the_file(tmp_path):
    missing = tmp_path / "nope.json"
    result = run_module("plan", str(missing))
    assert result.returncode == 2
    assert result.stderr.decode() == (f"request file '{missing}': cannot be read (No such file or directory); "
                                      "give a readable JSON file, or - for stdin\n")


def plan_in_process(capsys, tmp_path, content: bytes) -> tuple[int, str, str]:
    path = tmp_path / "request.json"
    path.write_bytes(content)
    code = main(["plan", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("content", "expected_err"),
    [
        (b'{"a": 1', "is not valid JSON (line 1, column 8); fix the syntax"),
        (b'{"a": 1, "a": 2}', "the key 'a' appears twice in one object; keep one"),
        (b'{"replicaCount": NaN}', "has NaN, which is not JSON; write a number or a string"),
        (b"{\"a\": \"\xc3\x28\"}", "is not utf-8 text (invalid continuation byte at byte 7); save it as UTF-8"),
        (b"[" * 100000, "is not valid JSON and is nested 100000 levels deep"),
        (b"[" * 100000 + b"]" * 100000, "is nested 100000 levels deep; the limit is 32"),
        (b'{"replicaCount": 1' + b"0" * 4300 + b"}", "has a number of 4301 digits; the limit is 30"),
    ],
)
def test_unreadable_json_is_one_problem_naming_the_file(capsys, tmp_path, content, expected_err):
    code, out, err = plan_in_process(capsys, tmp_path, content)
    assert (code, out) == (2, "")
    assert err.startswith(f"request file '{tmp_path / 'request.json'}': ")
    assert expected_err in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_files_saved_by_windows_powershell_with_a_bom_are_read(capsys, tmp_path, encoding):
    text = (ROOT / "examples" / "seed-powershell.json").read_text()
    code, out, err = plan_in_process(capsys, tmp_path, text.encode(encoding))
    assert (code, err) == (0, "")
    assert json.loads(out)["body"]["properties"]["publishingProfile"]["replicaCount"] == 2


def test_every_problem_is_reported_on_its_own_line(capsys, tmp_path):
    bad = raw_request(subscriptionId="x", galleryName="a-b", targetRegionEncryption="a b")
    code, out, err = plan_in_process(capsys, tmp_path, json.dumps(bad).encode())
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "subscriptionId: 'x' is not a subscription ID: give the GUID, e.g. from 'az account show'",
        "galleryName: 'a-b' is not a valid name: letters and digits, with '_' and '.' allowed in the middle, "
        "up to 80 characters",
        "targetRegionEncryption: has 2 entries but there are 1 target regions (without targetRegions the location "
        "is the only one); give one entry per target region in the same order (null for a region without "
        "encryption)",
    ]


def test_the_parser_has_one_subparser_per_verb_with_a_handler():
    parser = build_parser()
    args = parser.parse_args(["plan", "x.json"])
    assert args.verb == "plan" and args.request == "x.json" and callable(args.handler)
    with pytest.raises(SystemExit) as raised:
        parser.parse_args([])
    assert raised.value.code == 2
