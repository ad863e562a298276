"""The direct writer of a Daphne stream (stream_asgi.DirectWriter): live events go to the
connection as HTTP/1.1 chunks in one write, and it stops once the response is over."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.internet import tcp
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol

from harbor_messaging import twisted_write
from messaging.stream_asgi import DirectWriter


class Reactor:
    def addWriter(self, writer: Any) -> None:  # Twisted's IReactorFDSet names
        pass

    def removeWriter(self, writer: Any) -> None:
        pass


class Request(SimpleNamespace):
    """The fields of twisted.web's Request (Daphne's protocol) the writer reads."""

    def __init__(self, transport: Any, *, chunked: bool, started: bool = True) -> None:
        super().__init__(
            finished=False,
            _disconnected=False,
            startedWriting=int(started),
            channel=SimpleNamespace(transport=transport),
            chunked=int(chunked),
            sentLength=0,
            replies=[],
            finishing=[],
        )

    def notifyFinish(self) -> Deferred[None]:  # Twisted's name
        finishing: Deferred[None] = Deferred()
        self.finishing.append(finishing)
        return finishing

    def handle_reply(self, message: dict[str, Any]) -> None:
        self.replies.append(message)


@pytest.fixture
def connection() -> Iterator[tuple[Any, socket.socket]]:
    twisted_write.install()
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.settimeout(5)
    transport = tcp.Connection(ours, Protocol(), Reactor())  # type: ignore[arg-type]
    transport.connected = True
    yield transport, theirs
    ours.close()
    theirs.close()


PARTS = (b"event: message\nid: ", b"t-acme:", b"57", b",u-7-acme:3", b"\ndata: {}\n\n")


def test_an_event_goes_out_as_one_chunk_and_is_counted(connection: Any) -> None:
    transport, peer = connection
    request = Request(transport, chunked=True)
    writer = DirectWriter(request)
    body = b"".join(PARTS)
    assert writer.write_event(*PARTS, len(body))
    assert writer.write_event(*PARTS, len(body))  # the chunk's head is kept, still right
    assert writer.write(b"\xe2\x9c\x93 ok")
    expected = b"%x\r\n%b\r\n" % (len(body), body) * 2 + b"6\r\n\xe2\x9c\x93 ok\r\n"
    assert peer.recv(4096) == expected
    request.finishing[0].callback(None)  # the response ends: Daphne logs its size next
    assert request.sentLength == 2 * len(body) + 6
    assert not writer.write_event(*PARTS, len(body))
    assert not writer.write(b"late")
    assert request.replies == []


def test_without_chunks_the_bytes_go_as_they_are(connection: Any) -> None:
    transport, peer = connection
    writer = DirectWriter(Request(transport, chunked=False))
    assert writer.write_event(*PARTS, len(b"".join(PARTS)))
    assert peer.recv(4096) == b"".join(PARTS)


def test_before_the_head_is_out_writes_go_through_daphne(connection: Any) -> None:
    transport, peer = connection
    request = Request(transport, chunked=True, started=False)
    writer = DirectWriter(request)
    assert writer.write_event(*PARTS, len(b"".join(PARTS)))
    assert request.replies == [
        {"type": "http.response.body", "body": b"".join(PARTS), "more_body": True}
    ]
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(4096)


def test_a_lost_connection_ends_the_writer(connection: Any) -> None:
    transport, _ = connection
    request = Request(transport, chunked=True)
    writer = DirectWriter(request)
    request.finishing[0].errback(ConnectionError("gone"))
    assert not writer.write(b"x")


def test_a_response_already_over_takes_no_notification(connection: Any) -> None:
    transport, _ = connection
    request = Request(transport, chunked=True)
    request._disconnected = True
    writer = DirectWriter(request)
    assert request.finishing == []
    assert not writer.write(b"x")
