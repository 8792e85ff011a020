"""The live view and the status text: fitted to the terminal width, words instead of internal names, no Python
reprs in the history, a cut detail marked."""

import io

import pytest
from rich.console import Console

from core.entry.cli.live import plain_lines, render, watch
from core.entry.cli.status_text import detail_text, format_status, shorten, step_words


def document(status: str = "Replicating", **changes) -> dict:
    base = {
        "buildId": "b1", "resourceId": "/subscriptions/s/.../versions/1.0.0", "status": status, "attempt": 1,
        "origin": "queue", "createdAt": "t0", "updatedAt": "t1", "nextStepDueAt": None,
        "regions": {"westus": {"state": "Completed", "progress": 100},
                    "a-very-long-region-name-indeed": {"state": "Replicating", "progress": 37}},
        "problems": [], "error": None, "registration": {}, "history": [],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize("width", [40, 80, 132])
def test_the_live_view_fits_the_width_one_line_per_row(width):
    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
    label = "seed CLI example 1 (managed image, westus + eastus2), version 1.0.0 and a long label"
    with console.capture() as captured:
        console.print(render([(label, document()), ("second", None)], width))
    lines = captured.get().rstrip("\n").split("\n")
    assert all(len(line) <= width for line in lines), lines
    # heading, step words, two regions; then the second build's one line: nothing wrapped
    assert len(lines) == 5, lines
    assert "replicating: 1 of 2 region(s) complete" in lines[1]
    assert "37%" in lines[3] or "37%" in lines[2]


def test_step_words_never_show_internal_event_names():
    rejected = document("Rejected", problems=[{"field": "location", "message": "must be a target region"}])
    assert step_words(rejected) == "rejected with 1 problem(s): location: must be a target region"
    assert step_words(document("Failed", error={"code": "X", "message": "DES not found"})) == "failed: DES not found"
    assert step_words(document("Succeeded")) == "published in 2 region(s)"
    assert step_words(document("Queued", regions={})).startswith("waiting on the request queue")
    assert "(last:" not in "\n".join(plain_lines([("b", rejected)]))


def test_history_details_are_words_and_a_cut_is_marked():
    text = detail_text({"regions": {"westus": {"state": "Completed", "progress": 100}}, "attempt": 2, "ok": True,
                        "problems": [{"field": "x"}], "empty": None})
    assert text == "regions: westus state Completed, progress 100; attempt=2; ok=yes"
    assert shorten("x" * 200, 160) == "x" * 159 + "\u2026"
    history = [{"at": "t", "kind": "ReplicationChecked", "status": "Replicating", "detail": {"note": "n" * 300}}]
    line = format_status(document(history=history)).splitlines()[-1]
    assert line.endswith("\u2026") and "{'" not in line


def test_watch_on_a_pipe_prints_plain_lines_only_when_they_change():
    states = iter(["Validating", "Validating", "Creating", "Succeeded"])
    out = io.StringIO()
    final = watch(lambda: [("b", document(next(states), regions={}))], interval=0, out=out,
                  stop=lambda items: items[0][1]["status"] == "Succeeded")
    assert final[0][1]["status"] == "Succeeded"
    text = out.getvalue()
    assert text.count("b: Validating") == 1 and "b: Creating" in text and "b: Succeeded" in text
    assert "\x1b[" not in text


def test_the_status_text_shows_each_regions_proof_and_which_check_failed():
    verification = {"eastus2": {"result": "failed", "reason": "LUN 0 encryption: LUN 0 is encrypted with a "
                                "platform-managed key, not /des2", "checks": [
                                    {"check": "provisioned", "passed": True, "detail": "the VM reached Succeeded"},
                                    {"check": "LUN 0 encryption", "passed": False,
                                     "detail": "LUN 0 is encrypted with a platform-managed key, not /des2"}]},
                    "westus": {"result": "passed", "reason": "ok", "checks": [
                        {"check": "provisioned", "passed": True, "detail": "the VM reached Succeeded"}]}}
    text = format_status(document("Succeeded", verification=verification))
    assert "    FAIL LUN 0 encryption: LUN 0 is encrypted with a platform-managed key, not /des2" in text
    assert text.count("    ok   provisioned: the VM reached Succeeded") == 2
