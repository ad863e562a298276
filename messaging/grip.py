"""Publishing to Pushpin (GRIP) when ``GRIP_URL`` is set: Pushpin then holds the streams."""

from __future__ import annotations

import logging

from django.conf import settings

from .stream_storage import StoredEvent

logger = logging.getLogger(__name__)


def enabled() -> bool:
    return bool(settings.GRIP_URL)


def publish(stored: list[StoredEvent]) -> None:
    if not enabled() or not stored:
        return
    from django_eventstream.utils import publish_event

    for item in stored:
        try:
            publish_event(
                item.channel,
                item.type,
                item.data,
                str(item.eid),
                str(item.eid - 1),
                skip_user_ids=[str(item.skip_user_id)] if item.skip_user_id else None,
                blocking=True,
            )
        except Exception:
            logger.warning(
                "Pushpin publish failed for %s:%s", item.channel, item.eid, exc_info=True
            )


def kick(user_id: int, channels: list[str]) -> None:
    """End the user's Pushpin-held streams on these channels."""
    if not enabled():
        return
    from django_eventstream.utils import publish_kick

    for channel in channels:
        try:
            publish_kick(str(user_id), channel)
        except Exception:
            logger.warning("Pushpin kick failed for user %s", user_id, exc_info=True)
