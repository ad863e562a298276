"""Global admins' broadcasts: one Message per chosen tenant, sent in bulk.

Each tenant's copy has every member as a recipient (their own read state, rows inserted by
the send path's multi-row INSERTs) and goes out as one tenant-channel event, not one per
user. A tenant's copy names no other tenant, so none learns who else got it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from harbor_messaging.errors import Forbidden, InvalidInput
from harbor_messaging.media import actions as media_actions
from harbor_messaging.media.models import MediaFile
from harbor_messaging.tenants.models import Tenant

from .actions import check_draft, notify_message_sent
from .delivery import count_member_receivers, defer_member_deliveries
from .models import Broadcast, Message, MessageRecipient
from .rendering import rendered_body_fields


@dataclass(frozen=True)
class TenantReach:
    tenant: Tenant
    recipients: int
    read: int


def check_broadcast(*, user: User, broadcast: Broadcast) -> list[Tenant]:
    if not user.is_superuser:
        raise Forbidden("Only global admins may send broadcasts.")
    if broadcast.sent_at is not None:
        raise InvalidInput("This broadcast has been sent already.")
    check_draft(subject=broadcast.subject, body=broadcast.body, has_attachments=True)
    tenants = list(
        Tenant.objects.order_by("pk") if broadcast.all_tenants else broadcast.tenants.order_by("pk")
    )
    if not tenants:
        raise InvalidInput("Choose one or more tenants, or all of them.", field="tenants")
    return tenants


def check_broadcast_upload(
    *, uploaded: UploadedFile[bytes], tenants: Sequence[Tenant]
) -> media_actions.CheckedFile:
    """A file uploaded in the broadcast form, checked as the upload API checks one. It goes
    to every chosen tenant, so it must pass each one's limits: the smallest size, and only
    types all of them allow. FileRefused otherwise; the caller closes ``checked.upload``."""
    from harbor_messaging.media.selectors import allowed_types_for, max_file_size_for
    from harbor_messaging.media.uploads import hashed_copy

    if not tenants:
        raise InvalidInput("Choose one or more tenants, or all of them.", field="tenants")
    limit = min(max_file_size_for(t) for t in tenants)
    allowed = frozenset.intersection(*(allowed_types_for(t) for t in tenants))
    upload = hashed_copy(uploaded, limit=limit)
    try:
        return media_actions.check_upload(upload, limit=limit, allowed=allowed)
    except BaseException:
        upload.close()
        raise


def do_keep_broadcast_upload(
    *, user: User, broadcast: Broadcast, checked: media_actions.CheckedFile, tenant: Tenant
) -> MediaFile:
    """Keep the checked file in the admin's media library (under the first chosen tenant)
    and pick it for the broadcast, like a file chosen from the library."""
    [row] = media_actions.do_add_files(
        tenant=tenant, owner=user, checked=[checked], origin=MediaFile.Origin.MEDIA_LIBRARY
    )
    broadcast.media_files.add(row)
    return row


def do_send_broadcast(*, user: User, broadcast: Broadcast) -> list[Message]:
    """Every member of each chosen tenant receives the broadcast; events after the commit."""
    from attachments.actions import FileToAttach, do_attach_files
    from attachments.models import MessageAttachment
    from linkpreview.actions import do_record_links

    files = [
        FileToAttach(media_file=f, attachment_type=MessageAttachment.Type.MEDIA_LIBRARY)
        for f in broadcast.media_files.order_by("pk")
    ]
    sent: list[Message] = []
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        tenants = check_broadcast(user=user, broadcast=locked)
        for tenant in tenants:
            message = Message.objects.create(
                tenant=tenant,
                sender=user,
                subject=locked.subject.strip(),
                body=locked.body,
                **rendered_body_fields(locked.body),
                audience=Message.Audience.BROADCAST,
                is_broadcast=True,
                recipient_count=0,
                broadcast=locked,
            )
            count_member_receivers(message=message)
            if files:
                do_attach_files(message=message, files=files, notify=False)
            do_record_links(message=message)
            # Not a direct message: one event on the tenant's channel for all its members.
            notify_message_sent(message=message, tenant=tenant, recipient_ids=[])
            # Its members' rows once the commit is done and the event out (delivery.py).
            defer_member_deliveries(message=message, tenant=tenant)
            sent.append(message)
        locked.sent_at = timezone.now()
        locked.save(update_fields=["sent_at"])
    broadcast.sent_at = locked.sent_at
    return sent


def broadcast_reach(broadcast: Broadcast) -> list[TenantReach]:
    """Per tenant: how many members it reached and how many have read it."""
    rows = (
        MessageRecipient.objects.filter(message__broadcast_id=broadcast.pk)
        .values("tenant_id")
        .annotate(recipients=Count("pk"), read=Count("pk", filter=Q(read_at__isnull=False)))
    )
    by_tenant: dict[int, dict[str, int]] = {
        int(r["tenant_id"]): {"recipients": int(r["recipients"]), "read": int(r["read"])}
        for r in rows
    }
    nothing = {"recipients": 0, "read": 0}
    tenant_ids = Message.objects.filter(broadcast_id=broadcast.pk).values("tenant_id")
    return [
        TenantReach(
            tenant=t,
            recipients=by_tenant.get(t.pk, nothing)["recipients"],
            read=by_tenant.get(t.pk, nothing)["read"],
        )
        for t in Tenant.objects.filter(pk__in=tenant_ids).order_by("name")
    ]
