"""N builds through K worker processes against the ARM simulator with ARM's throttling switched on.

Run:  .venv/bin/python -m bench.scale                        # 100 builds, 2 workers, replication 20-60 s
      .venv/bin/python -m bench.scale --builds 1000 --workers 3
      .venv/bin/python -m bench.scale --instant --builds 200   # throughput: replication instant, no throttling
      .venv/bin/python -m bench.scale --chaos 0.1 --kill-every 30  # lost and slow PUT answers, killed workers

Every build is the seed's first CLI example with its own version number, put on the request queue as a
user would; the workers are `python -m core worker --until-idle` processes (wrapped by
`bench.counted_worker` to count steps, CPU and storage operations). Prints builds/s, step messages/s,
ARM reads/s (mean, and the peak of every 10 s window), 429s, identity requests, re-drives, storage
operations per step, and the latency from "replication Completed" (the simulator's clock) to
"build Succeeded" (the build's history), p50 and p95.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.workers import Workers, process_cpu_seconds
from core.app.runtime import record_store
from core.azure.settings import Settings
from core.azure.storage import queue_service, send_message, table_service
from core.base.timestamps import parse_iso
from core.builds.admission import build_id_for
from core.engine.store import RecordStore
from core.request import parse_request
from devstack.azurite import PROJECT_ROOT
from devstack.stack import LocalStack
from simulator import Fault, ThrottleSpec

EXAMPLE = PROJECT_ROOT / "examples" / "seed-cli-managed-image.json"
WINDOW_SECONDS = 10
SLOW_ANSWER_TIMEOUT = 3  # ARM_READ_TIMEOUT_SECONDS under --chaos; a slow answer takes 2 s more


def requests_for(count: int) -> list[dict[str, Any]]:
    base = json.loads(EXAMPLE.read_text())
    return [{**base, "version": f"{5 + n // 10000}.{(n // 100) % 100}.{n % 100}"} for n in range(count)]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def windows(moments: list[float], start: float, end: float) -> list[int]:
    counts = [0] * max(1, int((end - start) // WINDOW_SECONDS) + 1)
    for moment in moments:
        if start <= moment <= end:
            counts[int((moment - start) // WINDOW_SECONDS)] += 1
    return counts


def operation(request: Any) -> str:
    """A request's method and the type of resource it names: `GET diskEncryptionSets`."""
    return f"{request.method} {request.path.rstrip('/').rsplit('/', 2)[-2]}"


def inject_chaos(sim: Any, builds: list[dict[str, Any]], ids: list[str], fraction: float) -> dict[str, str]:
    """For `fraction` of the builds, one fault on the version's PUT, after the simulator has acted on it:
    the connection reset (the answer lost) or the answer held beyond the app's read timeout, in turn.
    Returns the fault given to each build, by build ID."""
    if not fraction:
        return {}
    every = max(1, round(1 / fraction))
    faulted: dict[str, str] = {}
    for n, (body, build_id) in enumerate(zip(builds, ids, strict=True)):
        if n % every:
            continue
        path = rf"/versions/{re.escape(body['version'])}$"
        if len(faulted) % 2 == 0:
            sim.inject(Fault(method="PUT", path_regex=path, reset_connection=True, after_acting=True))
            faulted[build_id] = "reset after acting"
        else:
            sim.inject(Fault(method="PUT", path_regex=path, delay_seconds=SLOW_ANSWER_TIMEOUT + 2, after_acting=True))
            faulted[build_id] = "slow answer"
    return faulted


def chaos_figures(store: RecordStore, faulted: dict[str, str], killed: int) -> dict[str, Any]:
    """How the builds given a lost or slow PUT answer ended, and how many workers were killed."""
    ended: collections.Counter[str] = collections.Counter()
    for build_id, fault in faulted.items():
        loaded = store.get(build_id)
        ended[f"{fault}: {loaded[0].status if loaded else 'missing'}"] += 1
    # A killed worker writes no figures: step counts and CPU above are of the workers that stopped by themselves.
    return {"faulted_puts": len(faulted), "ended": dict(sorted(ended.items())), "workers_killed": killed}


@dataclass(frozen=True)
class Finished:
    """A run whose workers have stopped, for `run`'s `after` measurements: the stack still runs."""

    stack: LocalStack
    env: dict[str, str]
    settings: Settings
    worker_stats: list[dict[str, Any]]
    started: float  # time.monotonic() when the workers started
    ended: float
    started_wall: float  # time.time() at `started`


