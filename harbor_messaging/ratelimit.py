"""Request budgets counted in Django's cache (Redis when REDIS_URL is set, so every process
shares them): per user, per IP and per tenant for each limited action, and failed logins.

Limits live in ``settings.HARBOR_RATE_LIMITS`` as ``{action: {scope: (count, seconds)}}``;
each is a fixed window of ``seconds`` in which at most ``count`` requests pass.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from .errors import RateLimited

logger = logging.getLogger(__name__)

SCOPES = ("user", "ip", "tenant")


@dataclass(frozen=True)
class Budget:
    count: int
    seconds: int


def _budget(action: str, scope: str) -> Budget | None:
    limits = settings.HARBOR_RATE_LIMITS.get(action, {})
    if scope not in limits:
        return None
    count, seconds = limits[scope]
    return Budget(int(count), max(1, int(seconds)))


def client_ip(request: HttpRequest) -> str:
    # Daphne fills REMOTE_ADDR from the connection; behind a proxy, run Daphne with
    # --proxy-headers so it is the client's address, not the proxy's.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _key(action: str, scope: str, ident: str, budget: Budget) -> tuple[str, int]:
    now = time.time()
    window = int(now // budget.seconds)
    retry = budget.seconds - int(now % budget.seconds)
    prefix = settings.HARBOR_RATE_LIMIT_PREFIX
    return f"{prefix}:{action}:{scope}:{ident}:{budget.seconds}:{window}", retry


def _idents(request: HttpRequest | None, tenant: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    if request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            found["user"] = str(user.pk)
        found["ip"] = client_ip(request)
    if tenant:
        found["tenant"] = tenant
    return found


def _windows(action: str, idents: dict[str, str]) -> Iterator[tuple[str, Budget, str, int]]:
    """(scope, budget, cache key, seconds left in the window) for each scope with a budget."""
    for scope, ident in idents.items():
        budget = _budget(action, scope)
        if budget is not None:
            key, retry = _key(action, scope, ident, budget)
            yield scope, budget, key, retry


def hit(action: str, idents: dict[str, str]) -> None:
    """Count one request against each budget; RateLimited (429, Retry-After) when one is spent.

    Call it before the work, so a refused request writes nothing.
    """
    refused: list[tuple[str, int]] = []
    for scope, budget, key, retry in _windows(action, idents):
        try:
            cache.add(key, 0, timeout=budget.seconds + 5)
            count = cache.incr(key)
        except Exception:
            # A cache outage must not stop people from messaging.
            logger.warning("rate limit %s unavailable", action, exc_info=True)
            return
        if count > budget.count:
            refused.append((scope, retry))
    if refused:
        retry = max(r for _, r in refused)
        raise RateLimited(
            "Too many requests; wait a little and try again.",
            retry_after=retry,
            details={"action": action, "scope": refused[0][0], "retryAfter": max(1, retry)},
        )


def check_rate(action: str, request: HttpRequest, *, tenant: str | None = None) -> None:
    """The one call a view makes: count this request for its user, its IP and its tenant."""
    hit(action, _idents(request, tenant))


def blocked_for(action: str, idents: dict[str, str]) -> int | None:
    """Seconds until the budgets allow again when one is already spent, without counting."""
    waits: list[int] = []
    for _scope, budget, key, retry in _windows(action, idents):
        try:
            count = int(cache.get(key) or 0)
        except Exception:
            logger.warning("rate limit %s unavailable", action, exc_info=True)
            return None
        if count >= budget.count:
            waits.append(retry)
    return max(waits) if waits else None


def record(action: str, idents: dict[str, str]) -> None:
    """Count an event (a failed login) without refusing it."""
    with contextlib.suppress(RateLimited):
        hit(action, idents)
