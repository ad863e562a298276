"""Stream channels and who may read them: a tenant's channel and each user's own in it.

``t-<slug>`` carries events meant for every member of the tenant; ``u-<userId>-<slug>``
carries one user's events in that tenant. A user's stream reads exactly those two.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from django_eventstream.channelmanager import ChannelManagerBase

from harbor_messaging.tenants.models import Membership, Tenant

_TENANT = re.compile(r"t-(?P<slug>[a-z0-9-]{1,50})")
_USER = re.compile(r"u-(?P<uid>[0-9]{1,18})-(?P<slug>[a-z0-9-]{1,50})")

# How long a "may read" answer is trusted in one process. A removal also kicks the
# member's streams at once (see actions); this bounds how stale any other path can be.
ACCESS_TTL = 5.0
READERS_BATCH = 500


def tenant_channel(slug: str) -> str:
    return f"t-{slug}"


def user_channel(user_id: int, slug: str) -> str:
    return f"u-{user_id}-{slug}"


def channels_for(user_id: int, slug: str) -> list[str]:
    return [tenant_channel(slug), user_channel(user_id, slug)]


def tenant_of(channel: str) -> str | None:
    match = _TENANT.fullmatch(channel) or _USER.fullmatch(channel)
    return match.group("slug") if match else None


_access_cache: dict[tuple[int, str], tuple[float, bool]] = {}


def may_read_tenant(user: User | AnonymousUser | None, slug: str, *, fresh: bool = False) -> bool:
    """A logged-in, active member of the tenant, or a global admin."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    key = (int(user.pk), slug)
    now = time.monotonic()
    cached = _access_cache.get(key)
    if not fresh and cached is not None and now - cached[0] < ACCESS_TTL:
        return cached[1]
    if user.is_superuser:
        allowed = Tenant.objects.filter(slug=slug).exists()
    else:
        allowed = Membership.objects.filter(user_id=user.pk, tenant__slug=slug).exists()
    if len(_access_cache) > 50_000:
        _access_cache.clear()
    _access_cache[key] = (now, allowed)
    return allowed


def readers_among(slug: str, user_ids: Iterable[int]) -> set[int]:
    """Which of these users may read the tenant now: may_read_tenant's rule, in bulk."""
    tenant_id = Tenant.objects.filter(slug=slug).values_list("pk", flat=True).first()
    if tenant_id is None:
        return set()
    wanted = sorted(set(user_ids))
    allowed: set[int] = set()
    for start in range(0, len(wanted), READERS_BATCH):
        batch = wanted[start : start + READERS_BATCH]
        members = Membership.objects.filter(tenant_id=tenant_id, user_id__in=batch)
        allowed.update(
            User.objects.filter(pk__in=batch, is_active=True)
            .filter(Q(is_superuser=True) | Q(pk__in=members.values("user_id")))
            .values_list("pk", flat=True)
        )
    return allowed


def forget_access(user_id: int, slug: str) -> None:
    _access_cache.pop((user_id, slug), None)


class HarborChannelManager(ChannelManagerBase):  # type: ignore[misc]
    """django-eventstream's channel manager: the two channels of the URL's tenant."""

    def get_channels_for_request(self, request: Any, view_kwargs: dict[str, Any]) -> set[str]:
        slug = view_kwargs["tenant_id"]
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return {tenant_channel(slug)}
        return set(channels_for(int(user.pk), slug))

    def can_read_channel(self, user: User | None, channel: str) -> bool:
        user_match = _USER.fullmatch(channel)
        if user_match is not None:
            if user is None or str(user.pk) != user_match.group("uid"):
                return False
            return may_read_tenant(user, user_match.group("slug"))
        tenant_match = _TENANT.fullmatch(channel)
        if tenant_match is not None:
            return may_read_tenant(user, tenant_match.group("slug"))
        return False

    def is_channel_reliable(self, channel: str) -> bool:
        return True
