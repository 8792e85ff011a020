"""One command for every target of issue 22: `bench.scale`'s runs under four ARM budgets, each target printed
with its figure, the floor (or reference) measured in the same run, their ratio and MET / NOT MET.

Run:  .venv/bin/python -m bench.targets --budget off             # 200 builds, 3 workers, budget off, instant
      .venv/bin/python -m bench.targets --budget free            # the off run, then the budget on, not binding
      .venv/bin/python -m bench.targets --budget binding         # 300 builds, ARM's real bucket, share 100 %
      .venv/bin/python -m bench.targets --budget default --builds 50
      .venv/bin/python -m bench.targets --budget all --json --save targets.json

The targets are `bench.target_table.TARGETS`. The exit code is 0 when every build Succeeded (a target NOT MET
is a figure, not a failure), 1 when some did not or the run broke.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import op_cost, scale
from bench.target_table import SCENARIOS, Verdict, deferrals, evaluate, read_rate_while_waiting
from core.azure.settings import Settings
from core.engine.budget import Limits
from simulator import BucketSpec, ThrottleSpec

MILLION = 1_000_000
FLOOR_COUNT = 100  # each floor operation timed this many times, after the run, against its Azurite
DEFAULTS = Settings.__dataclass_fields__  # the app's defaults, for the settings raised a million-fold


def _default(name: str) -> int:
    return int(DEFAULTS[name].default)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Scenario:
    """A `bench.scale` run: its arguments, the simulator's throttling and the app settings it runs with."""

    name: str
    says: str
    builds: int
    argv: tuple[str, ...]
    throttling: ThrottleSpec | bool
    settings: Mapping[str, str] = field(default_factory=dict)


HUGE = ThrottleSpec(reads=BucketSpec(250 * MILLION, 25 * MILLION), writes=BucketSpec(200 * MILLION, 10 * MILLION),
                    compute_reads=(4000 * MILLION, 32000 * MILLION), compute_writes=(375 * MILLION, 1200 * MILLION))
RAISED = {setting: str(_default(name) * MILLION) for setting, name in (
    ("ARM_READ_BUCKET", "arm_read_bucket"), ("ARM_READS_PER_SECOND", "arm_reads_per_second"),
    ("ARM_WRITE_BUCKET", "arm_write_bucket"), ("ARM_WRITES_PER_SECOND", "arm_writes_per_second"))}
SCENARIO_LIST = (
    Scenario("off", "budget off (ARM_BUDGET_PERCENT 0), replication instant, no throttling", 200,
             ("--instant",), False, {"ARM_BUDGET_PERCENT": "0"}),
    Scenario("free", "budget on, not binding: the app's share at its default "
             f"({_default('arm_budget_percent')} %) of ARM's buckets, both raised a million-fold in the simulator "
             "and in the app's settings (every budget path runs, no step ever waits for tokens); replication "
             "instant", 200, ("--instant",), HUGE, {"ARM_BUDGET_PERCENT": str(_default("arm_budget_percent")),
                                                      **RAISED}),
    Scenario("binding", "budget binding: ARM's read bucket (250, 25/s) in the simulator, the app's share 100 % "
             "(ARM_BUDGET_PERCENT 100), replication 20-60 s", 300, ("--replication", "20", "60"), True,
             {"ARM_BUDGET_PERCENT": "100"}),
    Scenario("default", "the default share (ARM_BUDGET_PERCENT unset), ARM's throttling on, replication 20-60 s",
             1000, ("--replication", "20", "60"), True),
)
BY_NAME = {s.name: s for s in SCENARIO_LIST}


def floor(finished: scale.Finished) -> dict[str, Any]:
    """A safe step's storage round trips (`op_cost.STEP_FLOOR`) timed against the run's own Azurite."""
    costs = op_cost.storage_costs(finished.env, FLOOR_COUNT)
    return {"operations_ms_cpu_wall": {name: costs[name] for name in op_cost.STEP_FLOOR},
            "cpu_ms_per_step": round(sum(costs[name][0] for name in op_cost.STEP_FLOOR), 2),
            "wall_ms_per_step": round(sum(costs[name][1] for name in op_cost.STEP_FLOOR), 2)}


