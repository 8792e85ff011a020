"""JSON from outside (queue messages, request files, templates, the policy file, webhook bodies), decoded safely.

``json.loads`` alone lets through, or crashes on, what this app cannot use: nesting deep enough to raise
RecursionError, integers long enough to hit Python's digit limit (whose message advises calling
``sys.set_int_max_str_digits()``), lone UTF-16 surrogates that cannot be encoded to send or store,
NaN/Infinity, and duplicate keys (the last silently wins). ``decode`` never raises: it returns what it
could read plus the problems, each naming ``where``, so a caller can still identify (and record) a
request that is otherwise unusable. ``load`` raises ``JsonInvalid`` when there is any problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.base.problems import Problem, ProblemList

MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 30
REPLACEMENT = "\ufffd"


class OversizedNumber:
    """Stands in for a number too long to use; parsers see a value that is not an int and say so."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"a number of {self.digits} digits"


class JsonInvalid(ValueError):
    """Input that is not usable JSON; ``problems`` say why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass
class Decoded:
    value: Any = None
    problems: list[Problem] = field(default_factory=list)
    complete: bool = True  # False: the text is not JSON at all and ``value`` is None


def _prune(text: str, limit: int) -> tuple[str, int]:
    """The text with every array or object nested deeper than ``limit`` replaced by ``null``, and the depth.

    A scan that knows strings and escapes, so brackets inside strings do not count. Malformed text is
    returned as it is (json.loads reports it).
    """
    depth = deepest = 0
    out: list[str] = []
    start = 0  # where the text still to copy begins
    cut_at = -1  # index where the container being dropped began
    in_string = escaped = False
    for index, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if depth == limit + 1:
                out.append(text[start:index])
                cut_at = index
        elif ch in "]}":
            if depth == limit + 1 and cut_at >= 0:
                out.append("null")
                start = index + 1
                cut_at = -1
            depth -= 1
    if deepest <= limit:
        return text, deepest
    out.append(text[start:] if cut_at < 0 else "null")
    return "".join(out), deepest


def _clean(value: Any, where: str, problems: ProblemList) -> Any:
    """Replace lone surrogates in every string and key (reporting each place), iteratively."""

    def fix(text: str, path: str) -> str:
        if not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
            return text
        problems.add(path, "contains a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), which is not "
                           "text; write the character itself or remove it")
        return "".join(REPLACEMENT if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)

    root: list[Any] = [value]
    stack: list[tuple[Any, Any, str]] = [(root, 0, where)]
    while stack:
        parent, key, path = stack.pop()
        item = parent[key]
        if isinstance(item, str):
            parent[key] = fix(item, path)
        elif isinstance(item, list):
            stack.extend((item, index, f"{path}[{index}]") for index in reversed(range(len(item))))
        elif isinstance(item, dict):
            children = []
            for name in list(item):
                child_path = f"{path}.{name}" if path else str(name)
                fixed = fix(name, child_path + " (the key)") if isinstance(name, str) else name
                if fixed != name:
                    item[fixed] = item.pop(name)
                children.append((item, fixed, child_path))
            stack.extend(reversed(children))
    return root[0]


def decode(text: str, where: str) -> Decoded:
    """Decode ``text``; never raises. Problems name ``where`` (or a path below it)."""
    problems = ProblemList()
    pruned, depth = _prune(text, MAX_DEPTH)
    if depth > MAX_DEPTH:
        problems.add(where, f"is nested {depth} levels deep; the limit is {MAX_DEPTH}")
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in items:
            if key in result:
                duplicates.append(key)
            result[key] = item
        return result

    def number(digits: str) -> int | OversizedNumber:
        if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
            problems.add(where, f"has a number of {len(digits.lstrip('-'))} digits; the limit is {MAX_NUMBER_DIGITS}")
            return OversizedNumber(len(digits.lstrip("-")))
        return int(digits)

    def constant(name: str) -> None:
        problems.add(where, f"has {name}, which is not JSON; write a number or a string")
        return None

    try:
        value = json.loads(pruned, object_pairs_hook=pairs, parse_int=number, parse_constant=constant)
    except json.JSONDecodeError as error:
        where_in_text = f"(line {error.lineno}, column {error.colno})" if depth <= MAX_DEPTH else \
            f"and is nested {depth} levels deep (the limit is {MAX_DEPTH})"
        syntax = f"is not valid JSON {where_in_text}; fix the syntax"
        return Decoded(None, [Problem(where, syntax)], complete=False)
    except (ValueError, RecursionError):
        return Decoded(None, [Problem(where, "is not valid JSON; fix the syntax")], complete=False)
    for key in dict.fromkeys(duplicates):
        problems.add(where, f"the key '{key}' appears twice in one object; keep one")
    return Decoded(_clean(value, "", problems), problems.final())


def load(text: str, where: str) -> Any:
    """The decoded value; ``JsonInvalid`` listing every problem if there is any."""
    decoded = decode(text, where)
    if decoded.problems:
        raise JsonInvalid(decoded.problems)
    return decoded.value


def dig(obj: object, *keys: str) -> Any:
    """``obj[k1][k2]...`` through nested dicts (REST JSON), or None where a level is missing or not a dict."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj
