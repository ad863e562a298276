"""Per-user request budgets for the link endpoints, counted in Django's cache (shared by all
processes when the cache is Redis)."""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

from harbor_messaging.errors import RateLimited

logger = logging.getLogger(__name__)

# Requests a user may make in a minute, by what they do.
BUDGETS = {"process": 120, "preview": 120, "refresh": 20, "remove": 60}
KEY_PREFIX = "linkpreview-rate"


def check_rate(user_id: int, action: str) -> None:
    """RateLimited (429 with Retry-After) once the user spent this minute's budget."""
    per_minute = BUDGETS[action]
    window = int(time.time() // 60)
    key = f"{KEY_PREFIX}:{action}:{user_id}:{window}"
    try:
        cache.add(key, 0, timeout=120)
        count = cache.incr(key)
    except Exception:
        # A cache outage must not stop people from writing messages.
        logger.warning("link preview rate limit unavailable", exc_info=True)
        return
    if count > per_minute:
        raise RateLimited(
            "Too many link requests; wait a little.", retry_after=60 - int(time.time() % 60)
        )
