"""Live fan-out of stored events to the streams held by every server process.

Without ``REDIS_URL`` events go straight to this process's listeners. With it, every
process publishes to one Redis pub/sub channel and every process that holds streams
subscribes to it; the publishing process hands its own listeners the events at once and
skips them when they come back from Redis (each message names its process). Redis is
never trusted to be there: a failed publish is logged and the send goes on; a lost
subscription reconnects with backoff, and after every (re)subscription each local stream
re-reads storage, so nothing missed meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
import weakref
from typing import Any

from django.conf import settings
from django_eventstream import views as eventstream_views

from harbor_messaging import twisted_write

from . import stream
from .listeners import ListenerManager
from .stream_storage import StoredEvent

logger = logging.getLogger(__name__)

RESYNC = "resync"


def redis_channel() -> str:
    return f"{settings.HARBOR_REDIS_PREFIX}:events"


_origin = ("", 0)


def origin() -> str:
    """This process's name on the Redis channel: a forked child gets a new one."""
    global _origin
    token, pid = _origin
    if pid != os.getpid():
        pid = os.getpid()
        token = f"{pid}-{secrets.token_hex(8)}"
        _origin = (token, pid)
    return token


# django-eventstream's per-listener queue bound; past it a listener re-reads storage.
MAX_PENDING = 10


def _wake(listeners: list[Any]) -> None:
    for listener in listeners:
        listener.aevent.set()


# One event for one loop's streams: (channel, event, the channel's listeners then).
Delivery = tuple[str, Any, tuple[Any, ...]]


def get_listener_manager() -> ListenerManager:
    """django-eventstream's listener manager, which the app made ours (apps.py)."""
    manager = eventstream_views.get_listener_manager()
    assert isinstance(manager, ListenerManager), "messaging.listeners.install() not run"
    return manager


def _deliver_locally(stored: list[StoredEvent]) -> None:
    """Hand the events to this process's listeners, on each listener's event loop.

    As django-eventstream's ListenerManager.add_to_queues, but per event loop one call
    for the whole batch rather than one per listener per event: with thousands of
    streams, a call_soon_threadsafe each was thousands of self-pipe writes per message.
    Here each channel's listeners are taken once, in address order; the loop goes
    through them as it writes. Pairing each listener with its event here first held the
    GIL in the publishing thread for ~8 ms at 10,000 streams before the loop wrote the
    first one, and the loop went through the same 10,000 again (docs/performance.md).
    """
    manager = get_listener_manager()
    # Each channel's listeners in the order of their addresses, and the loops they are on
    # (listeners.py keeps both for a large channel until a stream opens or closes there).
    # The manager's set gives them in hash order, which sends the fan-out all over the
    # process's memory; in address order the streams' objects (made together as each
    # stream opened) are read in one sweep, a fifth less per delivery at 10,000
    # (bench/fanout.py --order; docs/performance.md).
    groups: dict[str, tuple[Any, ...]] = {}
    loops: dict[str, frozenset[asyncio.AbstractEventLoop]] = {}
    for item in stored:
        if item.channel not in groups:
            groups[item.channel], loops[item.channel] = manager.ordered(item.channel)
    by_loop: dict[int, tuple[asyncio.AbstractEventLoop, list[Delivery]]] = {}
    for item in stored:
        listeners = groups[item.channel]
        if not listeners:
            continue
        event = item.as_event()
        for listeners_loop in loops[item.channel]:
            entry = by_loop.setdefault(id(listeners_loop), (listeners_loop, []))
            entry[1].append((item.channel, event, listeners))
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for loop, deliveries in by_loop.values():
        _fanout_loops.add(loop)
        if running is loop:
            _deliver_on_loop(deliveries, loop)
        else:
            loop.call_soon_threadsafe(_deliver_on_loop, deliveries, loop)


# The event loops this process has handed live events to (Daphne has one).
_fanout_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def holds_streams() -> bool:
    """Whether any stream listens in this process."""
    manager = get_listener_manager()
    with manager.lock:
        return bool(manager.listeners_by_channel)


def wait_for_local_fanout(timeout: float) -> bool:
    """Wait until every event loop of this process has written out the live events handed
    to it before this call (their callbacks run in order); False if ``timeout`` passed
    first. Call from a thread that is no event loop's own."""
    marks = []
    for loop in [loop for loop in list(_fanout_loops) if loop.is_running()]:
        reached = threading.Event()
        try:
            loop.call_soon_threadsafe(reached.set)
        except RuntimeError:  # closed meanwhile
            continue
        marks.append(reached)
    deadline = time.monotonic() + timeout
    return all(mark.wait(max(0.0, deadline - time.monotonic())) for mark in marks)


# Live deliveries in this process: written straight to the connection, or queued for the
# stream's task (a gap, a stream busy reading storage, a server without a direct write).
deliveries = {"written": 0, "queued": 0}


