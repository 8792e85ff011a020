"""Worker CPU of each storage and ARM operation a step is made of, one at a time (the SDK's per-call floor):
a state read, a plain conditional update, the state with one history entry in its row (the store's write), a
transaction of the state and one history row (its write before), a queue send, a receive and delete, a delete
alone, an ARM GET. A step's CPU is about the sum of its operations. Storage operations are timed on the process
clock (Azurite is another process); the ARM GET on the calling thread's clock, since the simulator answering it
runs in this process.

Run: .venv/bin/python -m bench.op_cost [--count 200]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import UpdateMode

from core.app.runtime import record_store
from core.azure.arm_pool import ArmPool
from core.azure.settings import Settings
from core.azure.storage import queue_service, send_message, table_service
from core.base.timestamps import utc_iso
from core.builds.state import BuildState, BuildStatus
from core.engine.record import Decision, HistoryEntry
from devstack.azurite import PROJECT_ROOT
from devstack.stack import LocalStack

EXAMPLE_RESOURCE = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MyResourceGroup/providers/"
                    "Microsoft.Compute/galleries/MyGallery/images/MyImage/versions/1.0.0")


def cpu_ms(count: int, operation: Callable[[int], object], clock: Callable[[], float] = time.process_time) -> float:
    """Mean CPU per call. The process clock by default: a transaction prepares its parts on threads of its own."""
    return costs(count, operation, clock)[0]


def costs(count: int, operation: Callable[[int], object],
          clock: Callable[[], float] = time.process_time) -> tuple[float, float]:
    """Mean CPU and mean wall time per call, ms (one at a time, after one call not counted)."""
    operation(0)  # connections and clients made before the clock starts
    started, started_wall = clock(), time.perf_counter()
    for n in range(count):
        operation(n)
    return round(1000 * (clock() - started) / count, 2), round(1000 * (time.perf_counter() - started_wall) / count, 2)


# A safe step's storage round trips: read the state with its ETag, one conditional write, send the next
# message, delete this one (`bench.targets` sums them into a step's floor).
STEP_FLOOR = ("table GET (state read)", "table PATCH (plain conditional update)", "queue POST (send)",
              "queue DELETE (one received)")


def storage_costs(env: dict[str, str], count: int) -> dict[str, tuple[float, float]]:
    """Each storage operation's mean CPU and wall ms against the Azurite of `env` (`costs`), by name."""
    store = record_store(table_service(env))
    store.ensure_table()
    now = utc_iso(datetime.now(UTC))
    state = BuildState("b-op-cost", EXAMPLE_RESOURCE, BuildStatus.REPLICATING, now, now,
                       request=json.loads((PROJECT_ROOT / "examples" / "seed-cli-managed-image.json").read_text()))
    loaded = store.get(state.build_id)
    state, etag = loaded if loaded is not None else store.create(Decision(state))
    queue = queue_service(env).get_queue_client("op-cost")
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()
    held = {"etag": etag, "state": state}

    def update(_n: int) -> None:
        entity = store._columns(held["state"])
        held["etag"] = store.table.update_entity(entity, mode=UpdateMode.MERGE, etag=held["etag"],
                                                 match_condition=MatchConditions.IfNotModified)["etag"]

    def save(n: int) -> None:
        entry = HistoryEntry(at=now, kind="ReplicationProgress", status="Replicating", detail={"n": n})
        written, held["etag"] = store.save(Decision(held["state"], (entry,)), held["etag"])
        held["state"] = written

    def transaction(n: int) -> None:
        entity = store._columns(held["state"])
        row = {"PartitionKey": state.build_id, "RowKey": f"t-{n:08d}-{time.monotonic_ns()}", "At": now,
               "Kind": "ReplicationProgress", "Status": "Replicating", "Detail": json.dumps({"n": n})}
        update = ("update", entity, {"mode": UpdateMode.MERGE, "etag": held["etag"],
                                     "match_condition": MatchConditions.IfNotModified})
        held["etag"] = store.table.submit_transaction([update, ("create", row)])[0]["etag"]

    def receive_and_delete(_n: int) -> None:
        for message in queue.receive_messages(messages_per_page=1, max_messages=1):
            queue.delete_message(message)

    figures = {
        "table GET (state read)": costs(count, lambda _n: store.get(state.build_id)),
        "table PATCH (plain conditional update)": costs(count, update),
        "table PATCH (state + 1 history entry in its row, archives included)": costs(count, save),
        "table POST (transaction: state + 1 history row)": costs(count, transaction),
        "queue POST (send)": costs(count, lambda _n: send_message(queue, "{}")),
        "queue GET + DELETE (receive one, delete it)": costs(count, receive_and_delete),
    }
    for _ in range(count + 1):
        send_message(queue, "{}")
    received = []
    while len(received) < count + 1:
        received.extend(queue.receive_messages(messages_per_page=32, max_messages=count + 1, visibility_timeout=300))
    figures["queue DELETE (one received)"] = costs(count, lambda _n: queue.delete_message(received.pop()))
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.op_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args(argv)
    with LocalStack() as stack:
        env = stack.env()
        os.environ.update({k: env[k] for k in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")})  # the credential reads them
        figures = {name: cpu for name, (cpu, _wall) in storage_costs(env, args.count).items()}
        arm = ArmPool(Settings.from_env(env))(EXAMPLE_RESOURCE.split("/")[2])
        try:
            figures["ARM GET (an image definition, Compute SDK model)"] = cpu_ms(
                args.count, lambda _n: arm.compute.gallery_images.get("MyResourceGroup", "MyGallery", "MyImage"),
                time.thread_time)
        except Exception as exc:  # the figure is left out, saying why
            print(f"ARM GET not measured: {exc}")
    width = max(len(k) for k in figures)
    print(f"worker CPU per operation, ms (mean of {args.count}, one at a time):")
    for name, value in figures.items():
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
