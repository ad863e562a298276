"""The app bar's Messaging badge: the unread count in the current tenant, on every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from harbor_messaging.tenants.models import Tenant
from harbor_messaging.tenants.selectors import current_tenant_slug

from .selectors import unread_count_for


def unread_badge(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    slug = current_tenant_slug(request)
    tenant = Tenant.objects.filter(slug=slug).first() if slug else None
    if tenant is None:
        return {"messaging_unread_count": 0}
    return {"messaging_unread_count": unread_count_for(user.pk, tenant)}
