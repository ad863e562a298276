"""Reads: a member's library, one of their files, and the size limit that applies."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet

from harbor_messaging.errors import NotFound
from harbor_messaging.tenants.models import Membership, Tenant

from .filetypes import ALLOWED
from .models import MediaFile, MediaSettings, TenantMediaSettings

LIBRARY_PAGE = 100


def global_max_file_size() -> int:
    row = MediaSettings.objects.filter(pk=1).values_list("max_file_size", flat=True).first()
    return int(row) if row is not None else int(settings.HARBOR_MEDIA_DEFAULT_MAX_FILE_SIZE)


def tenant_override(tenant: Tenant) -> int | None:
    """The tenant's own limit, or None when it uses the global default."""
    own = (
        TenantMediaSettings.objects.filter(tenant_id=tenant.pk)
        .values_list("max_file_size", flat=True)
        .first()
    )
    return int(own) if own is not None else None


def max_file_size_for(tenant: Tenant) -> int:
    """The tenant's own limit, else the global default (25 MiB unless an admin set one)."""
    own = (
        TenantMediaSettings.objects.filter(tenant_id=tenant.pk)
        .values_list("max_file_size", flat=True)
        .first()
    )
    return int(own) if own is not None else global_max_file_size()


def global_allowed_types() -> frozenset[str]:
    """The global list, else every type Harbor accepts (never more than ALLOWED)."""
    row = MediaSettings.objects.filter(pk=1).values_list("allowed_types", flat=True).first()
    chosen = frozenset(row or []) & frozenset(ALLOWED)
    return chosen or frozenset(ALLOWED)


def tenant_allowed_types(tenant: Tenant) -> list[str]:
    """The tenant's own list as set, or [] when it uses the global list."""
    own = (
        TenantMediaSettings.objects.filter(tenant_id=tenant.pk)
        .values_list("allowed_types", flat=True)
        .first()
    )
    return sorted(own or [])


def allowed_types_for(tenant: Tenant) -> frozenset[str]:
    """The tenant's own list, else the global list. Always within the global list: if the
    global list later narrows, the tenant keeps only what both allow (never more)."""
    ceiling = global_allowed_types()
    own = tenant_allowed_types(tenant)
    return frozenset(own) & ceiling if own else ceiling


def largest_limit_for(user: User) -> int:
    """The largest limit among the user's tenants (every tenant's, for a global admin)."""
    tenants = Tenant.objects.all()
    if not user.is_superuser:
        tenants = tenants.filter(
            pk__in=Membership.objects.filter(user_id=user.pk).values("tenant_id")
        )
    overrides = [
        v
        for v in TenantMediaSettings.objects.filter(tenant__in=tenants).values_list(
            "max_file_size", flat=True
        )
        if v is not None
    ]
    return max([global_max_file_size(), *overrides])


def library_of(user: User, tenant: Tenant) -> QuerySet[MediaFile]:
    return MediaFile.objects.filter(tenant_id=tenant.pk, owner_id=user.pk).order_by(
        "-created_at", "-id"
    )


def own_files(user: User, tenant: Tenant, ids: list[int]) -> dict[int, MediaFile]:
    return {f.pk: f for f in library_of(user, tenant).filter(pk__in=ids)}


def own_file(user: User, file_id: int) -> MediaFile:
    """One of the user's files, in a tenant they still belong to; 404 otherwise."""
    files = MediaFile.objects.filter(pk=file_id, owner_id=user.pk).select_related("tenant")
    if not user.is_superuser:
        files = files.filter(tenant__memberships__user_id=user.pk)
    media_file = files.first()
    if media_file is None:
        raise NotFound("No such file.")
    return media_file


def media_file_json(media_file: MediaFile) -> dict[str, Any]:
    from messaging.serialization import iso

    return {
        "id": media_file.pk,
        "fileName": media_file.name,
        "fileSize": media_file.size,
        "contentType": media_file.content_type,
        "createdAt": iso(media_file.created_at),
        "origin": media_file.origin,
        "scanState": media_file.scan_state,
        "url": f"/api/media/files/{media_file.pk}/download",
        "thumbnailUrl": (
            f"/api/media/files/{media_file.pk}/thumbnail" if media_file.thumbnail else None
        ),
    }