def run(
    args: argparse.Namespace, *, throttling: ThrottleSpec | bool | None = None, settings: Mapping[str, str] = {},
    after: Mapping[str, Callable[[Finished], Any]] = {},
) -> dict[str, Any]:  # fmt: skip
    """Run the builds of `args` (see `main`) and return the figures. `throttling`: the simulator's (None: ARM's
    buckets, none with `--instant`); `settings`: app settings for the workers, over `args.setting`; each of
    `after` measures something once the workers have stopped, into the figure of its name."""
    options: dict[str, Any] = {"feature_registration_seconds": 1.0, "provider_registration_seconds": 0.5}
    if args.instant:
        options.update(replication_seconds=0.0)
    else:
        options.update(replication_range=(args.replication[0], args.replication[1]))
    options["throttling"] = (not args.instant) if throttling is None else throttling
    with LocalStack(**options) as stack, tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        sim = stack.simulator
        overrides = {"BENCH_QUEUE_PORT": str(stack.azurite.queue_port), **dict(args.setting), **settings}
        if args.chaos:  # a slow answer must outlast the app's read timeout
            overrides.setdefault("ARM_READ_TIMEOUT_SECONDS", str(SLOW_ANSWER_TIMEOUT))
        if args.instant:  # ARM unthrottled: the app's own budget is off too, to measure the steps alone
            overrides.setdefault("POLL_INITIAL_SECONDS", "1")
            overrides.setdefault("ARM_BUDGET_PERCENT", "0")
        env = stack.env(**overrides)
        settings = Settings.from_env(env)
        queues, tables = queue_service(env), table_service(env)
        store = record_store(tables)
        store.ensure_table()
        request_queue = queues.get_queue_client(settings.request_queue)
        builds = requests_for(args.builds)
        ids = [build_id_for(parse_request(b).resource_id) for b in builds]
        for body in builds:
            send_message(request_queue, json.dumps(body))
        faulted = inject_chaos(sim, builds, ids, args.chaos)
        print(f"{len(builds)} requests queued; starting {args.workers} worker(s)", file=sys.stderr, flush=True)
        tokens_before = sim.tokens_issued
        started_wall, started = time.time(), time.monotonic()
        azurite_pid = stack.azurite.pid or 0
        cpu_before = (time.process_time(), process_cpu_seconds(azurite_pid))
        profile = {"BENCH_PROFILE_FILE": args.profile, "BENCH_PROFILE_CLOCK": args.profile_clock}
        pool = Workers(env, Path(tmp), profile if args.profile else {})
        for _ in range(args.workers):
            pool.start()
        pool.wait(timeout=args.timeout, kill_every=args.kill_every, busy=lambda: bool(store.in_flight()))
        ended = time.monotonic()
        cpu = {"bench_and_simulator": time.process_time() - cpu_before[0],
               "azurite": process_cpu_seconds(azurite_pid) - cpu_before[1]}
        worker_stats = pool.stats()
        figures = summarise(args, sim, store, ids, worker_stats, started, ended, started_wall, tokens_before)
        if args.trace:
            traces = [line for p in pool.stats_files if Path(f"{p}.trace").exists()
                      for line in Path(f"{p}.trace").read_text().splitlines()]  # fmt: skip
            Path(args.trace).write_text(json.dumps({"busiest_from": figures["busiest_10s"]["from_s"] + started_wall,
                                                    "busiest_versions": figures.pop("_busiest_versions"),
                                                    "decisions": [json.loads(t) for t in traces]}))  # fmt: skip
        figures.pop("_busiest_versions", None)
        figures["chaos"] = chaos_figures(store, faulted, pool.killed)
        cpu["workers"] = sum(s["process_cpu_seconds"] for s in worker_stats)
        steps = max(1, figures["step_messages"])
        figures["worker_process_cpu_ms_per_step"] = round(1000 * cpu["workers"] / steps, 1)
        figures["cpu_share_of_one_core"] = {name: round(s / (ended - started), 2) for name, s in cpu.items()}
        finished = Finished(stack, env, settings, worker_stats, started, ended, started_wall)
        figures.update({name: measure(finished) for name, measure in after.items()})
        return figures