def budget_figures(finished: scale.Finished) -> dict[str, Any]:
    """The app's share from its settings, and ARM's reads while work waited for the budget throughout."""
    settings, offset = finished.settings, finished.started_wall - finished.started
    waits = [(at - offset, wait) for stats in finished.worker_stats for at, wait in stats.get("budget_waits", [])]
    reads = [r.at for r in finished.stack.simulator.requests if r.method in ("GET", "HEAD") and r.status != 429]
    windows, rate = read_rate_while_waiting(reads, waits, finished.started, finished.ended)
    return {"arm_reads_per_second": settings.arm_reads_per_second,
            "app_bucket_reads_per_second": round(Limits.from_settings(settings).read_rate, 2),
            "budget_row_contended": sum(stats.get("budget_row_contended", 0) for stats in finished.worker_stats),
            "share_reads_per_second": settings.arm_reads_per_second * settings.arm_budget_percent / 100,
            "budget_waits": len(waits), "waiting_windows": windows,
            "reads_per_s_while_waiting": round(rate, 2) if windows else None}


def run_scenario(scenario: Scenario, builds: int, workers: int, timeout: float) -> dict[str, Any]:
    """`bench.scale`'s figures for the scenario, with the budget's figures and (budget off) the step floor."""
    args = scale.parser().parse_args([*scenario.argv, "--builds", str(builds), "--workers", str(workers),
                                      "--timeout", str(timeout)])
    after: dict[str, Callable[[scale.Finished], Any]] = {"budget": budget_figures}
    if scenario.name == "off":
        after["floor"] = floor
    print(f"== {scenario.name}: {scenario.says}; {builds} builds, {workers} workers", file=sys.stderr, flush=True)
    return scale.run(args, throttling=scenario.throttling, settings=scenario.settings, after=after)


def target_figures(figures: Mapping[str, Any], off: Mapping[str, Any] | None) -> dict[str, Any]:
    """The figures the targets name (`TARGETS`), from a run's figures (and the budget-off run's, if any)."""
    deferred, fraction = deferrals(figures["step_outcomes"])
    found = {key: figures[key] for key in ("step_messages_per_s", "worker_process_cpu_ms_per_step",
                                           "worker_cpu_ms_per_step", "storage_ops_per_build", "http_429",
                                           "arm_reads_per_s_peak_any_10s", "completed_to_succeeded_p50_s")}
    found.update(figures["budget"], deferrals=deferred, deferral_fraction=round(fraction, 3),
                 builds_not_succeeded=figures["builds"] - figures["statuses"].get("Succeeded", 0))
    if "floor" in figures:
        cpu = figures["floor"]["cpu_ms_per_step"]
        cores = min(figures["workers"], os.cpu_count() or 1)
        # What the workers could pass if every step cost only its floor's CPU, on the cores they can use.
        found.update(floor_cpu_ms_per_step=cpu, floor_wall_ms_per_step=figures["floor"]["wall_ms_per_step"],
                     step_messages_per_s_at_floor=round(cores * 1000 / cpu, 1) if cpu else None)
    if off is not None:
        found["off_storage_ops_per_build"] = off["storage_ops_per_build"]
    return found


def run_all(names: list[str], builds: int | None, workers: int, timeout: float) -> dict[str, Any]:
    """Every scenario named (`free` needs `off`: run first if not named), with its target figures and verdicts."""
    wanted = ["off", *names] if "free" in names and "off" not in names else names
    results: dict[str, Any] = {}
    verdicts: list[Verdict] = []
    for name in wanted:
        scenario = BY_NAME[name]
        count = builds if builds is not None else scenario.builds
        figures = run_scenario(scenario, count, workers, timeout)
        off = results["off"]["figures"] if name == "free" else None
        found = target_figures(figures, off)
        ran = evaluate(name, found, count)
        verdicts.extend(ran)
        results[name] = {"says": scenario.says, "figures": figures, "target_figures": found,
                         "targets": [v.to_dict() for v in ran]}
    succeeded = all(set(r["figures"]["statuses"]) == {"Succeeded"} for r in results.values())
    return {"scenarios": results, "targets": [v.to_dict() for v in verdicts], "all_succeeded": succeeded}


def _number(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.3g}" if isinstance(value, float) and abs(value) < 1 else f"{value:,.1f}".rstrip("0").rstrip(".")


