"""Writes for the media library: check each upload (check_*), keep it (do_*), and remove
files from storage only after the database change commits."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from harbor_messaging.errors import Forbidden, InvalidInput
from harbor_messaging.tenants.models import Tenant
from harbor_messaging.tenants.selectors import TenantAccess

from . import errors, filetypes, images
from .models import MediaFile, TenantMediaSettings
from .names import clean_file_name
from .scanners import get_scanner
from .selectors import allowed_types_for, global_allowed_types, own_file
from .uploads import HashedUpload

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check, not kept anywhere yet."""

    upload: HashedUpload
    name: str
    size: int
    content_type: str
    checksum: str
    scan_state: str
    thumbnail: bytes | None


# -- checks ----------------------------------------------------------------------------------


def check_upload(upload: HashedUpload, *, limit: int, allowed: Collection[str]) -> CheckedFile:
    """Name, size, type by the bytes, malware, image sanity: a CheckedFile or FileRefused."""
    name = clean_file_name(str(upload.name or ""))
    size = int(upload.size or 0)
    if size == 0:
        raise errors.rejected(name, "empty", "the file is empty.")
    if size > limit:
        raise errors.too_large(name, limit)
    path = upload.temporary_file_path()
    content_type = filetypes.sniff(path)
    if not filetypes.is_allowed(content_type, within=allowed):
        raise errors.unsupported_type(name, content_type)
    result = get_scanner().scan(path)
    if result.infected:
        raise errors.infected(name, str(result.signature))
    thumbnail = None
    if content_type in filetypes.THUMBNAIL_TYPES:
        thumbnail = images.make_thumbnail(path, content_type=content_type, file_name=name)
    upload.seek(0)
    return CheckedFile(
        upload=upload,
        name=name,
        size=size,
        content_type=content_type,
        checksum=upload.sha256,
        scan_state=(
            MediaFile.ScanState.CLEAN if result.scanned else MediaFile.ScanState.NOT_SCANNED
        ),
        thumbnail=thumbnail,
    )


def check_uploads(
    uploads: Sequence[HashedUpload], *, limit: int, allowed: Collection[str]
) -> list[CheckedFile]:
    """Every file checked before any is kept: the first refusal refuses the request."""
    return [check_upload(upload, limit=limit, allowed=allowed) for upload in uploads]


# -- keep ------------------------------------------------------------------------------------


def _key(tenant: Tenant, folder: str, extension: str) -> str:
    # Storage keys never carry a user's file name: only the tenant, the month and a uuid.
    now = timezone.now()
    return f"{folder}/{tenant.slug}/{now:%Y/%m}/{uuid.uuid4().hex}.{extension}"


@contextmanager
def stored_files(
    *, tenant: Tenant, owner: User, checked: Sequence[CheckedFile], origin: str
) -> Iterator[list[MediaFile]]:
    """Put the files in storage and yield unsaved MediaFile rows for them; the caller saves
    the rows inside its transaction. If anything in the block fails, the stored bytes are
    deleted again, so a refused or failed request leaves nothing in storage."""
    kept: list[str | None] = []
    rows: list[MediaFile] = []
    try:
        for item in checked:
            key = default_storage.save(
                _key(tenant, "library", filetypes.extension_for(item.content_type)), item.upload
            )
            kept.append(key)
            thumb_key = ""
            if item.thumbnail is not None:
                thumb_key = default_storage.save(
                    _key(tenant, "thumbnails", "webp"), ContentFile(item.thumbnail)
                )
                kept.append(thumb_key)
            rows.append(
                MediaFile(
                    tenant=tenant,
                    owner=owner,
                    origin=origin,
                    file=key,
                    thumbnail=thumb_key,
                    name=item.name,
                    size=item.size,
                    content_type=item.content_type,
                    checksum=item.checksum,
                    scan_state=item.scan_state,
                )
            )
        yield rows
    except BaseException:
        for stored in kept:
            _delete_quietly(stored)
        raise


def do_add_files(
    *, tenant: Tenant, owner: User, checked: Sequence[CheckedFile], origin: str
) -> list[MediaFile]:
    with (
        stored_files(tenant=tenant, owner=owner, checked=checked, origin=origin) as rows,
        transaction.atomic(),
    ):
        for row in rows:
            row.save()
    return rows


