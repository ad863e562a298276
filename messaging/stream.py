"""The event stream endpoint: django-eventstream's request, storage and listeners, with
this product's own checks and loop around them.

Before any stream starts: 401 for anonymous users, 403 for non-members, 429 when the
user opens streams too fast or holds too many. The loop is django-eventstream's, with
what the product needs added: a keep-alive (a comment and an event) while idle, and a
stream that re-reads storage whenever live delivery may have had a gap (overflow or a
Redis reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import logging
import math
import re
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django_eventstream.eventrequest import EventRequest
from django_eventstream.eventstream import EventPermissionError, get_events
from django_eventstream.utils import (
    add_default_headers,
    make_id,
    sse_encode_error,
    sse_encode_event,
)
from django_eventstream.views import Listener, get_listener_manager

from harbor_messaging import gcwatch, ratelimit, twisted_write
from harbor_messaging.api import error_response
from harbor_messaging.errors import Forbidden, HarborError, NotAuthenticated, RateLimited

from . import grip, relay
from .channels import channels_for, forget_access, may_read_tenant, readers_among, tenant_of

logger = logging.getLogger(__name__)

T = TypeVar("T")

_LINES = re.compile(r"\r\n|\r|\n")
_UNSAFE = re.compile(r"[\r\n\0]")

RETRY_MS = 2000


class StreamLimits:
    """Per-user stream caps in this process, and the open rate across processes (cache)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, int] = {}

    def check_rate(self, request: HttpRequest, tenant_id: str) -> None:
        """Stream opens per user, per IP and per tenant, counted across processes."""
        ratelimit.check_rate("stream", request, tenant=tenant_id)

    def acquire(self, user_id: int) -> None:
        with self._lock:
            held = self._open.get(user_id, 0)
            if held >= settings.HARBOR_STREAMS_PER_USER:
                raise RateLimited(
                    "Too many open streams for this user; close a tab or wait.",
                    retry_after=5,
                    details={"limit": settings.HARBOR_STREAMS_PER_USER},
                )
            self._open[user_id] = held + 1

    def release(self, user_id: int) -> None:
        with self._lock:
            held = self._open.get(user_id, 0) - 1
            if held > 0:
                self._open[user_id] = held
            else:
                self._open.pop(user_id, None)

    def open_streams(self) -> int:
        with self._lock:
            return sum(self._open.values())


limits = StreamLimits()


