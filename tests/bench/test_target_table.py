"""The targets' table and arithmetic (`bench.target_table`) and how `bench.targets` derives the figures they name."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from bench.target_table import (
    SCENARIOS,
    TARGETS,
    covered,
    deferrals,
    evaluate,
    read_rate_while_waiting,
    waiting_windows,
)
from bench.targets import BY_NAME, RAISED, target_figures
from devstack.azurite import PROJECT_ROOT


def verdicts(scenario: str, builds: int = 200, **figures: float) -> dict[str, bool]:
    return {v.target.name: v.met for v in evaluate(scenario, figures, builds)}


def test_every_target_belongs_to_a_scenario_with_a_known_comparator() -> None:
    assert {t.scenario for t in TARGETS} == set(SCENARIOS) == set(BY_NAME)
    assert {t.comparator for t in TARGETS} <= {"<=", ">="}
    assert all(t.floor for t in TARGETS if t.on_ratio)


def test_off_targets_are_judged_on_the_figure_and_show_the_ratio_to_the_floor() -> None:
    found = evaluate("off", {"step_messages_per_s": 50.0, "step_messages_per_s_at_floor": 200.0,
                             "worker_process_cpu_ms_per_step": 12.5, "floor_cpu_ms_per_step": 5.0}, 200)
    by_name = {v.target.figure: v for v in found}
    assert by_name["step_messages_per_s"].met
    assert by_name["step_messages_per_s"].ratio == 0.25
    assert not by_name["worker_process_cpu_ms_per_step"].met
    assert by_name["worker_process_cpu_ms_per_step"].to_dict()["ratio"] == 2.5


def test_a_ratio_target_is_judged_on_the_ratio() -> None:
    assert all(verdicts("free", deferral_fraction=0.1, storage_ops_per_build=65, off_storage_ops_per_build=50).values())
    met = verdicts("free", deferral_fraction=0.11, storage_ops_per_build=66, off_storage_ops_per_build=50)
    assert not any(met.values())
    binding = verdicts("binding", http_429=0, reads_per_s_while_waiting=20.0, arm_reads_per_second=25)
    assert all(binding.values())
    assert not verdicts("binding", http_429=0, reads_per_s_while_waiting=19.9, arm_reads_per_second=25)[
        "reads/s while work waits / ARM's rate"]


def test_a_missing_or_nan_figure_is_not_met() -> None:
    found = evaluate("binding", {"http_429": 0, "reads_per_s_while_waiting": None, "arm_reads_per_second": 25}, 300)
    assert [v.met for v in found] == [True, False]
    assert not evaluate("default", {"completed_to_succeeded_p50_s": math.nan}, 1000)[-1].met


@pytest.mark.parametrize(("builds", "stated"), [(10, "10 builds"), (50, "1,000 builds"), (1000, "1,000 builds")])
def test_the_latency_target_applies_by_build_count(builds: int, stated: str) -> None:
    names = [v.target.name for v in evaluate("default", {}, builds) if "p50" in v.target.name]
    assert names == [f"Completed->Succeeded p50 (stated at {stated})"]


def test_the_peak_window_is_held_against_the_share() -> None:
    figures = {"http_429": 0, "builds_not_succeeded": 0, "completed_to_succeeded_p50_s": 2.0,
               "arm_reads_per_s_peak_any_10s": 12.5, "share_reads_per_second": 12.5}
    assert all(verdicts("default", 1000, **figures).values())
    assert not all(verdicts("default", 1000, **{**figures, "arm_reads_per_s_peak_any_10s": 12.6}).values())


def test_deferrals_count_budget_waits_among_all_step_messages() -> None:
    assert deferrals({"Registering": 30, "budget-wait": 10, "stale": 10}) == (10, 0.2)
    assert deferrals({}) == (0, 0.0)


def test_covered_needs_the_intervals_to_leave_no_gap() -> None:
    assert covered([(0.0, 4.0), (3.0, 8.0)], 1.0, 10.0)
    assert not covered([(0.0, 4.0), (4.5, 8.0)], 1.0, 10.0)
    assert not covered([(2.0, 20.0)], 1.0, 10.0)
    assert not covered([], 1.0, 10.0)


def test_waiting_windows_are_whole_windows_covered_throughout() -> None:
    # waits from 5 s to 32 s (two overlapping) and from 40 s to 41 s; the run ends at 55 s
    waits = [(105.0, 12.0), (115.0, 17.0), (140.0, 1.0)]
    assert waiting_windows(waits, 100.0, 155.0) == [1, 2]
    assert waiting_windows([(100.0, 100.0)], 100.0, 125.0) == [0, 1]  # the last part-window is left out


def test_read_rate_while_waiting_counts_the_reads_of_those_windows_only() -> None:
    reads = [101.0] * 7 + [110.0 + n / 20 for n in range(200)] + [125.0] * 50
    assert read_rate_while_waiting(reads, [(110.0, 10.0)], 100.0, 140.0) == (1, 20.0)
    windows, rate = read_rate_while_waiting(reads, [], 100.0, 140.0)
    assert windows == 0 and math.isnan(rate)


def worker_figures(**extra: object) -> dict[str, object]:
    return {"step_outcomes": {"Replicating": 90, "budget-wait": 10}, "builds": 10, "workers": 3,
            "statuses": {"Succeeded": 9, "Failed": 1}, "step_messages_per_s": 40.0,
            "worker_process_cpu_ms_per_step": 15.0, "worker_cpu_ms_per_step": 10.0, "storage_ops_per_build": 60.0,
            "http_429": 0, "arm_reads_per_s_peak_any_10s": 9.0, "completed_to_succeeded_p50_s": 2.0,
            "budget": {"arm_reads_per_second": 25, "share_reads_per_second": 12.5}, **extra}


def test_target_figures_from_a_runs_figures() -> None:
    found = target_figures(worker_figures(floor={"cpu_ms_per_step": 5.0, "wall_ms_per_step": 9.0}),
                           off={"storage_ops_per_build": 50.0})
    assert (found["deferrals"], found["deferral_fraction"], found["builds_not_succeeded"]) == (10, 0.1, 1)
    assert found["floor_cpu_ms_per_step"] == 5.0 and found["off_storage_ops_per_build"] == 50.0
    assert found["step_messages_per_s_at_floor"] > 0
    assert "floor_cpu_ms_per_step" not in target_figures(worker_figures(), None)


def test_the_free_scenario_raises_the_apps_view_of_arms_buckets_as_the_simulators() -> None:
    free = BY_NAME["free"]
    assert RAISED["ARM_READS_PER_SECOND"] == str(25 * 1_000_000)
    assert free.settings["ARM_BUDGET_PERCENT"] == "50"
    assert free.throttling.reads.refill_per_second == 25 * 1_000_000  # type: ignore[union-attr]
    assert BY_NAME["binding"].settings == {"ARM_BUDGET_PERCENT": "100"}


def test_the_command_prints_its_help() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.targets", "--help"], capture_output=True, text=True,
                          timeout=60, cwd=PROJECT_ROOT)
    assert done.returncode == 0 and "--budget" in done.stdout, done.stderr[-500:]
