"""Publishing to Pushpin (GRIP) when ``GRIP_URL`` is set: Pushpin then holds the streams.

``GRIP_URL`` may name several Pushpins (comma-separated), as a deployment with a Pushpin
on each of several machines has: each holds its own clients' streams, so every event and
every kick is published to each, one by one, and one that is down costs only its own
clients' live delivery (they replay from storage when they reconnect).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import jwt
from django.conf import settings

from .stream_storage import StoredEvent

logger = logging.getLogger(__name__)

# What the next link's es-meta must outlive beyond its refresh: Pushpin queues refreshes
# and makes them at ten a second, so one may come well after its timeout.
REFRESH_MARGIN_SECONDS = 3600

_rng = random.SystemRandom()

# The users this process handed a Pushpin hold to, by (tenant, user), and until when
# (monotonic) that hold may still be open without Pushpin having come back for its next
# link. The housekeeper re-checks their access with the direct streams' (stream.py).
_holds: dict[tuple[str, int], float] = {}
_holds_lock = threading.Lock()


def enabled() -> bool:
    return bool(settings.HARBOR_GRIP_URLS)


_publishers: list[tuple[str, Any]] = []
_publishers_lock = threading.Lock()


def _each_pushpin() -> list[tuple[str, Any]]:
    """(control URI, publisher) for every Pushpin, made once per process."""
    with _publishers_lock:
        if not _publishers:
            from gripcontrol import GripPubControl

            for proxy in settings.GRIP_PROXIES:
                _publishers.append((proxy["control_uri"], GripPubControl(proxy)))
        return list(_publishers)


def _publish(channel: str, fmt: Any, **item: Any) -> None:
    """One item to every Pushpin; a Pushpin that fails is logged and the others still get it."""
    from pubcontrol import Item

    published = Item(fmt, **item)
    for uri, publisher in _each_pushpin():
        try:
            publisher.publish(channel, published, blocking=True)
        except Exception:
            logger.warning("Pushpin publish to %s failed for %s", uri, channel, exc_info=True)


def spread_refresh(instruct: Any) -> int:
    """Give the stream's next link a refresh time of its own; the timeout it chose.

    Pushpin re-fetches a held stream's next link when the link's timeout has passed (120 s
    when it names none), and streams with the same timeout share one timer: at the
    default, every stream was re-fetched together every two minutes, through a queue that
    Pushpin drains at ten a second, and a stream waiting in it gets nothing live. Past
    about 1,200 streams the queue never emptied (docs/performance.md). A timeout drawn
    from [HARBOR_GRIP_REFRESH_SECONDS, twice that) spreads the refreshes out (10,000
    streams at the default: about two a second). The link's es-meta (django-eventstream
    signs it for an hour) is signed again to outlive its refresh. A member removed from
    the tenant loses the stream at once by a kick (messaging/access.py), and the
    housekeeper's periodic re-check kicks any other (``note_hold``); the refresh checks
    again too.
    """
    base = max(60, int(settings.HARBOR_GRIP_REFRESH_SECONDS))
    timeout = base + _rng.randrange(base)
    parts = urlsplit(instruct.next_link)
    query = parse_qsl(parts.query, keep_blank_values=True)
    key = settings.SECRET_KEY.encode("utf-8")
    expires = int(time.time()) + timeout + REFRESH_MARGIN_SECONDS
    signed = []
    for name, value in query:
        if name == "es-meta":
            claims = jwt.decode(value, key, algorithms=["HS256"])
            value = jwt.encode(dict(claims, exp=expires), key, algorithm="HS256")
        signed.append((name, value))
    instruct.next_link = urlunsplit(parts._replace(query=urlencode(signed)))
    instruct.next_link_timeout = timeout
    return timeout


def note_hold(tenant_slug: str, user_id: int, refresh_seconds: int) -> None:
    until = time.monotonic() + refresh_seconds + REFRESH_MARGIN_SECONDS
    with _holds_lock:
        _holds[(tenant_slug, user_id)] = until


def held_users() -> dict[str, set[int]]:
    """The users whose Pushpin holds may still be open, by tenant (expired ones dropped)."""
    now = time.monotonic()
    by_tenant: dict[str, set[int]] = {}
    with _holds_lock:
        for key in [k for k, until in _holds.items() if until <= now]:
            del _holds[key]
        for slug, user_id in _holds:
            by_tenant.setdefault(slug, set()).add(user_id)
    return by_tenant


def forget_hold(tenant_slug: str, user_id: int) -> None:
    with _holds_lock:
        _holds.pop((tenant_slug, user_id), None)


def publish(stored: list[StoredEvent]) -> None:
    """The events to every Pushpin, as django-eventstream's ``publish_event`` frames them
    (Pushpin fills each stream's own id in with the build-id filter)."""
    if not enabled() or not stored:
        return
    from django_eventstream.utils import sse_encode_event
    from gripcontrol import HttpStreamFormat

    for item in stored:
        content = sse_encode_event(item.type, item.data, event_id="%I", escape=True)
        meta = {"skip_users": str(item.skip_user_id)} if item.skip_user_id else {}
        _publish(
            f"events-{quote(item.channel)}",
            HttpStreamFormat(content, content_filters=["build-id"]),
            id=str(item.eid),
            prev_id=str(item.eid - 1),
            meta=meta,
        )


def kick(user_id: int, channels: list[str]) -> None:
    """End the user's Pushpin-held streams on these channels, with the stream-error a
    direct stream gets.

    Not django-eventstream's ``publish_kick``: it writes the error's data as a Python repr
    (``{'condition': ...}``), which no client can parse, so the page took it for a failure
    and kept reconnecting instead of stopping.
    """
    if not enabled():
        return
    from django_eventstream.utils import sse_encode_error
    from gripcontrol import HttpStreamFormat

    for channel in channels:
        # Only the streams that hold this channel (the user may have others open).
        meta = {"require_sub": f"events-{channel}"}
        error = sse_encode_error(
            "forbidden", f"Permission denied to channels: {channel}", {"channels": [channel]}
        )
        _publish(f"user-{user_id}", HttpStreamFormat(error), id="kick-1", meta=meta)
        _publish(
            f"user-{user_id}",
            HttpStreamFormat(close=True),
            id="kick-2",
            prev_id="kick-1",
            meta=meta,
        )
