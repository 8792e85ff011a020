"""Azurite is ready only when Azurite itself answers: not when a port merely accepts a connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from azure.storage.queue import QueueServiceClient

from devstack.azurite import Azurite, PortTaken, _serves


@pytest.fixture
def squatter() -> Iterator[int]:
    """A port on loopback held by something that accepts connections and answers nothing like Azurite."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def answer() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 200 OK\r\nServer: not-azurite\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


def test_a_port_that_answers_but_is_not_azurite_is_not_taken_for_azurite(squatter: int):
    assert not _serves(squatter, "Azurite-Queue")


def test_azurite_whose_queue_port_is_taken_starts_again_on_free_ports(squatter: int):
    azurite = Azurite()
    azurite.queue_port = squatter
    with azurite:
        assert azurite.queue_port != squatter
        assert _serves(azurite.queue_port, "Azurite-Queue") and _serves(azurite.table_port, "Azurite-Table")
        service = QueueServiceClient.from_connection_string(azurite.connection_string)
        service.create_queue("proof")
        assert [queue.name for queue in service.list_queues()] == ["proof"]


def test_azurite_that_cannot_bind_after_every_attempt_says_why(squatter: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("devstack.azurite.free_port", lambda: squatter)
    azurite = Azurite()
    with pytest.raises(PortTaken, match=r"EADDRINUSE|address already in use"):
        azurite.start(attempts=2)
    assert azurite.pid is None
