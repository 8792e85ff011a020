"""``python -m simulator --world FILE [--port N] [--replication-seconds S]``: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import threading
from pathlib import Path

from .simulator import Simulator
from .world_reader import WorldError

SEED = Path(__file__).parent / "worlds" / "seed.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="A local HTTPS Azure Resource Manager.")
    parser.add_argument("--world", default=str(SEED), help="world JSON file (default: the seed article's world)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="ARM port (default: a free one)")
    parser.add_argument("--replication-seconds", type=float, default=2.0, help="seconds per region replication")
    parser.add_argument("--feature-registration-seconds", type=float, default=1.0)
    parser.add_argument("--provider-registration-seconds", type=float, default=0.5)
    parser.add_argument("--snapshot-seconds", type=float, default=None,
                        help="allow snapshot PUTs, each Creating for this long (default: snapshots are read-only)")
    parser.add_argument("--throttling", action="store_true",
                        help="ARM's token buckets (reads 250 + 25/s, writes 200 + 10/s per subscription and principal)")
    args = parser.parse_args(argv)
    try:
        sim = Simulator(
            args.world,
            replication_seconds=args.replication_seconds,
            feature_registration_seconds=args.feature_registration_seconds,
            provider_registration_seconds=args.provider_registration_seconds,
            host=args.host,
            port=args.port,
            snapshot_seconds=args.snapshot_seconds,
            throttling=args.throttling,
        )
    except WorldError as exc:
        print(exc, file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with sim:
        print(f"ARM simulator listening on {sim.endpoint}")
        print(f"CA file: {sim.ca_file}")
        print(f"Admin: {sim.endpoint}/_simulator/requests")
        for name, value in sim.env().items():
            print(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
