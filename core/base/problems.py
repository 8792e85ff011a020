"""The one kind of problem list every parser reports (requests, events, tags, templates, policy, settings).

A ``Problem`` names the field (a JSON path, a setting, a tag) and says what is wrong and how to fix it.
A ``ProblemList`` collects them with two bounds, so that no input can make the list itself a problem:
at most ``MAX_PROBLEMS`` entries (then one summary line), and every echoed value clipped
(``clip``), because a rejected build stores its problems in a Table row of limited size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MAX_PROBLEMS = 20
MAX_MESSAGE_CHARS = 600
MAX_FIELD_CHARS = 160
MAX_ECHO_CHARS = 300


def clip(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``value`` as text to quote back to a person: at most ``limit`` characters, control characters and
    lone surrogates shown escaped (they cannot be printed, logged or stored as UTF-8)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + f"...({len(text)} characters)"
    return "".join(ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: ``field`` is where (``targetRegions[1].name``), ``message`` the fix."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ProblemList:
    """Problems in input order, bounded in count and size."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, field: str, message: str) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.dropped += 1
            return
        field_text = clip(field, MAX_FIELD_CHARS) if field else "(input)"
        self.items.append(Problem(field_text, clip(message, MAX_MESSAGE_CHARS)))

    def extend(self, problems: list[Problem]) -> None:
        for problem in problems:
            self.add(problem.field, problem.message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items) + self.dropped

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.final())

    def final(self) -> list[Problem]:
        """The problems to report, with one closing line when some were left out."""
        if not self.dropped:
            return list(self.items)
        return [*self.items, Problem("(more)", f"{self.dropped} more problem(s) not listed; fix these first")]
