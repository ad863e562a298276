"""Writes: attach media files to a message, remove them, and upload-then-attach.

Each change locks the message row and recounts its attachments under that lock, so
``has_attachments`` / ``attachment_count`` stay exact however many requests race; the
events go out only after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from harbor_messaging.errors import Forbidden, InvalidInput, NotFound
from harbor_messaging.media import actions as media_actions
from harbor_messaging.media.actions import CheckedFile
from harbor_messaging.media.models import MediaFile
from harbor_messaging.media.selectors import own_files
from harbor_messaging.tenants.models import Tenant
from messaging import events
from messaging.models import Message, MessageRecipient
from messaging.selectors import message_for_viewer

from .models import MessageAttachment
from .selectors import attachment_json

MAX_PER_MESSAGE = 50


@dataclass(frozen=True)
class FileToAttach:
    media_file: MediaFile
    attachment_type: str


# -- checks ----------------------------------------------------------------------------------


def check_files_to_attach(
    *,
    user: User,
    tenant: Tenant,
    upload_ids: Sequence[int] = (),
    media_file_ids: Sequence[int] = (),
) -> list[FileToAttach]:
    """The user's own files in the tenant: uploads (``attachmentUploadIds``, desktop uploads)
    and library files (``mediaFileIds``). Any other id is 404, as another tenant's file is."""
    wanted = list(dict.fromkeys([*upload_ids, *media_file_ids]))
    if len(wanted) > MAX_PER_MESSAGE:
        raise InvalidInput(
            f"At most {MAX_PER_MESSAGE} attachments on a message.",
            field="mediaFileIds",
            details={"maxItems": MAX_PER_MESSAGE},
        )
    found = own_files(user, tenant, wanted) if wanted else {}
    out: list[FileToAttach] = []
    seen: set[int] = set()
    for field, ids, kind in (
        ("attachmentUploadIds", upload_ids, MessageAttachment.Type.UPLOAD),
        ("mediaFileIds", media_file_ids, MessageAttachment.Type.MEDIA_LIBRARY),
    ):
        unknown = [i for i in ids if i not in found]
        if kind == MessageAttachment.Type.UPLOAD:
            unknown += [i for i in ids if i in found and found[i].origin != MediaFile.Origin.UPLOAD]
        if unknown:
            # As for unknown recipients: 400, the same for a file that does not exist and one
            # in another tenant or library, so nothing is told about other people's files.
            raise InvalidInput(
                f"{field} names no file of yours in this tenant.",
                field=field,
                details={"unknown": unknown},
            )
        for i in ids:
            if i not in seen:
                seen.add(i)
                out.append(FileToAttach(found[i], kind))
    return out


def check_sender_of(*, user: User, message_id: int) -> Message:
    """The user's own live message; 404 when they cannot see it, 403 when not theirs."""
    viewed = message_for_viewer(user=user, message_id=message_id)
    if viewed.message.sender_id != user.pk:
        raise Forbidden("Only the sender may change this message's attachments.")
    return viewed.message


# -- attach ----------------------------------------------------------------------------------


def _recount(message_id: int) -> int:
    count = MessageAttachment.objects.filter(message_id=message_id).count()
    Message.objects.filter(pk=message_id).update(
        attachment_count=count, has_attachments=count > 0, updated_at=timezone.now()
    )
    return count