# -- delete ----------------------------------------------------------------------------------


def _delete_quietly(key: str | None) -> None:
    if not key:
        return
    try:
        default_storage.delete(key)
    except Exception:  # A storage hiccup leaves an orphan to sweep, never a failed request.
        logger.exception("could not delete %s from storage", key)


def delete_from_storage_on_commit(keys: list[str | None]) -> None:
    wanted = [k for k in keys if k]
    if wanted:

        def delete() -> None:
            for key in wanted:
                _delete_quietly(key)

        transaction.on_commit(delete, robust=True)


def do_delete_media_file(*, user: User, file_id: int) -> None:
    """Delete one of the user's files: it leaves every message it was attached to first
    (each removal counted and announced as the attachments app does), then storage."""
    from attachments.actions import do_remove_attachments_of_file

    with transaction.atomic():
        media_file = own_file(user, file_id)
        locked = MediaFile.objects.select_for_update().get(pk=media_file.pk)
        do_remove_attachments_of_file(media_file=locked)
        keys = [locked.file.name, locked.thumbnail.name]
        locked.delete()
        delete_from_storage_on_commit(keys)


def do_delete_unattached_uploads(
    *, older_than: datetime, batch: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Remove desktop uploads that were never attached and are older than ``older_than``."""
    deleted = 0
    while True:
        with transaction.atomic():
            rows = list(
                MediaFile.objects.select_for_update(skip_locked=True)
                .filter(
                    origin=MediaFile.Origin.UPLOAD,
                    first_attached_at__isnull=True,
                    created_at__lt=older_than,
                )
                .order_by("id")[:batch]
            )
            if not rows:
                return deleted
            keys = [k for row in rows for k in (row.file.name, row.thumbnail.name)]
            MediaFile.objects.filter(pk__in=[r.pk for r in rows]).delete()
            delete_from_storage_on_commit(keys)
        deleted += len(rows)
        if progress is not None:
            progress(deleted)


def do_add_file_from_bytes(
    *, tenant: Tenant, owner: User, name: str, content: bytes, origin: str, limit: int
) -> MediaFile:
    """Keep bytes made on the server (demo data, commands) through the same checks."""
    import hashlib

    upload = HashedUpload(name, "application/octet-stream", len(content), None)
    try:
        upload.write(content)
        upload.flush()
        upload.seek(0)
        upload.sha256 = hashlib.sha256(content).hexdigest()
        checked = check_uploads([upload], limit=limit, allowed=allowed_types_for(tenant))
        [row] = do_add_files(tenant=tenant, owner=owner, checked=checked, origin=origin)
        return row
    finally:
        upload.close()


def check_limit_setter(access: TenantAccess) -> None:
    if not (access.is_global_admin or (access.membership and access.membership.is_tenant_admin)):
        raise Forbidden("Only the tenant's admins may set its attachment limit.")


def do_set_tenant_limit(
    *,
    access: TenantAccess,
    max_file_size: int | None,
    allowed_types: Collection[str] | None = None,
) -> None:
    """A tenant admin's (or a global admin's) own limits for their tenant: the size (None:
    the default) and, when given, the allowed types (empty: the global list)."""
    check_limit_setter(access)
    cap = int(settings.HARBOR_MEDIA_MAX_FILE_SIZE_CAP)
    if max_file_size is not None and not 1 <= max_file_size <= cap:
        raise InvalidInput(f"The limit must be from 1 byte to {cap} bytes.", field="maxFileSize")
    values: dict[str, object] = {"max_file_size": max_file_size}
    if allowed_types is not None:
        refused = filetypes.outside(allowed_types, within=global_allowed_types())
        if refused:
            raise InvalidInput(
                _("The global settings do not allow these types: %(types)s.")
                % {"types": ", ".join(refused)},
                field="allowedTypes",
            )
        values["allowed_types"] = sorted(set(allowed_types))
    TenantMediaSettings.objects.update_or_create(tenant=access.tenant, defaults=values)
