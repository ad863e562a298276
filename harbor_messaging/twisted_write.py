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

Inside ``parallel_sends()`` (the relay's fan-out of one event to many streams) the fast
path's writes are collected, then sent by the reactor's thread and sender threads side by
side: ``send`` releases the GIL, so the system calls, most of a loopback fan-out's time,
run on every core at once.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

# Twisted's own write, kept once install() has patched it (None until then).
_buffered_write: Any = None
# The batch the reactor's thread is filling, if any (set and cleared only by that thread).
_active: _Batch | None = None


def install() -> None:
    """Patch twisted.internet.tcp.Connection's write and writeSequence (once)."""
    global _buffered_write
    if _buffered_write is not None:
        return
    try:
        from twisted.internet import tcp
    except ImportError:  # pragma: no cover - Daphne depends on Twisted
        return
    buffered_write: Any = tcp.Connection.write

    def write(self: Any, data: bytes) -> None:
        if data:
            idle = (
                self.connected
                and not self.disconnecting
                and not self._writeDisconnected
                and not self._tempDataLen
                and self.offset == len(self.dataBuffer)
            )
            exact = type(data) is bytes
            batch = _active
            if batch is not None and batch.owner == threading.get_ident():
                if id(self) in batch.held or (idle and exact):
                    # Into the fan-out's round, after this connection's bytes already in it
                    # (or nowhere, as Twisted drops writes to a connection that is gone).
                    if self.connected and not self._writeDisconnected:
                        batch.add(self, data if exact else bytes(data))
                    return
            elif idle and exact:
                # tcp.Connection.writeSomeData is this send, behind a memoryview slice and
                # an EINTR loop Python itself does since 3.5; per write to thousands of
                # streams that wrapping counted. Would-block and errors: the buffered way,
                # whose doWrite reports a lost connection as Twisted always does.
                try:
                    sent = self.socket.send(data)
                except OSError:
                    sent = 0
                if sent == len(data):
                    return
                data = data[sent:]
        buffered_write(self, data)

    def write_sequence(self: Any, iovec: Iterable[bytes]) -> None:
        # One write, so a sequence takes the same way as a write (straight out, into a
        # fan-out's batch, or Twisted's buffer) and never overtakes one.
        write(self, b"".join(iovec))

    _buffered_write = buffered_write
    setattr(tcp.Connection, "write", write)  # noqa: B010
    setattr(tcp.Connection, "writeSequence", write_sequence)  # noqa: B010


def _send_all(items: list[tuple[Any, bytes]]) -> list[tuple[Any, bytes]]:
    """``send`` each connection's bytes in the order given; what the kernel did not take,
    or an error, is returned with everything later for that connection, to be buffered."""
    left: list[tuple[Any, bytes]] = []
    stuck: set[int] = set()
    for connection, data in items:
        if stuck and id(connection) in stuck:
            left.append((connection, data))
            continue
        try:
            sent = connection.socket.send(data)
        except Exception:  # OSError, or a socket closed meanwhile: Twisted's way reports it
            sent = 0
        if sent != len(data):
            stuck.add(id(connection))
            left.append((connection, data[sent:]))
    return left


class _Sender:
    """A thread that makes a share of a batch's ``send`` calls."""

    def __init__(self, number: int) -> None:
        self.queue: queue.SimpleQueue[_Share] = queue.SimpleQueue()
        self.sent = 0  # writes handed to this thread (operators' /api/ops/streams)
        self.thread = threading.Thread(
            target=self._run, name=f"harbor-socket-send-{number}", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        while True:
            share = self.queue.get()
            self.sent += len(share.items)
            try:
                share.left = _send_all(share.items)
            finally:
                share.done.set()


class _Share:
    def __init__(self, items: list[tuple[Any, bytes]]) -> None:
        self.items = items
        self.left: list[tuple[Any, bytes]] = []
        self.done = threading.Event()


# Writes framed before a round of sends: the first streams of a fan-out to 10,000 wait for
# this many to be framed (~2 ms), not for all of them (~80 ms).
ROUND = 256


class _Batch:
    """A fan-out's writes, framed a round at a time and then sent by the reactor's thread
    and the senders together: each ``send`` releases the GIL, so the system calls, most of
    a loopback fan-out's time, run side by side. (Sending while the reactor's thread still
    framed was tried: that thread keeps the GIL between its own writes, so a sender got it
    back only once per switch interval, 5 ms.)"""

    def __init__(self, senders: list[_Sender]) -> None:
        self.owner = threading.get_ident()
        self.senders = senders
        self.items: list[tuple[Any, bytes]] = []
        # The connections with bytes in this round: what they write next joins them.
        self.held: set[int] = set()

    def add(self, connection: Any, data: bytes) -> None:
        self.held.add(id(connection))
        items = self.items
        items.append((connection, data))
        if len(items) >= ROUND:
            self.finish()

    def _deal(self) -> list[list[tuple[Any, bytes]]]:
        """The round's writes in one list a thread, each connection's all in one, in
        order. One write a connection (a fan-out of one event) is a slice each; else the
        connections are dealt out in turn."""
        items, ways = self.items, len(self.senders) + 1
        if len(self.held) == len(items):
            return [items[start::ways] for start in range(ways)]
        lists: list[list[tuple[Any, bytes]]] = [[] for _ in range(ways)]
        dealt: dict[int, list[tuple[Any, bytes]]] = {}
        for connection, data in items:
            into = dealt.get(id(connection))
            if into is None:
                into = dealt[id(connection)] = lists[len(dealt) % ways]
            into.append((connection, data))
        return lists

    def finish(self) -> None:
        """Send the round; buffer what the kernel did not take, each connection's in
        order, as a write that finds the socket's buffer full always is (Twisted's own).
        A connection left with buffered bytes is no longer idle, so its later writes
        queue behind them."""
        if not self.items:
            return
        own, *theirs = self._deal()
        self.items, self.held = [], set()
        handed = []
        for sender, items in zip(self.senders, theirs, strict=True):
            if items:
                share = _Share(items)
                sender.queue.put(share)
                handed.append(share)
        left = _send_all(own)
        for share in handed:
            share.done.wait()
            left += share.left
        for connection, data in left:
            _buffered_write(connection, data)


_senders: list[_Sender] = []
_senders_lock = threading.Lock()


def _get_senders(count: int) -> list[_Sender]:
    with _senders_lock:
        while len(_senders) < count:
            _senders.append(_Sender(len(_senders) + 1))
        return _senders[:count]


def sent_beside() -> int:
    """How many writes sender threads have made in this process."""
    return sum(sender.sent for sender in list(_senders))


@contextlib.contextmanager
def parallel_sends(deliveries: int, *, threads: int, least: int) -> Iterator[None]:
    """Within this, on the reactor's thread, fast-path writes are collected, and every
    ``ROUND`` of them and on leaving they are sent by that thread and ``threads`` sender
    threads together (a connection's all by one, in order), and anything the kernel did
    not take is buffered as usual.

    The caller must not give the loop a turn inside (nothing else may write meanwhile):
    the relay's fan-out is one synchronous callback. With ``threads`` 0, fewer ``deliveries``
    than ``least`` (a hand-off to another thread costs a wake-up, worth it for a fan-out),
    Twisted not patched or a batch already open, nothing changes."""
    global _active
    if threads <= 0 or deliveries < least or _buffered_write is None or _active is not None:
        yield
        return
    batch = _Batch(_get_senders(threads))
    _active = batch
    try:
        yield
    finally:
        _active = None
        batch.finish()
