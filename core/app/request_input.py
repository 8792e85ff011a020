"""Reading a request (a file, stdin, an HTTP body) as decoded JSON, and reporting why it cannot be read."""

import sys
from typing import TextIO

from core.base import json_input
from core.builds.submissions import MAX_REQUEST_BYTES
from core.request import Problem, RequestInvalid

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class InputInvalid(RequestInvalid):
    """Input that cannot even be read as a JSON request; ``problems`` say why, field by field."""


class RequestTooLarge(ValueError):
    """A request of more than ``limit`` bytes (``size``): a queue message and a build's state row must hold it."""

    def __init__(self, size: int, limit: int = MAX_REQUEST_BYTES) -> None:
        super().__init__(f"the request is {size} bytes; the limit is {limit}")
        self.size = size
        self.limit = limit


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


def load_json(text: str, where: str) -> object:
    """Decode JSON safely (``core.base.json_input``): depth, number size, duplicate keys, NaN and surrogates."""
    try:
        return json_input.load(text, where)
    except json_input.JsonInvalid as invalid:
        raise InputInvalid(invalid.problems) from None


def load_request_bytes(data: bytes, where: str) -> object:
    """A request's bytes (a file, stdin, an HTTP body) as decoded JSON; InputInvalid when they cannot be."""
    return load_json(_decode(data, where), where)


def load_submitted_bytes(data: bytes, where: str) -> object:
    """A request to queue, as decoded JSON: RequestTooLarge beyond the size a build keeps, else as
    ``load_request_bytes``."""
    if len(data) > MAX_REQUEST_BYTES:
        raise RequestTooLarge(len(data))
    return load_request_bytes(data, where)


def read_request_source(path: str, stdin: TextIO | None = None) -> tuple[bytes, str]:
    """The bytes of a request file (``-`` = stdin) and how problems name it; InputInvalid when unreadable."""
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
    return data, where


def read_request_file(path: str, stdin: TextIO | None = None) -> object:
    """Read a request from ``path`` (``-`` = stdin) as decoded JSON; InputInvalid when it cannot be."""
    return load_request_bytes(*read_request_source(path, stdin))
