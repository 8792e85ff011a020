"""Where a worker's step time goes, from `bench.scale --profile FILE`: self time by library, and the top calls.

Run: .venv/bin/python -m bench.profile_report FILE
"""

from __future__ import annotations

import pstats
import sys

GROUPS = (
    ("waiting on sockets (storage, ARM)", ("_ssl", "socket", "select", "selectors", "'acquire' of '_thread.lock'")),
    ("TLS", ("ssl.py",)),
    ("HTTP (requests, urllib3, http.client)", ("requests/", "urllib3/", "http/client", "email/")),
    ("azure-core pipeline", ("azure/core/",)),
    ("Tables SDK", ("azure/data/tables",)),
    ("Queue SDK", ("azure/storage/queue",)),
    ("Compute SDK models and serialisation", ("azure/mgmt/", "msrest", "isodate")),
    ("identity", ("azure/identity", "msal")),
    ("json", ("json/",)),
    ("the app (core/)", ("/core/",)),
    ("logging", ("logging/",)),
)


def group_of(file: str, function: str) -> str:
    where = f"{file}:{function}"
    for name, needles in GROUPS:
        if any(needle in where for needle in needles):
            return name
    return "other"


def main(path: str) -> None:
    stats = pstats.Stats(path)
    totals: dict[str, float] = {}
    for (file, _line, function), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = group_of(file, function)
        totals[key] = totals.get(key, 0.0) + tottime
    whole = sum(totals.values())
    print(f"profiled step time: {whole:.1f} s")
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {100 * seconds / whole:5.1f} %  {seconds:6.1f} s  {name}")
    stats.sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main(sys.argv[1])
