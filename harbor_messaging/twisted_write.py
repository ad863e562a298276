"""Daphne's writes go straight to the socket when nothing is waiting to be sent.

Twisted's ``FileDescriptor.write`` only buffers: it registers the socket for writability,
sends on the reactor's next turn, then unregisters it. Under Twisted's asyncio reactor a
register and an unregister each rebuild the selector's key and make an ``epoll_ctl``
call; with a message fanned out to thousands of open streams that round trip was the
largest part of the event loop's time (py-spy, docs/performance.md). asyncio's own
transports try the send at once and buffer only what the kernel did not take; here
Twisted's TCP connections do the same.

The fast path is taken only when the connection is connected, not closing and has nothing
buffered, so bytes never overtake earlier ones; anything left over, and every error, goes
the usual way (buffer, wait for writability, ``doWrite`` reports a lost connection).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_installed = False


def _idle(transport: Any) -> bool:
    return bool(
        transport.connected
        and not transport.disconnecting
        and not transport._writeDisconnected
        and not transport._tempDataLen
        and transport.offset == len(transport.dataBuffer)
    )


def install() -> None:
    """Patch twisted.internet.tcp.Connection's write and writeSequence (once)."""
    global _installed
    if _installed:
        return
    try:
        from twisted.internet import tcp
    except ImportError:  # pragma: no cover - Daphne depends on Twisted
        return
    _installed = True
    buffered_write: Any = tcp.Connection.write
    buffered_write_sequence: Any = tcp.Connection.writeSequence

    def write(self: Any, data: bytes) -> None:
        if type(data) is bytes and data and _idle(self):
            # tcp.Connection.writeSomeData is this send, behind a memoryview slice and an
            # EINTR loop Python itself does since 3.5; per write to thousands of streams
            # that wrapping counted. Would-block and errors: the buffered way, whose
            # doWrite reports a lost connection as Twisted always does.
            try:
                sent = self.socket.send(data)
            except OSError:
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        buffered_write(self, data)

    def write_sequence(self: Any, iovec: Iterable[bytes]) -> None:
        chunks = list(iovec)
        if chunks and all(type(chunk) is bytes for chunk in chunks) and _idle(self):
            write(self, b"".join(chunks))
            return
        buffered_write_sequence(self, chunks)

    setattr(tcp.Connection, "write", write)  # noqa: B010
    setattr(tcp.Connection, "writeSequence", write_sequence)  # noqa: B010
