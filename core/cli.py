"""`python -m core`: one subparser and one handler function per verb.

``plan REQUEST.json`` (or ``-`` for stdin) is offline: it validates a build request and prints one JSON
object ``{"resourceId": ..., "body": ...}``, the ARM PUT it would send; exit 0. Bad input exits 2 with
every problem on stderr, one ``field: message`` line each, and never a traceback.
"""

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from core.encryption import to_body
from core.request import Problem, RequestInvalid, parse_request

EXIT_OK = 0
EXIT_INVALID = 2

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class InputInvalid(Exception):
    """Input that cannot even be read as a JSON request; ``problems`` say why, field by field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def _decode(data: bytes, where: str) -> str:
    """UTF-8, or UTF-8/UTF-16 with a BOM (what Windows PowerShell's Out-File writes)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            data, chosen = data[len(bom):], encoding
            break
    else:
        chosen = "utf-8"
    try:
        return data.decode(chosen)
    except UnicodeDecodeError as error:
        raise InputInvalid([Problem(where, f"is not {chosen} text ({error.reason} at byte {error.start}); "
                                           "save it as UTF-8")]) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; write a number or a string")


def load_json(text: str, where: str) -> object:
    """Decode JSON, reporting duplicate keys and NaN/Infinity as problems (json.loads would accept them)."""
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict:
        result: dict = {}
        for key, value in items:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise InputInvalid([Problem(where, f"is not valid JSON: {error.msg} at line {error.lineno} column "
                                           f"{error.colno}; fix the syntax")]) from None
    except ValueError as error:
        raise InputInvalid([Problem(where, str(error))]) from None
    except RecursionError:
        raise InputInvalid([Problem(where, "is nested too deeply to be a request; check the brackets")]) from None
    if duplicates:
        raise InputInvalid([Problem(where, f"the key '{key}' appears twice in one object; keep one")
                            for key in dict.fromkeys(duplicates)])
    return value


def read_request_file(path: str, stdin: TextIO | None = None) -> object:
    """Read a request from ``path`` (``-`` = stdin) as decoded JSON; InputInvalid when it cannot be."""
    where = "request (stdin)" if path == "-" else f"request file '{path}'"
    try:
        if path == "-":
            stream = stdin or sys.stdin
            data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as error:
        raise InputInvalid([Problem(where, f"cannot be read ({error.strerror}); give a readable JSON file, "
                                           "or - for stdin")]) from None
    return load_json(_decode(data, where), where)


def _report(problems: list[Problem]) -> int:
    for problem in problems:
        print(str(problem).replace("\n", " "), file=sys.stderr)
    return EXIT_INVALID


def run_plan(args: argparse.Namespace) -> int:
    """Validate the request and print the image version's ID and the ARM PUT body."""
    try:
        request = parse_request(read_request_file(args.request))
    except (InputInvalid, RequestInvalid) as invalid:
        return _report(invalid.problems)
    plan = {"resourceId": request.resource_id, "body": to_body(request)}
    print(json.dumps(plan, indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The `python -m core` parser; each verb's subparser sets ``handler`` to its function."""
    parser = argparse.ArgumentParser(prog="python -m core",
                                     description="Publish CMK-encrypted Azure Compute Gallery image versions.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    plan = verbs.add_parser("plan", help="validate a build request offline and print the ARM PUT it would send",
                            description="Validate a build request (JSON, v1) offline and print "
                                        '{"resourceId": ..., "body": ...}. Exit 2 on invalid input.')
    plan.add_argument("request", metavar="REQUEST.json", help="the request file, or - to read stdin")
    plan.set_defaults(handler=run_plan)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; returns the process exit code (argparse usage errors exit 2 as well)."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
