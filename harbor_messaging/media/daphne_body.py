"""Daphne hands the app a request body one chunk per ``receive()``, not all at once.

Twisted spools a request body to a temporary file, and then two things hold all of it in
memory before the app reads a byte: Twisted itself parses a multipart POST into
``request.args`` (reading the whole body, then copying it while parsing: about ten times
the upload, measured), which Daphne never uses; and Daphne 4 reads the whole file into the
application's queue in one go. ``install()`` turns Twisted's parsing off for Daphne's
requests and makes Daphne's queue read the spooled file lazily, one chunk per
``receive()``: memory stays at a chunk however large the upload. It changes nothing else,
and nothing at all outside Daphne (manage.py, the test client).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any, BinaryIO

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024
_installed = False


class _SpentBody:
    """Stands in for the spooled body in Daphne's own loop, which then reads nothing."""

    def __init__(self, real: BinaryIO) -> None:
        self._real = real

    def read(self, size: int = -1) -> bytes:
        return b""

    def seek(self, *args: Any) -> int:
        return 0

    @property
    def closed(self) -> bool:
        return bool(self._real.closed)

    def close(self) -> None:
        self._real.close()


class LazyBodyQueue:
    """The application's input queue: body chunks are read from the file as it asks.

    Daphne only ever calls ``put_nowait`` on it (the body placeholder, ``http.disconnect``)
    and hands ``get`` to the app as ``receive``. Not an ``asyncio.Queue``: that is three
    deques and an Event (~3 KB) per request, for the whole life of a stream that is open
    for hours, where a list made when something is put and one future are enough.
    """

    __slots__ = ("_body", "_items", "_swallow_placeholder", "_waiter")

    def __init__(self, body: BinaryIO | None) -> None:
        self._body: BinaryIO | None = body
        self._swallow_placeholder = body is not None
        self._items: list[dict[str, Any]] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: dict[str, Any]) -> None:
        # Daphne's own loop puts one empty http.request (it read nothing); ours replace it.
        if self._swallow_placeholder and item.get("type") == "http.request":
            self._swallow_placeholder = False
            return
        if self._items is None:
            self._items = []
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def qsize(self) -> int:
        return len(self._items or ())

    async def get(self) -> dict[str, Any]:
        body = self._body
        if body is not None:
            try:
                chunk = body.read(CHUNK)
            except ValueError:  # Twisted closed it: the client went away.
                self._body = None
                return {"type": "http.disconnect"}
            more = len(chunk) == CHUNK
            if not more:
                self._body = None
            return {"type": "http.request", "body": chunk, "more_body": more}
        while not self._items:
            if self._waiter is None or self._waiter.done():
                self._waiter = asyncio.get_running_loop().create_future()
            # One consumer (ASGI's receive); a cancelled wait leaves a done future behind.
            await self._waiter
        return self._items.pop(0)


def install() -> None:
    """Patch Daphne's Server.create_application (once, and only if Daphne is installed)."""
    global _installed
    if _installed:
        return
    try:
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
    except ImportError:  # pragma: no cover - Daphne is a dependency
        return
    _installed = True
    # Twisted's own form parsing (request.args), which Daphne ignores: off. Twisted sets the
    # flag per request in Request.__init__, so it is set again right after.
    original_init = WebRequest.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest.__init__ = __init__

    def create_application(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        # Daphne 4.2's create_application, with the queue swapped for HTTP requests.
        assert "application_instance" not in self.connections[protocol]
        body = getattr(protocol, "content", None) if scope.get("type") == "http" else None
        if body is not None and hasattr(body, "read") and not body.closed:
            input_queue = LazyBodyQueue(body)
            protocol.content = _SpentBody(body)
        else:
            input_queue = LazyBodyQueue(None)
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope,
            receive=input_queue.get,
            send=partial(self.handle_reply, protocol),
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue

    Server.create_application = create_application