def summarise(
    args: argparse.Namespace, sim: Any, store: RecordStore, ids: list[str], worker_stats: list[dict[str, Any]],
    started: float, ended: float, started_wall: float, tokens_before: int,
) -> dict[str, Any]:  # fmt: skip
    elapsed = ended - started
    statuses: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    last_ended = 0.0  # when the last build reached its end (a killed worker's messages reappear only later)
    offset = started_wall - started  # wall clock = monotonic + offset
    for build_id in ids:
        loaded = store.get(build_id)
        if loaded is None:
            statuses["missing"] += 1
            continue
        state = loaded[0]
        statuses[str(state.status)] += 1
        if state.status.terminal and (updated := parse_iso(state.updated_at)) is not None:
            last_ended = max(last_ended, updated.timestamp() - started_wall)
        done_at = sim.replication_done_at(state.resource_id)
        succeeded = next((h for h in reversed(store.history(build_id)) if h.kind == "Succeeded"), None)
        if done_at is not None and succeeded is not None:
            moment = parse_iso(succeeded.at)
            assert moment is not None
            latencies.append(moment.timestamp() - (done_at + offset))
    recorded = [r for r in sim.requests if started <= r.at <= ended]
    reads = [r.at for r in recorded if r.method in ("GET", "HEAD")]
    per_window = [n / WINDOW_SECONDS for n in windows(reads, started, ended)]
    in_busiest, busiest_start = sim.busiest_reads(WINDOW_SECONDS, since=started)
    offsets = sorted(o for s in worker_stats for o in s.get("reserved_start_offsets", []))
    last_calls = sorted(o for s in worker_stats for o in s.get("last_arm_call_after_start", []))
    steps = sum(s["steps"] for s in worker_stats)
    storage_total = sum(sum(s["storage"].values()) for s in worker_stats)
    step_storage = sum(s["step_storage"] for s in worker_stats)
    puts = collections.Counter(r.path for r in recorded if r.method == "PUT" and "/versions/" in r.path)
    return {
        "builds": len(ids),
        "workers": args.workers,
        "elapsed_s": round(elapsed, 1),
        "statuses": dict(statuses),
        "last_build_ended_s": round(last_ended, 1),
        "builds_per_s": round(statuses.get("Succeeded", 0) / elapsed, 2),
        "step_messages": steps,
        "step_messages_per_s": round(steps / elapsed, 1),
        "step_messages_per_s_per_worker": round(steps / elapsed / max(1, args.workers), 1),
        "worker_cpu_ms_per_step": round(1000 * sum(s["step_cpu_seconds"] for s in worker_stats) / max(1, steps), 1),
        "worker_wall_ms_per_step": round(1000 * sum(s["step_wall_seconds"] for s in worker_stats) / max(1, steps), 1),
        "steps_in_flight_mean": round(sum(s["step_wall_seconds"] for s in worker_stats) / elapsed, 1),
        "arm_requests": len(recorded),
        "arm_requests_per_build": round(len(recorded) / max(1, len(ids)), 1),
        "arm_reads_per_s_mean": round(len(reads) / elapsed, 1),
        "arm_reads_per_s_peak_10s": round(max(per_window), 1),
        "arm_reads_per_s_peak_any_10s": round(len(in_busiest) / WINDOW_SECONDS, 1),
        "_busiest_versions": sorted({r.path.rsplit("/", 1)[-1] for r in in_busiest if "/versions/" in r.path}),
        "busiest_10s": {"from_s": round(busiest_start - started, 1),
                        "reads": dict(collections.Counter(operation(r) for r in in_busiest).most_common())},
        # When deferred steps started, against their reserved slot (seconds; negative: early).
        "reserved_start_offset_s": {"steps": len(offsets), "min": round(percentile(offsets, 0.0), 2),
                                    "p5": round(percentile(offsets, 0.05), 2),
                                    "p50": round(percentile(offsets, 0.5), 2),
                                    "max": round(percentile(offsets, 1.0), 2)},
        # How long after a step began its last ARM request started (the budget allows 2 s).
        "last_arm_call_after_step_start_s": {"steps": len(last_calls), "p50": round(percentile(last_calls, 0.5), 2),
                                             "p99": round(percentile(last_calls, 0.99), 2),
                                             "max": round(percentile(last_calls, 1.0), 2),
                                             "over_2s": sum(1 for o in last_calls if o > 2.0)},
        "http_429": sum(1 for r in recorded if r.status == 429),
        "http_429_by_operation": dict(collections.Counter(operation(r) for r in recorded if r.status == 429)),
        "puts_per_build_max": max(puts.values(), default=0),
        # The fewest calls each of Compute's policies had left (of its capacity): the app keeps half of each.
        "compute_policy_lowest": dict(sorted(sim.throttling.lowest.items())) if sim.throttling else {},
        "identity_requests": sim.tokens_issued - tokens_before,
        "redrives": sum(s["redriven"] for s in worker_stats),
        "storage_ops_per_step": round(step_storage / max(1, steps), 2),
        "storage_ops_total_per_step": round(storage_total / max(1, steps), 2),
        "storage_ops_per_build": round(storage_total / max(1, len(ids)), 1),
        "storage_ops_in_steps_per_build": round(step_storage / max(1, len(ids)), 1),
        "step_outcomes": dict(sum((collections.Counter(s["outcomes"]) for s in worker_stats), collections.Counter())),
        "storage_by_kind": dict(sum((collections.Counter(s["storage"]) for s in worker_stats), collections.Counter())),
        "per_step_kind": per_step_kind(worker_stats),
        "completed_to_succeeded_p50_s": round(percentile(latencies, 0.5), 1),
        "completed_to_succeeded_p95_s": round(percentile(latencies, 0.95), 1),
    }