def do_attach_files(
    *, message: Message, files: Sequence[FileToAttach], notify: bool = True
) -> list[MessageAttachment]:
    """Attach the files (those already on the message are left as they are); returns the
    message's attachments for these files. ``notify=False`` on send: message:new carries them."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        # Locked too, so neither a delete nor the clean-up takes a file while it is attached.
        wanted = [f.media_file.pk for f in files]
        present = set(
            MediaFile.objects.select_for_update().filter(pk__in=wanted).values_list("pk", flat=True)
        )
        if len(present) < len(set(wanted)):
            raise InvalidInput(
                "mediaFileIds names no file of yours in this tenant.",
                field="mediaFileIds",
                details={"unknown": [i for i in wanted if i not in present]},
            )
        by_file = {
            a.media_file_id: a
            for a in MessageAttachment.objects.filter(
                message_id=locked.pk, media_file_id__in=[f.media_file.pk for f in files]
            )
        }
        new = [f for f in files if f.media_file.pk not in by_file]
        before = MessageAttachment.objects.filter(message_id=locked.pk).count()
        if before + len(new) > MAX_PER_MESSAGE:
            raise InvalidInput(
                f"At most {MAX_PER_MESSAGE} attachments on a message.",
                field="mediaFileIds",
                details={"maxItems": MAX_PER_MESSAGE},
            )
        created = []
        for item in new:
            media_file = item.media_file
            attachment = MessageAttachment.objects.create(
                message_id=locked.pk,
                media_file=media_file,
                attachment_type=item.attachment_type,
                file_name=media_file.name,
                file_size=media_file.size,
                content_type=media_file.content_type,
            )
            by_file[media_file.pk] = attachment
            created.append(attachment)
        if created:
            MediaFile.objects.filter(
                pk__in=[a.media_file_id for a in created], first_attached_at__isnull=True
            ).update(first_attached_at=timezone.now())
            count = _recount(locked.pk)
            message.attachment_count, message.has_attachments = count, count > 0
            if notify:
                notify_attachments_added(
                    message=locked, attachments=created, count_after=count, files=files
                )
    return [by_file[f.media_file.pk] for f in files]


def do_upload_and_attach(
    *, user: User, message_id: int, tenant: Tenant, checked: Sequence[CheckedFile]
) -> list[MessageAttachment]:
    """Desktop uploads straight onto a sent message: stored, recorded and attached together,
    or (when anything fails) nothing of them kept."""
    message = check_sender_of(user=user, message_id=message_id)
    if message.tenant_id != tenant.pk:
        raise NotFound("No such message.")
    with (
        media_actions.stored_files(
            tenant=tenant, owner=user, checked=checked, origin=MediaFile.Origin.UPLOAD
        ) as rows,
        transaction.atomic(),
    ):
        for row in rows:
            row.save()
        return do_attach_files(
            message=message,
            files=[FileToAttach(row, MessageAttachment.Type.UPLOAD) for row in rows],
        )


# -- remove ----------------------------------------------------------------------------------


def do_remove_attachment(*, user: User, attachment_id: int) -> None:
    with transaction.atomic():
        attachment = MessageAttachment.objects.filter(pk=attachment_id).first()
        if attachment is None:
            raise NotFound("No such attachment.")
        try:
            check_sender_of(user=user, message_id=attachment.message_id)
        except NotFound:
            raise NotFound("No such attachment.") from None
        _remove(attachment)


def do_remove_attachments_of_file(*, media_file: MediaFile) -> int:
    """Take the file off every message it is attached to (before the file is deleted)."""
    removed = 0
    for attachment in MessageAttachment.objects.filter(media_file_id=media_file.pk).order_by("id"):
        _remove(attachment)
        removed += 1
    return removed


def _remove(attachment: MessageAttachment) -> None:
    locked = Message.objects.select_for_update().get(pk=attachment.message_id)
    deleted, _ = MessageAttachment.objects.filter(pk=attachment.pk).delete()
    if not deleted:  # Removed by a request that held the lock first.
        raise NotFound("No such attachment.")
    count = _recount(locked.pk)
    notify_attachment_removed(message=locked, attachment_id=attachment.pk, count_after=count)


# -- events ----------------------------------------------------------------------------------


def _targets(message: Message) -> list[tuple[tuple[int, ...], bool]]:
    """As messaging notifies: the sender and the recipients still holding a direct message;
    for a whole-tenant message the tenant channel, skipping the sender, plus the sender's copy."""
    if message.audience == Message.Audience.DIRECT:
        recipients = MessageRecipient.objects.filter(
            message_id=message.pk, deleted_at__isnull=True
        ).values_list("user_id", flat=True)
        return [((message.sender_id, *recipients), False)]
    return [((message.sender_id,), False), ((), True)]


def _publish(message: Message, type_: str, payloads: list[dict[str, object]]) -> None:
    slug = message.tenant.slug
    targets = _targets(message)
    events.publish_on_commit(
        [
            events.MessageEvent(
                type_,
                slug,
                message.pk,
                payload,
                user_ids=user_ids,
                to_tenant=to_tenant,
                skip_user_ids=(message.sender_id,) if to_tenant else (),
            )
            for payload in payloads
            for user_ids, to_tenant in targets
        ]
    )


def notify_attachments_added(
    *,
    message: Message,
    attachments: list[MessageAttachment],
    count_after: int,
    files: Sequence[FileToAttach],
) -> None:
    thumbs = {f.media_file.pk: bool(f.media_file.thumbnail) for f in files}
    first = count_after - len(attachments) + 1
    _publish(
        message,
        events.MESSAGE_ATTACHMENT_ADDED,
        [
            {
                "attachment": attachment_json(a, has_thumbnail=thumbs.get(a.media_file_id, False)),
                "attachmentCount": first + i,
                "hasAttachments": True,
            }
            for i, a in enumerate(attachments)
        ],
    )


def notify_attachment_removed(*, message: Message, attachment_id: int, count_after: int) -> None:
    _publish(
        message,
        events.MESSAGE_ATTACHMENT_REMOVED,
        [
            {
                "id": attachment_id,
                "attachmentId": attachment_id,
                "attachmentCount": count_after,
                "hasAttachments": count_after > 0,
            }
        ],
    )