def in_pool(func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Run a database read off the event loop in the shared pool of worker threads.

    Not thread-sensitive: a stream must not pin a thread (and its database connection) of
    its own for as long as it is open. Connections are checked and let go as after a request.
    """

    def run(*args: Any, **kwargs: Any) -> T:
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)


_get_events = in_pool(get_events)


class StreamSlot:
    """One held place under the per-user cap, released exactly once however the stream ends."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            limits.release(self.user_id)


def _ordered(
    channel_items: dict[str, list[Any]], more: set[str] | frozenset[str] = frozenset()
) -> list[tuple[str, Any]]:
    """The channels' events merged in the order they were stored.

    Where a channel's batch was cut short, events after its last one wait for the next
    read, so a later event of one channel never overtakes an earlier one of another.
    """
    cutoff = min(
        (items[-1].seq for channel, items in channel_items.items() if channel in more and items),
        default=None,
    )
    pairs = [
        (channel, item)
        for channel, items in channel_items.items()
        for item in items
        if cutoff is None or getattr(item, "seq", 0) <= cutoff
    ]
    pairs.sort(key=lambda pair: getattr(pair[1], "seq", 0))
    return pairs


# The padding gets past proxies that buffer the first bytes; retry sets the browser's own
# reconnect delay, which the page's script refines with backoff and jitter. One string for
# every stream (a stream keeps its last chunk referenced while it waits).
FIRST_CHUNK = ":" + " " * 2048 + f"\nretry: {RETRY_MS}\n\nevent: stream-open\ndata:\n\n"
# The comment line API.md promises, and an event: EventSource shows a page no comment, and
# the page needs to tell a stream that went silent (a proxy or Pushpin that dropped it, a
# half-open connection) from an idle one. Pushpin sends the same text (_grip_stream).
KEEP_ALIVE = ":keep-alive\n\nevent: keep-alive\ndata:\n\n"
KEEP_ALIVE_BYTES = KEEP_ALIVE.encode()
# Silent this many keep-alive periods, a page's stream gives up on the connection and
# reconnects from its last event.
SILENCE_PERIODS = 3


def keep_alive_seconds() -> int:
    """The keep-alive period in whole seconds, as Pushpin's Grip-Keep-Alive takes it;
    rounded up, so no stream's period is longer than the silence limit counts on."""
    return max(1, math.ceil(settings.HARBOR_STREAM_KEEPALIVE_SECONDS))


def silence_ms() -> int:
    """How long the page waits for anything on its stream before reconnecting."""
    return SILENCE_PERIODS * keep_alive_seconds() * 1000


def _framing(item: Any) -> tuple[str, str]:
    """An event's SSE text before and after its id, framed once however many streams send it."""
    framing: tuple[str, str] | None = getattr(item, "framing", None)
    if framing is None:
        data = "".join(f"data: {line}\n" for line in _LINES.split(str(item.data)))
        framing = (f"event: {_UNSAFE.sub('', str(item.type))}\nid: ", f"\n{data}\n")
        with contextlib.suppress(AttributeError):
            item.framing = framing
    return framing


def _framing_bytes(item: Any) -> tuple[bytes, bytes]:
    """``_framing`` encoded, once per event, for the relay's writes straight to connections."""
    framing: tuple[bytes, bytes] | None = getattr(item, "framing_bytes", None)
    if framing is None:
        head, tail = _framing(item)
        framing = (head.encode(), tail.encode())
        with contextlib.suppress(AttributeError):
            item.framing_bytes = framing
    return framing


def _encode(item: Any, event_id: str) -> str:
    """One event as SSE."""
    head, tail = _framing(item)
    return head + _UNSAFE.sub("", event_id) + tail


def _for_listener(item: Any, user_id: int) -> bool:
    return getattr(item, "skip_user_id", None) != user_id


# What every stream's write of one live event shares: its id as a number and as the bytes
# of its channel's part of the SSE id, the user it skips, its framing as bytes, and the
# length of those three bytes. None for an event without an id (it goes through the queue).
LiveFraming = tuple[int, bytes, Any, bytes, bytes, int]


def live_framing(item: Any) -> LiveFraming | None:
    """Worked out once per event by the relay, not once per stream it is written to."""
    if item.id is None:
        return None
    head, tail = _framing_bytes(item)
    id_text = str(item.id).encode()
    skip_user_id = getattr(item, "skip_user_id", None)
    return int(item.id), id_text, skip_user_id, head, tail, len(head) + len(id_text) + len(tail)


class BodyWriter:
    """A synchronous write of more body bytes to one stream's response, for live events
    written without the stream's task (``stream_asgi`` gives Daphne's); each write says
    False once the response is over."""

    def write(self, body: bytes) -> bool:
        raise NotImplementedError

    def write_event(
        self, head: bytes, before: bytes, id_text: bytes, after: bytes, tail: bytes, size: int
    ) -> bool:
        """One live event's SSE bytes in their parts, ``size`` their length together: a
        writer that frames its writes (HTTP/1.1 chunks) joins them once with its framing,
        rather than joining them and then copying the whole into a frame."""
        return self.write(b"".join((head, before, id_text, after, tail)))


_phases = itertools.count()


class StreamListener(Listener):  # type: ignore[misc]
    """django-eventstream's listener, with a way for live events to skip the stream's task.

    While the stream's task waits with nothing queued, ``live_ids`` is its position (the
    same dict the task goes on from) and ``writer`` a synchronous write of body bytes to
    the connection (``stream_asgi``; None where the server gives no such thing). The relay
    then writes an event that is next in its channel straight to the connection, on the
    event loop, instead of queueing it and waking the task: with thousands of streams,
    waking each task for each event was most of a broadcast's time. Anything else (a gap,
    an event already queued, an error) goes the usual way through the queue.
    """

    def __init__(self, user_id: int, channels: Any, writer: BodyWriter | None = None) -> None:
        super().__init__()
        self.user_id = user_id
        self.channels = channels
        self.writer = writer
        self.tenant_slug = next((t for t in map(tenant_of, channels) if t is not None), "")
        self.live_ids: dict[str, Any] | None = None
        # Set when the client has gone (stream_asgi), so the task ends at its next turn.
        self.gone = False
        # Which of the housekeeper's ticks this stream's keep-alive falls on.
        self.phase = next(_phases)
        self._quoted: dict[str, str] = {}
        # The SSE id's text around one channel's event id: (channel, before, after, their
        # length), the other channels' ids as they stand (``write_framed``).
        self._id_around: tuple[str, bytes, bytes, int] | None = None

    def wait_live(self, ids: dict[str, Any]) -> None:
        """The stream's task waits at ``ids``: live events may be written out meanwhile.
        (Under the manager's lock.)"""
        self._id_around = None
        self.live_ids = ids

    def _event_id(self, ids: dict[str, Any]) -> str:
        """django-eventstream's make_id(ids), with the channels' quoting done once."""
        quoted = self._quoted
        parts = []
        for channel, event_id in ids.items():
            name = quoted.get(channel)
            if name is None:
                name = quoted[channel] = quote(channel)
            parts.append(f"{name}:{event_id}")
        return ",".join(parts)

    def _around(self, ids: dict[str, Any], channel: str) -> tuple[str, bytes, bytes, int]:
        """The id's text before and after ``channel``'s event id, kept for the next
        event of the same channel: with two channels a stream, a broadcast only moves the
        tenant's, and the user channel's part is not formatted again for each event."""
        whole = self._event_id({**ids, channel: "\0"})
        before, _, after = whole.partition("\0")
        before_bytes, after_bytes = before.encode(), after.encode()
        around = (channel, before_bytes, after_bytes, len(before_bytes) + len(after_bytes))
        self._id_around = around
        return around

    def write_now(self, channel: str, item: Any) -> bool:
        """Send one live event straight out; False means: queue it. Under the manager's lock."""
        return self.write_framed(channel, item, live_framing(item))

    def write_framed(self, channel: str, item: Any, framed: LiveFraming | None) -> bool:
        """``write_now`` with the event's ``live_framing`` worked out by the caller: the
        relay's fan-out does it once for all the streams it writes the event to."""
        live_ids = self.live_ids
        if (
            framed is None
            or live_ids is None
            or self.writer is None
            or self.gone
            or self.channel_items
            or self.overflow
            or self.error
            or channel not in live_ids
        ):
            return False
        previous = live_ids[channel]
        event_id, id_text, skip_user_id, head, tail, size = framed
        last = int(previous)
        if event_id <= last:
            return True  # Already sent (read from storage before it came live).
        if event_id != last + 1:
            return False  # A gap: the task reads the missing ones from storage.
        live_ids[channel] = item.id
        if skip_user_id != self.user_id:
            around = self._id_around
            if around is None or around[0] != channel:
                # Another channel moved since: its part of the id is formatted anew.
                around = self._around(live_ids, channel)
            try:
                # The id needs no scrubbing: quoted channel names and numbers. (Bytes framed
                # once per event: the event's text is not encoded again for each stream.)
                written = self.writer.write_event(
                    head, around[1], id_text, around[2], tail, size + around[3]
                )
            except Exception:
                logger.exception("Writing a live event to a stream failed")
                written = False
            if not written:  # The connection is gone, or going: the task will hear of it.
                live_ids[channel] = previous
                return False
        return True


async def event_stream(
    event_request: EventRequest, listener: StreamListener, slot: StreamSlot
) -> AsyncGenerator[str, None]:
    user_id = slot.user_id
    manager = get_listener_manager()
    listener.assign_loop()
    manager.add_listener(listener)
    housekeeper.join(listener)
    relay.subscriber.ensure_started()
    housekeeper.ensure_started()
    try:
        first = True
        while True:
            try:
                response = await _get_events(event_request)
            except EventPermissionError as exc:
                yield sse_encode_error("forbidden", str(exc), extra={"channels": exc.channels})
                return
            last_ids = copy.deepcopy(response.channel_last_ids)
            body = ""
            if first:
                first = False
                body += FIRST_CHUNK
            if response.channel_reset:
                body += sse_encode_event(
                    "stream-reset",
                    {"channels": sorted(response.channel_reset)},
                    event_id=make_id(last_ids),
                    json_encode=True,
                )
            for channel, item in _ordered(response.channel_items, response.channel_more):
                last_ids[channel] = item.id
                if _for_listener(item, user_id):
                    body += _encode(item, make_id(last_ids))
            if body:
                yield body
                body = ""
            event_request.channel_last_ids = last_ids
            if response.channel_more:
                continue
            with manager.lock:
                if listener.gone:
                    return
                # Items queued while we read storage are in what we just read, or later.
                conflict = bool(listener.channel_items) or listener.overflow
                listener.aevent.clear()
                listener.channel_items = {}
                listener.overflow = False
            if conflict:
                continue
            reread = False
            while not reread:
                if listener.writer is not None:
                    with manager.lock:
                        if not (listener.channel_items or listener.overflow or listener.error):
                            # While we wait, live events (and the housekeeper's keep-alives)
                            # may be written out without us.
                            listener.wait_live(last_ids)
                    await listener.aevent.wait()
                else:
                    try:
                        # asyncio.timeout, unlike wait_for, makes no task per wait.
                        async with asyncio.timeout(settings.HARBOR_STREAM_KEEPALIVE_SECONDS):
                            await listener.aevent.wait()
                    except TimeoutError:
                        yield KEEP_ALIVE
                        continue
                with manager.lock:
                    listener.live_ids = None
                    if listener.gone:
                        return
                    channel_items = listener.channel_items
                    overflow = listener.overflow
                    error = listener.error
                    listener.aevent.clear()
                    listener.channel_items = {}
                    listener.overflow = False
                if error:
                    yield sse_encode_error(
                        error["condition"], error["text"], extra=error.get("extra")
                    )
                    return
                if overflow:
                    # Live delivery may have had a gap: storage has everything, in order.
                    reread = True
                    continue
                body = ""
                for channel, item in _ordered(channel_items):
                    if item.id is None or channel not in last_ids:
                        continue
                    if int(item.id) <= int(last_ids[channel]):
                        continue  # Already sent (read from storage meanwhile).
                    if int(item.id) != int(last_ids[channel]) + 1:
                        reread = True  # A gap: fetch the missing ones from storage.
                        break
                    last_ids[channel] = item.id
                    if _for_listener(item, user_id):
                        body += _encode(item, make_id(last_ids))
                if body:
                    yield body
                    body = ""
                event_request.channel_last_ids = last_ids
    finally:
        listener.live_ids = None
        listener.aevent.set()
        manager.remove_listener(listener)
        housekeeper.leave(listener)
        slot.release()


class Housekeeper:
    """What every open stream needs now and then, done for all of them by one task per loop.

    - **Keep-alives.** A stream waiting with a direct writer (``stream_asgi``) gets its
      ``:keep-alive`` from here rather than from a timer of its own: every tick (a second,
      or the keep-alive period when shorter) a slice of the streams gets one, so each gets
      one every ``HARBOR_STREAM_KEEPALIVE_SECONDS`` and no tick writes to all of them.
    - **Access.** A removal kicks the member's streams at once (``relay.kick``); behind it,
      for every other way access can end (a user deactivated, a membership deleted in bulk
      or by another system), every ``HARBOR_STREAM_RECHECK_SECONDS`` one query per tenant
      asks which of the users holding streams may still read it, and the others' streams
      end with a ``stream-error``.

    With thousands of streams, a timer and a wake-up each per keep-alive, and a query and a
    database connection each per re-check, were a large part of an idle server's time.
    Each stream's task files its listener here (``join``/``leave``) by its slice, so a tick
    goes through its own slice only: gathering and filtering all 10,000 streams every
    second cost ~5 ms of the loop a tick, a fifth of the loop's time a broadcast's fan-out
    took in the same profile (docs/performance.md).
    """

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.sweeps = 0
        self.ended = 0
        self.kicked = 0
        self.keep_alives = 0
        # The streams' listeners by slice, for ``_slices`` slices: built from the listener
        # manager at the first tick and whenever the keep-alive period changes, then kept
        # by ``join`` (after the manager's add) and ``leave`` (after its remove), so a
        # build between the two steps can neither miss a stream nor keep a closed one.
        self._lock = threading.Lock()
        self._slices = 0
        self._by_slice: list[set[StreamListener]] = []

    def join(self, listener: StreamListener) -> None:
        with self._lock:
            if self._slices:
                self._by_slice[listener.phase % self._slices].add(listener)

    def leave(self, listener: StreamListener) -> None:
        with self._lock:
            if self._slices:
                self._by_slice[listener.phase % self._slices].discard(listener)

    def _slice(self, slices: int, due: int) -> list[StreamListener]:
        """This tick's listeners, ``phase % slices == due``, of every loop."""
        with self._lock:
            if slices != self._slices:
                self._by_slice = [set() for _ in range(slices)]
                for listener in self._listeners(every_loop=True):
                    self._by_slice[listener.phase % slices].add(listener)
                self._slices = slices
            return list(self._by_slice[due])

    def ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self.task is not None and not self.task.done() and self.task.get_loop() is loop:
            return
        self.task = loop.create_task(self._run(), name="harbor-stream-housekeeping")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + settings.HARBOR_STREAM_RECHECK_SECONDS
        tick_number = 0
        while True:
            keep_alive = settings.HARBOR_STREAM_KEEPALIVE_SECONDS
            tick = min(1.0, keep_alive)
            await asyncio.sleep(tick)
            tick_number += 1
            try:
                self.keep_alive(tick_number, max(1, round(keep_alive / tick)))
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + settings.HARBOR_STREAM_RECHECK_SECONDS
                    await self.sweep()
            except Exception:
                logger.exception("Stream housekeeping failed")

    def _listeners(self, *, every_loop: bool = False) -> set[StreamListener]:
        manager = get_listener_manager()
        loop = None if every_loop else asyncio.get_running_loop()
        with manager.lock:
            return {
                listener
                for group in manager.listeners_by_channel.values()
                for listener in group
                if isinstance(listener, StreamListener) and (loop is None or listener.loop is loop)
            }

    def keep_alive(self, tick_number: int, slices: int) -> int:
        """Write a keep-alive to this tick's slice of the waiting streams."""
        manager = get_listener_manager()
        loop = asyncio.get_running_loop()
        written = 0
        listeners = self._slice(slices, tick_number % slices)
        with manager.lock:
            for listener in listeners:
                if listener.loop is not loop or listener.live_ids is None or listener.gone:
                    continue  # Another loop's, or its task is busy writing anyway.
                writer = listener.writer
                if writer is not None and writer.write(KEEP_ALIVE_BYTES):
                    written += 1
        self.keep_alives += written
        return written

    async def sweep(self) -> int:
        """Check every stream on this loop once, and the users this process handed a
        Pushpin hold to; returns how many direct streams were ended."""
        manager = get_listener_manager()
        listeners = self._listeners()
        held = grip.held_users() if grip.enabled() else {}
        by_tenant: dict[str, set[int]] = {slug: set(users) for slug, users in held.items()}
        for listener in listeners:
            by_tenant.setdefault(listener.tenant_slug, set()).add(listener.user_id)
        allowed = await _readers(by_tenant)
        ended = [s for s in listeners if s.user_id not in allowed[s.tenant_slug]]
        for slug, users in held.items():
            for user_id in users - allowed[slug]:
                # Pushpin holds it: end it there, with the stream-error a removal sends.
                grip.forget_hold(slug, user_id)
                forget_access(user_id, slug)
                await in_pool(relay.kick)(user_id, channels_for(user_id, slug))
                self.kicked += 1
        with manager.lock:
            for listener in ended:
                listener.error = {
                    "condition": "forbidden",
                    "text": "Access to this stream ended.",
                    "extra": {"channels": sorted(listener.channels)},
                }
        for listener in ended:
            forget_access(listener.user_id, listener.tenant_slug)
            listener.aevent.set()
        self.sweeps += 1
        self.ended += len(ended)
        return len(ended)


@in_pool
def _readers(by_tenant: dict[str, set[int]]) -> dict[str, set[int]]:
    return {slug: readers_among(slug, user_ids) for slug, user_ids in by_tenant.items()}


housekeeper = Housekeeper()


def stream_stats() -> dict[str, Any]:
    manager = get_listener_manager()
    with manager.lock:
        listeners = {item for group in manager.listeners_by_channel.values() for item in group}
    return {
        "openStreams": limits.open_streams(),
        "listeners": len(listeners),
        "threads": threading.active_count(),
        "redisSubscriptions": relay.subscriber.subscriptions,
        # Live events written straight to connections, and those queued for a stream's task.
        "liveDeliveries": {**relay.deliveries, "sentBeside": twisted_write.sent_beside()},
        # The bulk re-checks of open streams' access, and the streams they ended.
        "accessSweeps": housekeeper.sweeps,
        "accessEnded": housekeeper.ended,
        "accessKicked": housekeeper.kicked,
        "keepAlives": housekeeper.keep_alives,
        # Per generation (0, 1, 2): how often and how long the collector stopped the process.
        "gc": gcwatch.stats(),
    }


def stream_stats_view(request: HttpRequest) -> HttpResponse:
    """GET /api/ops/streams — this process's stream figures, for global admins and tests."""
    if not request.user.is_authenticated:
        return error_response(NotAuthenticated("Log in first."))
    if not request.user.is_superuser:
        return error_response(Forbidden("Only global admins may see stream figures."))
    return JsonResponse(stream_stats())


def _parse_event_request(request: HttpRequest, tenant_id: str) -> EventRequest:
    import jwt

    try:
        event_request = EventRequest(request, view_kwargs={"tenant_id": tenant_id})
        for last_id in event_request.channel_last_ids.values():
            if not (isinstance(last_id, str) and last_id.isdigit() and len(last_id) <= 18):
                raise EventRequest.Error("bad event id")
    except (EventRequest.Error, jwt.InvalidTokenError, ValueError) as exc:
        raise HarborError(
            "Last-Event-ID is not one this stream gave out.",
            code="invalid",
            status=400,
            details={"field": "Last-Event-ID", "reason": str(exc)},
        ) from exc
    return event_request


def _grip_stream(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """Through Pushpin: answer with GRIP instructions; Pushpin holds the stream itself."""
    # Nothing of the stream stays here, but answering thousands of opens and Pushpin's
    # re-fetches leaves their cyclic garbage: collected once the burst has settled.
    gcwatch.note_open()
    if "es-meta" not in request.GET:
        # A client's first request: the same checks as a direct stream.
        if not request.user.is_authenticated:
            raise NotAuthenticated("Log in to open the event stream.")
        if not may_read_tenant(request.user, tenant_id, fresh=True):
            raise Forbidden("You are not a member of this tenant.")
        limits.check_rate(request, tenant_id)
    # Pushpin's own follow-up requests carry the user and channels we signed (es-meta);
    # get_events re-checks that the user may still read every channel.
    event_request = _parse_event_request(request, tenant_id)
    try:
        response: HttpResponse = get_events(event_request).to_grip_response(request)
    except EventPermissionError as exc:
        raise Forbidden("You are not a member of this tenant.") from exc
    instruct = request.grip.instruct  # type: ignore[attr-defined]
    # Ours, not django-eventstream's (20 s): the page's silence limit is counted in it.
    instruct.set_keep_alive(KEEP_ALIVE, keep_alive_seconds())
    refresh = grip.spread_refresh(instruct)
    grip.note_hold(tenant_id, int(event_request.user.pk), refresh)
    add_default_headers(response, request=request)
    return response


def _open_checks(request: HttpRequest, tenant_id: str) -> EventRequest:
    """Everything a direct stream checks before it starts, in one trip to the pool."""
    if "es-meta" in request.GET or "recover" in request.GET:
        # Only Pushpin's own signed follow-up requests may carry these.
        raise HarborError(
            "es-meta and recover are for the GRIP proxy only.",
            code="invalid",
            status=400,
            details={"field": "es-meta" if "es-meta" in request.GET else "recover"},
        )
    user = request.user
    if not user.is_authenticated:
        raise NotAuthenticated("Log in to open the event stream.")
    if not may_read_tenant(user, tenant_id, fresh=True):
        raise Forbidden("You are not a member of this tenant.")
    limits.check_rate(request, tenant_id)
    return _parse_event_request(request, tenant_id)


def _grip_response(request: HttpRequest, tenant_id: str) -> HttpResponse:
    try:
        return _grip_stream(request, tenant_id)
    except HarborError as error:
        return error_response(error)


async def stream_view(request: HttpRequest, tenant_id: str) -> HttpResponse | StreamingHttpResponse:
    """GET /api/messaging/stream/<tenantId>/ — this user's events in this tenant.

    Async, so an open stream costs a coroutine and a listener, not a thread: reads go to
    the shared worker pool and the wait for events is on the server's event loop.
    """
    if request.method not in {"GET", "HEAD"}:
        return error_response(
            HarborError(
                f"{request.method} is not allowed here.",
                code="method_not_allowed",
                status=405,
                details={"allow": ["GET", "HEAD"]},
            )
        )
    grip_request = getattr(request, "grip", None)
    if grip.enabled() and grip_request is not None and grip_request.proxied:
        housekeeper.ensure_started()  # It re-checks the holds handed to Pushpin too.
        return await in_pool(_grip_response)(request, tenant_id)
    try:
        # The session and the user are read in the pool too, so no thread of this request
        # ever opens a database connection that would stay open with the stream.
        event_request = await in_pool(_open_checks)(request, tenant_id)
        user_id = int(str(event_request.user.pk))  # Authenticated, checked above.
        limits.acquire(user_id)
    except HarborError as error:
        return error_response(error)

    slot = StreamSlot(user_id)
    listener = StreamListener(user_id, event_request.channels)
    response = StreamingHttpResponse(
        event_stream(event_request, listener, slot), content_type="text/event-stream"
    )
    # Released at once if the client is gone before the stream's first byte.
    response._resource_closers.append(slot.release)  # type: ignore[attr-defined]
    add_default_headers(response, request=request)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def current_event_id(user_id: int, tenant_slug: str) -> str:
    """The stream position a freshly rendered page starts from, so nothing falls between."""
    from .stream_storage import current_ids

    return str(make_id(current_ids(channels_for(user_id, tenant_slug))))


__all__ = ["current_event_id", "limits", "stream_view"]
