"""Twisted TCP writes go to the socket at once when nothing is buffered, never out of order."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from twisted.internet import tcp
from twisted.internet.protocol import Protocol

from harbor_messaging import twisted_write


class FakeReactor:
    """Records what the connection asks of the reactor; nothing runs on its own."""

    def __init__(self) -> None:
        self.writers: set[Any] = set()

    def addWriter(self, writer: Any) -> None:  # Twisted's IReactorFDSet names
        self.writers.add(writer)

    def removeWriter(self, writer: Any) -> None:
        self.writers.discard(writer)

    def addReader(self, reader: Any) -> None:
        pass

    def removeReader(self, reader: Any) -> None:
        pass


@pytest.fixture
def pair() -> Any:
    twisted_write.install()
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    reactor = FakeReactor()
    connection = tcp.Connection(ours, Protocol(), reactor)
    connection.connected = True
    yield connection, theirs, reactor
    ours.close()
    theirs.close()


def _drain(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return out
        if not chunk:
            return out
        out += chunk


def test_a_small_write_is_sent_without_the_reactor(pair: Any) -> None:
    connection, theirs, reactor = pair
    connection.write(b"event: message:new\n")
    connection.writeSequence([b"data: 1\n", b"\n"])
    assert _drain(theirs) == b"event: message:new\ndata: 1\n\n"
    assert reactor.writers == set()  # no writability round trip
    assert connection._tempDataLen == 0


def test_what_the_kernel_does_not_take_is_buffered_and_sent_in_order(pair: Any) -> None:
    connection, theirs, reactor = pair
    big = bytes(range(256)) * 8192  # 2 MiB: far more than the socket buffers hold
    connection.write(big)
    assert connection in reactor.writers  # the rest waits for writability
    # A later small write must queue behind the rest, not overtake it.
    connection.write(b"TAIL")
    received = b""
    for _ in range(10_000):
        received += _drain(theirs)
        if connection not in reactor.writers:
            break
        connection.doWrite()
    received += _drain(theirs)
    assert received == big + b"TAIL"


def test_a_closing_connection_takes_the_usual_path(pair: Any) -> None:
    connection, theirs, reactor = pair
    connection.disconnecting = True
    connection.write(b"late")
    assert _drain(theirs) == b""  # buffered for doWrite, as Twisted does
    assert connection in reactor.writers
