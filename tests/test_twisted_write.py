"""Twisted TCP writes go to the socket at once when nothing is buffered, never out of order."""

from __future__ import annotations

import socket
import threading
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


def _flush(connection: Any, theirs: socket.socket, reactor: FakeReactor) -> bytes:
    """Everything the peer gets, letting the connection write what it buffered."""
    received = b""
    for _ in range(10_000):
        received += _drain(theirs)
        if connection not in reactor.writers:
            break
        connection.doWrite()
    return received + _drain(theirs)


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
    assert _flush(connection, theirs, reactor) == big + b"TAIL"


def test_a_closing_connection_takes_the_usual_path(pair: Any) -> None:
    connection, theirs, reactor = pair
    connection.disconnecting = True
    connection.write(b"late")
    assert _drain(theirs) == b""  # buffered for doWrite, as Twisted does
    assert connection in reactor.writers


# -- parallel_sends: a fan-out's writes sent by the reactor's thread and sender threads --


class RecordingSocket:
    """A socket that notes which thread sent each write."""

    def __init__(self, sock: socket.socket, threads: list[int]) -> None:
        self.sock = sock
        self.threads = threads

    def send(self, data: bytes) -> int:
        self.threads.append(threading.get_ident())
        return self.sock.send(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


@pytest.fixture
def many() -> Any:
    twisted_write.install()
    reactor = FakeReactor()
    pairs = []
    for _ in range(12):
        ours, theirs = socket.socketpair()
        for sock in (ours, theirs):
            sock.setblocking(False)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        connection = tcp.Connection(ours, Protocol(), reactor)
        connection.connected = True
        pairs.append((connection, theirs))
    yield pairs, reactor
    for connection, theirs in pairs:
        connection.socket.close()
        theirs.close()


def test_a_fan_out_is_sent_on_leaving_by_more_than_one_thread_each_stream_in_order(
    many: Any,
) -> None:
    pairs, reactor = many
    threads: list[int] = []
    for connection, _ in pairs:
        connection.socket = RecordingSocket(connection.socket, threads)
    before = twisted_write.sent_beside()
    with twisted_write.parallel_sends(len(pairs) * 3, threads=1, least=2):
        for n in range(3):
            for k, (connection, _) in enumerate(pairs):
                connection.write(f"event {n} to {k}\n".encode())
        # Collected, not sent yet: nothing may run between the framing and the sends.
        assert all(_drain(theirs) == b"" for _, theirs in pairs)
    for k, (_, theirs) in enumerate(pairs):
        assert _drain(theirs) == f"event 0 to {k}\nevent 1 to {k}\nevent 2 to {k}\n".encode()
    assert reactor.writers == set()
    assert threading.get_ident() in threads
    assert len(set(threads)) == 2  # the caller's thread and one sender thread
    assert twisted_write.sent_beside() > before


def test_what_a_fan_out_could_not_send_is_buffered_in_order(many: Any) -> None:
    pairs, reactor = many
    big = bytes(range(256)) * 8192  # 2 MiB: far more than the socket buffers hold
    (slow, slow_peer), *rest = pairs
    with twisted_write.parallel_sends(len(pairs) + 2, threads=2, least=1):
        slow.write(b"HEAD")
        slow.write(big)
        for connection, _ in rest:
            connection.write(b"small")
        slow.write(b"TAIL")  # after the rest of big, never before it
    assert reactor.writers == {slow}  # only the stream the kernel could not take all of
    assert all(_drain(theirs) == b"small" for _, theirs in rest)
    # A write after the fan-out waits behind what was buffered.
    slow.write(b"LATER")
    assert _flush(slow, slow_peer, reactor) == b"HEAD" + big + b"TAIL" + b"LATER"


def test_a_stream_whose_peer_is_gone_takes_twisteds_way(many: Any) -> None:
    pairs, reactor = many
    (gone, gone_peer), (other, other_peer), *_ = pairs
    gone_peer.close()
    with twisted_write.parallel_sends(4, threads=1, least=1):
        gone.write(b"x" * 100_000)  # the send fails (EPIPE): nothing is taken
        gone.write(b"more")
        other.write(b"fine")
    assert _drain(other_peer) == b"fine"
    # Both writes buffered, for doWrite to find the connection lost, as Twisted does.
    assert reactor.writers == {gone}
    assert gone._tempDataLen + len(gone.dataBuffer) - gone.offset == 100_000 + len(b"more")


def test_small_fan_outs_and_no_threads_write_at_once(many: Any) -> None:
    pairs, _ = many
    (first, first_peer), (second, second_peer), *_ = pairs
    with twisted_write.parallel_sends(1, threads=1, least=2):
        first.write(b"one")
        assert _drain(first_peer) == b"one"
    with twisted_write.parallel_sends(100, threads=0, least=2):
        second.write(b"two")
        assert _drain(second_peer) == b"two"


def test_a_fan_out_goes_out_a_round_at_a_time_each_stream_in_order(
    many: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs, reactor = many
    monkeypatch.setattr(twisted_write, "ROUND", 5)
    received = [b""] * len(pairs)
    with twisted_write.parallel_sends(100, threads=1, least=1):
        for n in range(4):
            for k, (connection, _) in enumerate(pairs):
                connection.write(f"{n}:{k};".encode())
        # Earlier rounds are out already: the first streams do not wait for the last.
        received[0] = _drain(pairs[0][1])
        assert received[0].startswith(b"0:0;")
    for k, (_, theirs) in enumerate(pairs):
        received[k] += _drain(theirs)
        assert received[k] == "".join(f"{n}:{k};" for n in range(4)).encode()
    assert reactor.writers == set()


class Tagged(bytes):
    """A bytes subclass: Twisted takes it, the fast path leaves it to Twisted's way."""


def test_a_write_of_another_type_joins_the_streams_bytes_in_the_round(many: Any) -> None:
    pairs, reactor = many
    (first, first_peer), (second, second_peer), *_ = pairs
    with twisted_write.parallel_sends(4, threads=1, least=1):
        first.write(b"one ")
        first.writeSequence([b"two ", b"three "])
        first.write(Tagged(b"four"))  # not exactly bytes: after the rest, not before it
        second.write(Tagged(b"alone"))  # no bytes in the round: Twisted's buffer
    assert _drain(first_peer) == b"one two three four"
    assert reactor.writers == {second}
    assert _flush(second, second_peer, reactor) == b"alone"
