"""The Harbor app bar's data on every page: the user's tenants and the current one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .selectors import current_tenant_slug, memberships_of


def harbor(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = memberships_of(user)
    current = current_tenant_slug(request)
    tenant_name = next((m.tenant.name for m in memberships if m.tenant.slug == current), current)
    return {
        "harbor_memberships": memberships,
        "harbor_tenant_slug": current,
        "harbor_tenant_name": tenant_name,
    }
