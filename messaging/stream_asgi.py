"""The event stream as a plain ASGI application, routed ahead of Django's handler.

Django's ASGI handler gives every request a thread of its own for its thread-sensitive
parts (signals, middleware) and keeps it for as long as the response lasts; for a stream
that is open for hours that is a thread per subscriber. Here a stream is a coroutine and a
listener: the session and the user are read with Django's own session engine and auth in
the shared worker pool, the checks are those of the Django view (``stream._open_checks``),
and the body is ``stream.event_stream`` sent straight to the server.

Requests that Pushpin signed (GRIP) are answered at once, not streamed, and go to Django.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.core.handlers.asgi import ASGIRequest
from django_eventstream.eventrequest import EventRequest

from harbor_messaging import gcwatch
from harbor_messaging.errors import HarborError

from . import grip
from .stream import (
    BodyWriter,
    StreamListener,
    StreamSlot,
    _open_checks,
    event_stream,
    in_pool,
    limits,
)

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

STREAM_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]


def _authenticate(scope: Scope, tenant_id: str) -> EventRequest:
    """Session, user and every check of a direct stream, in one trip to the pool."""
    request = ASGIRequest(scope, io.BytesIO())
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    request.user = get_user(request)
    return _open_checks(request, tenant_id)


def body_writer(send: Send) -> DirectWriter | None:
    """A synchronous ``send`` of more body bytes, where the server makes one possible.

    Daphne's ``send`` is ``partial(server.handle_reply, protocol)``, a coroutine that never
    waits: it drops messages for a connection that is gone, then hands them to the
    protocol. This does the same without a coroutine, so the relay can write a live event
    to thousands of streams without waking their tasks (``stream.StreamListener``). Under
    any other server, None: every event goes through the stream's task.
    """
    from daphne.server import Server

    func: Any = getattr(send, "func", None)
    server = getattr(func, "__self__", None)
    args: tuple[Any, ...] = getattr(send, "args", ())
    if not isinstance(server, Server) or func != server.handle_reply or len(args) != 1:
        return None
    return DirectWriter(args[0])


# The framing before an HTTP/1.1 chunk of each length seen (the length in hex and a CRLF):
# a fan-out's events are all about the same length.
_CHUNK_HEADS: dict[int, bytes] = {}


def _chunk_head(size: int) -> bytes:
    head = _CHUNK_HEADS.get(size)
    if head is None:
        head = b"%x\r\n" % size
        if len(_CHUNK_HEADS) < 4096:
            _CHUNK_HEADS[size] = head
    return head


class DirectWriter(BodyWriter):
    """The writer ``body_writer`` gives for one Daphne response.

    Its state is the slots of one object, so a fan-out to thousands of streams reads one
    object a stream here, not a function, its closure and a cell for each name; and a
    live event's parts are joined once, with the chunk's framing, into the bytes the
    socket gets (docs/performance.md, "bench/fanout.py").
    """

    __slots__ = ("chunked", "over", "protocol", "transport", "uncounted")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        # The connection's transport and framing, taken once the head is out: neither
        # changes for the rest of the response.
        self.transport: Any = None
        self.chunked = False
        # Whether the response is over (finished, or its connection lost): what Daphne's
        # disconnected mark says, which is set when Twisted's Request notes either, and
        # Twisted tells its finish notifications in the same call. Kept here, with the
        # bytes written since the request last counted them, so a fan-out touches no field
        # of the request itself.
        self.over = bool(protocol.finished or protocol._disconnected)
        self.uncounted = 0
        if not self.over:
            protocol.notifyFinish().addBoth(self._ended)

    def _ended(self, result: Any) -> None:
        self.over = True
        # Daphne logs the response's size just after finishing it.
        self.protocol.sentLength += self.uncounted
        self.uncounted = 0

    def write(self, body: bytes) -> bool:
        if self.over:
            return False
        transport = self.transport
        if transport is None:
            protocol = self.protocol
            if not (protocol.startedWriting and protocol.channel is not None and body):
                protocol.handle_reply(
                    {"type": "http.response.body", "body": body, "more_body": True}
                )
                return True
            transport = self.transport = protocol.channel.transport
            self.chunked = bool(protocol.chunked)
        elif not body:
            return True  # What Request.write does with no bytes once the head is out.
        # What twisted.web's Request.write does once the head is out, in one write: the
        # chunk's framing (HTTP/1.1) around the bytes, straight to the transport.
        self.uncounted += len(body)
        transport.write(b"%b%b\r\n" % (_chunk_head(len(body)), body) if self.chunked else body)
        return True

    def write_event(
        self, head: bytes, before: bytes, id_text: bytes, after: bytes, tail: bytes, size: int
    ) -> bool:
        transport = self.transport
        if transport is None or self.over or not self.chunked:
            return self.write(b"".join((head, before, id_text, after, tail)))
        self.uncounted += size
        transport.write(b"".join((_chunk_head(size), head, before, id_text, after, tail, b"\r\n")))
        return True


async def _send_error(send: Send, error: HarborError) -> None:
    body = json.dumps(error.as_json()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"cache-control", b"no-store"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    if error.status == 405:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class StreamApplication:
    """ASGI app for ``/api/messaging/stream/<tenantId>/``; anything else goes to ``fallback``."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tenant_id = scope.get("url_route", {}).get("kwargs", {}).get("tenant_id", "")
        headers = dict(scope.get("headers") or [])
        if grip.enabled() and b"grip-sig" in headers:
            await self.fallback(scope, receive, send)
            return
        if scope["method"] not in {"GET", "HEAD"}:
            await _send_error(
                send,
                HarborError(
                    f"{scope['method']} is not allowed here.", code="method_not_allowed", status=405
                ),
            )
            return
        try:
            event_request = await in_pool(_authenticate)(scope, tenant_id)
            user_id = int(str(event_request.user.pk))
            if scope["method"] == "HEAD":
                await send(
                    {"type": "http.response.start", "status": 200, "headers": STREAM_HEADERS}
                )
                await send({"type": "http.response.body", "body": b""})
                return
            limits.acquire(user_id)
        except HarborError as error:
            await _send_error(send, error)
            return
        slot = StreamSlot(user_id)
        gcwatch.note_open()
        try:
            await self._stream(event_request, slot, receive, send)
        finally:
            slot.release()

    async def _stream(
        self, event_request: EventRequest, slot: StreamSlot, receive: Receive, send: Send
    ) -> None:
        listener = StreamListener(slot.user_id, event_request.channels, body_writer(send))
        await send({"type": "http.response.start", "status": 200, "headers": STREAM_HEADERS})

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            listener.gone = True
            listener.aevent.set()

        # The stream runs in this task; one more waits for the client to go. (Two tasks and
        # an asyncio.wait over them were ~2 KB a stream for as long as it is open.)
        watching = asyncio.ensure_future(until_disconnect())
        ended_itself = False
        try:
            async with contextlib.aclosing(event_stream(event_request, listener, slot)) as chunks:
                async for chunk in chunks:
                    await send(
                        {"type": "http.response.body", "body": chunk.encode(), "more_body": True}
                    )
            ended_itself = not listener.gone
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watching
        if ended_itself:
            # The stream ended itself (access ended): close the response properly.
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
