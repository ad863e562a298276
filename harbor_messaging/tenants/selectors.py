"""Reads about tenants: which a user belongs to, in which role, and the current one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from harbor_messaging.errors import InvalidInput, NotFound

from .models import Membership, Tenant

SESSION_TENANT_KEY = "harbor_tenant"
_SLUG_RE = re.compile(r"[a-z0-9-]{1,50}")


@dataclass(frozen=True)
class TenantAccess:
    """What a user may do in one tenant."""

    tenant: Tenant
    membership: Membership | None
    is_global_admin: bool

    @property
    def is_member(self) -> bool:
        return self.membership is not None

    @property
    def can_message_all(self) -> bool:
        return self.is_global_admin or (
            self.membership is not None and self.membership.is_tenant_admin
        )


def memberships_of(user: User | AnonymousUser) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user_id=user.pk).select_related("tenant").order_by("tenant__name")
    )


def tenant_access(user: User | AnonymousUser, slug: object) -> TenantAccess:
    """The user's access to the tenant named by ``slug``; 404 when it is not theirs to see."""
    if not isinstance(slug, str) or not _SLUG_RE.fullmatch(slug):
        raise InvalidInput("tenantId must be a tenant slug ([a-z0-9-]{1,50}).", field="tenantId")
    if not user.is_authenticated:
        raise NotFound("No such tenant.")
    membership = (
        Membership.objects.filter(user_id=user.pk, tenant__slug=slug)
        .select_related("tenant")
        .first()
    )
    if membership is not None:
        return TenantAccess(membership.tenant, membership, bool(user.is_superuser))
    if user.is_superuser:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            return TenantAccess(tenant, None, True)
    raise NotFound("No such tenant.", details={"field": "tenantId"})


def current_tenant_slug(request: HttpRequest) -> str | None:
    """The tenant the user switched to in the app bar, else their first one."""
    memberships = memberships_of(request.user)
    slugs = [m.tenant.slug for m in memberships]
    chosen = request.session.get(SESSION_TENANT_KEY)
    if chosen in slugs:
        return str(chosen)
    if slugs:
        return slugs[0]
    if request.user.is_authenticated and request.user.is_superuser:
        if isinstance(chosen, str) and Tenant.objects.filter(slug=chosen).exists():
            return chosen
        first = Tenant.objects.order_by("name").values_list("slug", flat=True).first()
        return first
    return None


def tenant_access_for_request(request: HttpRequest, slug: object | None) -> TenantAccess:
    """The access for ``slug``, or for the current tenant when the client named none."""
    if slug is None or slug == "":
        current = current_tenant_slug(request)
        if current is None:
            raise NotFound("You belong to no tenant.", details={"field": "tenantId"})
        slug = current
    return tenant_access(request.user, slug)


def link_previews_enabled_for(tenant: Tenant) -> bool:
    """Whether links in the tenant's messages get previews: on unless switched off for the
    whole site (LINKPREVIEW_ENABLED=0) or for this tenant by an admin."""
    from django.conf import settings

    from .models import TenantSettings

    if not settings.LINKPREVIEW_ENABLED:
        return False
    own = (
        TenantSettings.objects.filter(tenant_id=tenant.pk)
        .values_list("link_previews_enabled", flat=True)
        .first()
    )
    return True if own is None else bool(own)
