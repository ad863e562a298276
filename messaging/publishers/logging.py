"""A publisher that only logs: the default until the event stream is configured."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .base import EventPublisher

if TYPE_CHECKING:
    from messaging.events import MessageEvent

logger = logging.getLogger("messaging.events")


class LoggingPublisher(EventPublisher):
    def publish(self, prepared: list[MessageEvent]) -> None:
        for event in prepared:
            logger.debug(
                "%s message=%s tenant=%s users=%s tenant_wide=%s",
                event.type,
                event.message_id,
                event.tenant_slug,
                event.user_ids,
                event.to_tenant,
            )
