"""The JSON Schema of request format v1 (`schema.json` beside this module), for editors and the HTTP API.

The parser is the authority: the schema describes the same fields and shapes so that an editor can
complete and check a request file (``"$schema": "<path or URL of schema.json>"``), and
`tests/request/test_request_schema.py` keeps the two in agreement. Add a request field to both.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("schema.json")


@cache
def schema_text() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def request_schema() -> dict[str, Any]:
    """The schema as a fresh dict (callers may change their copy)."""
    return json.loads(schema_text())