def print_scenario(name: str, result: Mapping[str, Any]) -> None:
    f, t = result["figures"], result["target_figures"]
    print(f"\n== {name}: {result['says']}")
    print(f"builds {f['builds']}, workers {f['workers']}, elapsed {f['elapsed_s']} s, statuses {f['statuses']}")
    print(f"step messages {f['step_messages']} ({f['step_messages_per_s']}/s); deferred (budget-wait) "
          f"{t['deferrals']} ({100 * t['deferral_fraction']:.1f} %); outcomes {f['step_outcomes']}")
    print(f"worker CPU per step: process {f['worker_process_cpu_ms_per_step']} ms, inside steps "
          f"{f['worker_cpu_ms_per_step']} ms")
    print(f"storage ops per step {f['storage_ops_per_step']} in steps / {f['storage_ops_total_per_step']} in all; "
          f"per build {f['storage_ops_in_steps_per_build']} / {f['storage_ops_per_build']}")
    print("storage ops per step kind (steps; per step: CPU ms, ARM requests, storage ops by kind):")
    for kind, row in f["per_step_kind"].items():
        print(f"  {kind:<36} {row['steps']:>6}  {row['cpu_ms']:>5} ms  ARM {row['arm']:<5} storage {row['storage']:<5}"
              f" {row['storage_ops']}")
    share = (f"the app's share {t['share_reads_per_second']} of {t['arm_reads_per_second']}/s, its bucket refilled "
             f"{t['app_bucket_reads_per_second']}/s to keep every 10 s within it") if t["share_reads_per_second"] \
        else "the budget off"
    print(f"ARM reads/s mean {f['arm_reads_per_s_mean']}, peak any 10 s {f['arm_reads_per_s_peak_any_10s']} "
          f"({share}); 429s {f['http_429']}")
    print(f"budget waits {t['budget_waits']}; steps deferred as the budget's row stayed too contended to write "
          f"{t['budget_row_contended']}; 10 s windows in which work waited throughout {t['waiting_windows']}, "
          f"reads/s over them {t['reads_per_s_while_waiting']}")
    print(f"Completed->Succeeded p50 {f['completed_to_succeeded_p50_s']} s, p95 {f['completed_to_succeeded_p95_s']} s")
    if "floor" in f:
        ops = ", ".join(f"{n} {c} / {w}" for n, (c, w) in f["floor"]["operations_ms_cpu_wall"].items())
        print(f"floor (a safe step's 4 storage round trips, CPU / wall ms, same Azurite): {ops}; "
              f"sum {t['floor_cpu_ms_per_step']} ms CPU, {t['floor_wall_ms_per_step']} ms wall")


def print_targets(targets: list[dict[str, Any]]) -> None:
    print("\n== targets (ratio: figure / floor or reference)")
    print(f"{'scenario':<8}  {'target':<50}  {'figure':>9}  {'floor/ref':>9}  {'ratio':>6}  {'target':<14}  verdict")
    for v in targets:
        wanted = f"{v['comparator']} {_number(v['threshold'])} {v['unit']}"
        print(f"{v['scenario']:<8}  {v['target']:<50}  {_number(v['figure']):>9}  {_number(v['floor']):>9}  "
              f"{_number(v['ratio']):>6}  {wanted:<14}  {'MET' if v['met'] else 'NOT MET'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.targets", description=__doc__.splitlines()[0])
    says = "; ".join(f"{s.name}: {s.says}" for s in SCENARIO_LIST).replace("%", "%%")  # argparse formats help
    parser.add_argument("--budget", choices=(*SCENARIOS, "all"), required=True,
                        help=f"which scenario's targets: {says}")
    parser.add_argument("--builds", type=int, help="builds of every scenario run (default: the scenario's own)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600, help="stop a scenario's workers after this long")
    parser.add_argument("--json", action="store_true", help="print the figures and verdicts as one JSON object")
    parser.add_argument("--save", metavar="FILE", help="write that JSON object to FILE too")
    args = parser.parse_args(argv)
    names = list(SCENARIOS) if args.budget == "all" else [args.budget]
    report = {"budget": args.budget, **run_all(names, args.builds, args.workers, args.timeout)}
    if args.save:
        Path(args.save).write_text(json.dumps(report, indent=1))
    if args.json:
        print(json.dumps(report))
    else:
        for name, result in report["scenarios"].items():
            print_scenario(name, result)
        print_targets(report["targets"])
    return 0 if report["all_succeeded"] else 1


if __name__ == "__main__":
    sys.exit(main())
