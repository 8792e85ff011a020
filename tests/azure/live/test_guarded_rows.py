"""`GuardedRows` against Azurite: a row read with its ETag and written only if unchanged since; the table
created once per object, whatever the number of reads (the storage operation counts the bench reports)."""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from core.azure.storage import GuardedRows, table_service
from devstack.azurite import Azurite


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    with Azurite() as running:
        yield running


class Requests:
    """Counts the storage requests by method and path ('POST Tables' is a create_table). Not a Counter: the
    SDK calls a hook only when it is truthy, and an empty Counter is not."""

    def __init__(self) -> None:
        self.seen: collections.Counter[str] = collections.Counter()

    def __call__(self, response: Any) -> None:
        request = response.http_request
        path = request.url.split("?")[0].split("/", 4)[-1]
        self.seen[f"{request.method} {path.split('(')[0]}"] += 1


def _rows(azurite: Azurite, table: str, counted: Requests) -> GuardedRows:
    service = table_service({"AzureWebJobsStorage": azurite.connection_string}, raw_response_hook=counted)
    return GuardedRows(service.get_table_client(table))


def test_a_row_is_created_once_and_replaced_only_under_the_etag_it_was_read_with(azurite: Azurite):
    table, counted = f"rows{uuid.uuid4().hex[:12]}", Requests()
    rows = _rows(azurite, table, counted)
    assert rows.get("sub", "row") is None
    first = rows.put({"PartitionKey": "sub", "RowKey": "row", "N": 1}, None)
    assert first
    assert rows.put({"PartitionKey": "sub", "RowKey": "row", "N": 9}, None) is None  # someone created it first
    read = rows.get("sub", "row")
    assert read is not None and read["N"] == 1 and read.metadata["etag"] == first
    second = rows.put({"PartitionKey": "sub", "RowKey": "row", "N": 2}, first)
    assert second and second != first
    assert rows.put({"PartitionKey": "sub", "RowKey": "row", "N": 3}, first) is None  # written since `first`
    read = rows.get("sub", "row")
    assert read is not None and read["N"] == 2 and read.metadata["etag"] == second
    assert counted.seen["POST Tables"] == 1  # the first read created the table; no later read asks again


def test_each_object_creates_the_table_once_even_when_it_exists(azurite: Azurite):
    table, counted = f"rows{uuid.uuid4().hex[:12]}", Requests()
    for _ in range(2):
        rows = _rows(azurite, table, counted)
        for _ in range(3):
            assert rows.get("sub", "row") is None
    assert counted.seen["POST Tables"] == 2
    assert sum(counted.seen.values()) == 2 + 6  # nothing but the create and the reads