def _deliver_on_loop(batch: list[Delivery], loop: asyncio.AbstractEventLoop) -> None:
    """On ``loop``: write each event straight out to its streams on this loop where the
    stream is waiting for exactly that one (``StreamListener.write_framed``), else queue it
    and wake the stream's task."""
    manager = get_listener_manager()
    woken: dict[int, Any] = {}
    written = queued = 0
    with (
        manager.lock,
        twisted_write.parallel_sends(
            sum(len(listeners) for _, _, listeners in batch),
            threads=settings.HARBOR_STREAM_SEND_THREADS,
            least=settings.HARBOR_STREAM_SEND_THREADS_FROM,
        ),
    ):
        for channel, event, listeners in batch:
            framed = stream.live_framing(event)
            for listener in listeners:
                if listener.loop is not loop:
                    continue
                if listener.write_framed(channel, event, framed):
                    written += 1
                    continue
                queued += 1
                items = listener.channel_items.setdefault(channel, [])
                if len(items) < MAX_PENDING:
                    items.append(event)
                else:
                    listener.overflow = True
                woken[id(listener)] = listener
    deliveries["written"] += written
    deliveries["queued"] += queued
    _wake(list(woken.values()))


def resync_local_listeners() -> int:
    """Make every stream in this process re-read storage (after a gap in live delivery)."""
    manager = get_listener_manager()
    with manager.lock:
        listeners = {
            listener for group in manager.listeners_by_channel.values() for listener in group
        }
        for listener in listeners:
            listener.overflow = True
    for listener in listeners:
        listener.wake_threadsafe()
    return len(listeners)


def kick_local(user_id: int, channels: list[str]) -> None:
    manager = get_listener_manager()
    for channel in channels:
        manager.kick(user_id, channel)


class _Publisher:
    """The sync side: publishing from request threads, commands and the admin."""

    def __init__(self) -> None:
        self._client: Any = None
        self._client_url = ""
        self._lock = threading.Lock()
        self._owes_resync = False

    def _redis(self) -> Any:
        if self._client is None or self._client_url != settings.REDIS_URL:
            import redis

            self._client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0
            )
            self._client_url = settings.REDIS_URL
        return self._client

    def publish(self, message: dict[str, Any]) -> bool:
        import redis

        try:
            with self._lock:
                client = self._redis()
                if self._owes_resync:
                    client.publish(redis_channel(), json.dumps({"kind": RESYNC}))
                    self._owes_resync = False
                client.publish(redis_channel(), json.dumps(message))
            return True
        except (redis.RedisError, OSError) as exc:
            # The change is committed and stored; streams catch up from storage later.
            logger.warning("Redis publish failed (%s); streams will catch up from storage", exc)
            self._owes_resync = True
            return False


_publisher = _Publisher()


def send(stored: list[StoredEvent]) -> None:
    """Deliver stored events live, to this process's streams or every process's."""
    if not stored:
        return
    if settings.REDIS_URL:
        # Published first: the other processes' fan-outs start while this one's runs.
        # This process's own streams are not served through Redis: the round trip to the
        # subscriber added 1-4 ms to each send here, and the rows stored after a
        # whole-tenant send could not wait for a fan-out not yet handed over
        # (delivery.py). Should the publish fail, they are served all the same.
        _publisher.publish(
            {
                "kind": "events",
                "origin": origin(),
                "events": [
                    [s.channel, s.eid, s.type, s.data, s.skip_user_id, s.seq] for s in stored
                ],
            }
        )
    _deliver_locally(stored)


def kick(user_id: int, channels: list[str]) -> None:
    """End a user's streams on these channels in every process."""
    kick_local(user_id, channels)
    if settings.REDIS_URL:
        _publisher.publish(
            {"kind": "kick", "origin": origin(), "userId": user_id, "channels": channels}
        )
    from . import grip

    grip.kick(user_id, channels)


def _handle(raw: bytes | str) -> None:
    message = json.loads(raw)
    kind = message.get("kind")
    if message.get("origin") == origin():
        return  # this process served its own streams when it published
    if kind == "events":
        _deliver_locally(
            [StoredEvent(c, int(i), t, d, k, int(q)) for c, i, t, d, k, q in message["events"]]
        )
    elif kind == "kick":
        kick_local(int(message["userId"]), list(message["channels"]))
    elif kind == RESYNC:
        resync_local_listeners()


class _Subscriber:
    """The async side: one task per process, on the server's event loop."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.subscriptions = 0

    def ensure_started(self) -> None:
        if not settings.REDIS_URL:
            return
        loop = asyncio.get_running_loop()
        if self.task is not None and not self.task.done() and self.task.get_loop() is loop:
            return
        self.task = loop.create_task(self._run(), name="harbor-redis-subscriber")

    async def _run(self) -> None:
        import redis
        import redis.asyncio as aredis

        delay = 0.2
        while True:
            client = aredis.Redis.from_url(
                settings.REDIS_URL,
                health_check_interval=5,
                socket_connect_timeout=2.0,
                socket_keepalive=True,
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(redis_channel())
                self.subscriptions += 1
                delay = 0.2
                # Anything published while we were not subscribed is in storage.
                resync_local_listeners()
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None:
                        # Quiet: a ping proves the connection is still alive.
                        await pubsub.ping()
                        continue
                    if message.get("type") == "message":
                        try:
                            _handle(message["data"])
                        except (ValueError, KeyError, TypeError):
                            logger.exception("Bad relay message")
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError) as exc:
                logger.warning("Redis subscription lost (%s); reconnecting in %.1fs", exc, delay)
            finally:
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                    await client.aclose()
                except Exception:
                    pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


subscriber = _Subscriber()
