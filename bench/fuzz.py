"""A longer fuzz run over requests (queue text and objects), Event Grid events, snapshot tags and templates.

Prints, per target: cases, crashes (an exception other than the documented one), hangs (a case over
HANG_SECONDS), accepted-but-wrong (the target's own check), and the first example of each.

Run: .venv/bin/python -m bench.fuzz [CASES_PER_TARGET]   (default 2000)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening import fuzz_targets as targets

HANG_SECONDS = 1.0

TARGETS: dict[str, tuple[Any, Callable[[Any], str | None]]] = {
    "request messages": (st.tuples(targets.requests(), st.sampled_from([0, 0, 40, 1000])),
                         lambda case: targets.check_request_text(targets.request_text(*case))),
    "request objects": (st.one_of(targets.requests(), targets.json_values), targets.check_request_object),
    "events": (targets.events, targets.check_event),
    "snapshot tags": (targets.tags, targets.check_tags),
    "templates": (targets.templates, targets.check_template),
}


def run(name: str, strategy: Any, check: Callable[[Any], str | None], cases: int) -> dict[str, Any]:
    counts: dict[str, Any] = {"cases": 0, "crashes": 0, "hangs": 0, "wrong": 0, "examples": []}

    @settings(max_examples=cases, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(case: Any) -> None:
        counts["cases"] += 1
        started = time.monotonic()
        try:
            wrong = check(case)
        except Exception as error:
            counts["crashes"] += 1
            counts["examples"].append(f"crash {type(error).__name__}: {str(error)[:200]} on {str(case)[:200]}")
            return
        if time.monotonic() - started > HANG_SECONDS:
            counts["hangs"] += 1
            counts["examples"].append(f"hang {time.monotonic() - started:.1f} s on {str(case)[:200]}")
        if wrong:
            counts["wrong"] += 1
            counts["examples"].append(f"wrong: {wrong[:300]}")

    one()
    return counts


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    started = time.monotonic()
    total = {"cases": 0, "crashes": 0, "hangs": 0, "wrong": 0}
    for name, (strategy, check) in TARGETS.items():
        counts = run(name, strategy, check, cases)
        for key in total:
            total[key] += counts[key]
        print(f"{name:18} cases {counts['cases']:6}  crashes {counts['crashes']:3}  hangs {counts['hangs']:3}  "
              f"accepted-but-wrong {counts['wrong']:3}")
        for example in counts["examples"][:3]:
            print(f"    {example}")
    print(f"{'total':18} cases {total['cases']:6}  crashes {total['crashes']:3}  hangs {total['hangs']:3}  "
          f"accepted-but-wrong {total['wrong']:3}  ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
