"""Writes for the platform pieces: tenants, members and global admins (used by commands)."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.db import transaction

from harbor_messaging.errors import Forbidden, InvalidInput

from .models import SLUG_PATTERN, Membership, Tenant, TenantSettings
from .selectors import TenantAccess


def do_create_tenant(*, slug: str, name: str) -> tuple[Tenant, bool]:
    """Create the tenant, or rename the one with that slug; returns (tenant, created)."""
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise InvalidInput("The slug must be 1–50 of a–z, 0–9 and '-'.", field="slug")
    name = name.strip() or slug
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name})
    if not created and tenant.name != name:
        tenant.name = name
        tenant.save(update_fields=["name"])
    return tenant, created


def _set_user(*, username: str, password: str | None, email: str | None, name: str | None) -> User:
    user, _ = User.objects.get_or_create(username=username)
    if email is not None:
        user.email = email
    if name:
        first, _, last = name.strip().partition(" ")
        user.first_name, user.last_name = first, last
    if password:
        user.set_password(password)
    user.is_active = True
    user.save()
    return user


@transaction.atomic
def do_create_member(
    *,
    username: str,
    tenant_slug: str,
    role: str = Membership.Role.SUBSCRIBER,
    password: str | None = None,
    email: str | None = None,
    name: str | None = None,
) -> Membership:
    """Create (or update) the user and give them the role in the tenant."""
    if role not in Membership.Role.values:
        raise InvalidInput(
            f"role must be one of {', '.join(Membership.Role.values)}.", field="role"
        )
    tenant = Tenant.objects.filter(slug=tenant_slug).first()
    if tenant is None:
        raise InvalidInput(f"There is no tenant {tenant_slug!r}.", field="tenant")
    user = _set_user(username=username, password=password, email=email, name=name)
    membership, created = Membership.objects.get_or_create(
        user=user, tenant=tenant, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def do_create_global_admin(*, username: str, password: str, email: str | None = None) -> User:
    user = _set_user(username=username, password=password, email=email, name=None)
    user.is_staff = True
    user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


@transaction.atomic
def do_remove_member(*, membership: Membership) -> None:
    """Remove a member from a tenant; their open streams on it end in every process."""
    from messaging.access import notify_member_removed

    user_id, slug = membership.user_id, membership.tenant.slug
    membership.delete()
    notify_member_removed(user_id=user_id, tenant_slug=slug)


def check_tenant_admin(access: TenantAccess) -> None:
    if not (access.is_global_admin or (access.membership and access.membership.is_tenant_admin)):
        raise Forbidden("Only the tenant's admins may change its settings.")


def do_set_link_previews(*, access: TenantAccess, enabled: bool) -> None:
    """Link previews on or off for the tenant (a tenant admin's own, or a global admin)."""
    check_tenant_admin(access)
    TenantSettings.objects.update_or_create(
        tenant=access.tenant, defaults={"link_previews_enabled": enabled}
    )
