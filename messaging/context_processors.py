"""The app bar's Messaging badge and the page's stream position, on every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from harbor_messaging.tenants.models import Tenant
from harbor_messaging.tenants.selectors import current_tenant_slug

from . import stream
from .selectors import unread_count_for

# Set on the request by whichever code reads page data first (the messaging view, or the
# badge below): the position must be taken before any count or list is read.
_POSITION_ATTR = "_harbor_stream_position"


def stream_position(request: HttpRequest, tenant_slug: str, *, user_id: int) -> str:
    """The event id current now for this user and tenant, read once per request.

    A page starts its stream here, so an event committed after this point but before the
    counts and rows were read is replayed, and the script drops it by message id.
    """
    cached: tuple[str, str] | None = getattr(request, _POSITION_ATTR, None)
    if cached is not None and cached[0] == tenant_slug:
        return cached[1]
    position = stream.current_event_id(user_id, tenant_slug)
    setattr(request, _POSITION_ATTR, (tenant_slug, position))
    return position


def unread_badge(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    slug = current_tenant_slug(request)
    tenant = Tenant.objects.filter(slug=slug).first() if slug else None
    if tenant is None:
        return {"messaging_unread_count": 0}
    position = stream_position(request, tenant.slug, user_id=user.pk)
    return {
        "messaging_stream_url": reverse("api-stream", kwargs={"tenant_id": tenant.slug}),
        "messaging_last_event_id": position,
        "messaging_stream_retry_ms": stream.RETRY_MS,
        "messaging_stream_silence_ms": stream.silence_ms(),
        "messaging_unread_count": unread_count_for(user.pk, tenant),
    }