def per_step_kind(worker_stats: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By the status a step ran in: how many, worker CPU, ARM requests and storage operations per step."""
    merged: dict[str, dict[str, Any]] = {}
    for worker in worker_stats:
        for kind, figures in worker["by_kind"].items():
            into = merged.setdefault(kind, {"steps": 0, "cpu_seconds": 0.0, "arm": 0, "storage": collections.Counter()})
            into["steps"] += figures["steps"]
            into["cpu_seconds"] += figures["cpu_seconds"]
            into["arm"] += figures["arm"]
            into["storage"].update(figures["storage"])
    result = {}
    for kind, figures in sorted(merged.items(), key=lambda item: -item[1]["steps"]):
        steps = max(1, figures["steps"])
        result[kind] = {
            "steps": figures["steps"],
            "cpu_ms": round(1000 * figures["cpu_seconds"] / steps, 1),
            "arm": round(figures["arm"] / steps, 2),
            "storage": round(sum(figures["storage"].values()) / steps, 2),
            "storage_ops": {op: round(n / steps, 2) for op, n in sorted(figures["storage"].items())},
        }
    return result


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m bench.scale`; `parser().parse_args([...])` gives `run` its arguments."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replication", type=float, nargs=2, default=(20.0, 60.0), metavar=("MIN", "MAX"),
                        help="replication time of each version, drawn uniformly (seconds)")
    parser.add_argument("--instant", action="store_true", help="replication instant and no throttling (throughput)")
    parser.add_argument("--timeout", type=float, default=1800, help="stop the workers after this many seconds")
    parser.add_argument("--setting", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="an app setting for the workers, e.g. --setting POLL_INITIAL_SECONDS 7")
    parser.add_argument("--chaos", type=float, default=0.0, metavar="FRACTION",
                        help="lose or delay the PUT answer of this fraction of the builds, after ARM acted (e.g. 0.1)")
    parser.add_argument("--kill-every", type=float, metavar="SECONDS",
                        help="SIGKILL one worker every SECONDS and start another in its place; 15 or more (a worker "
                             "killed sooner than its start and one step never finishes a step)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--trace", metavar="FILE",
                        help="write every budget decision of the workers, and the busiest window, to FILE (JSON)")
    parser.add_argument("--profile", metavar="FILE",
                        help="profile the first worker's steps (every thread), pstats to FILE")
    parser.add_argument("--profile-clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: profile each thread's CPU time (no socket or GIL waits); wall: elapsed time")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    figures = run(args)
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            if key == "per_step_kind":
                print(f"{key:<{width}}  (per step: worker CPU ms, ARM requests, storage operations)")
                for kind, row in value.items():
                    print(f"  {kind:<{width - 2}}  {row}")
            else:
                print(f"{key:<{width}}  {value}")
    return 0 if set(figures["statuses"]) == {"Succeeded"} else 1


if __name__ == "__main__":
    sys.exit(main())
