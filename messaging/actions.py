"""Writes: each action checks (check_*), writes in one transaction (do_*), then notifies.

Events leave only through notify_*, which hands them to publish_on_commit(), so nothing is
published for a change that did not commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from harbor_messaging import sql
from harbor_messaging.errors import Forbidden, InvalidInput, NotFound
from harbor_messaging.tenants.models import Tenant
from harbor_messaging.tenants.selectors import TenantAccess

from . import counts as unread
from . import events
from .delivery import count_member_receivers, defer_member_deliveries, deliver_pending_if_any
from .models import BODY_MAX, RECIPIENTS_MAX, SUBJECT_MAX, Message, MessageRecipient
from .rendering import rendered_body_fields
from .selectors import (
    MEMBER_NAMES_SQL,
    ViewedMessage,
    member_names,
    message_for_viewer,
    messages_json,
    unread_count_for,
    unread_counts_for_users,
)
from .serialization import iso, name_from

ALL = "all"


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str


# -- checks ----------------------------------------------------------------------------------


def check_draft(*, subject: str, body: str, has_attachments: bool = False) -> Draft:
    if len(subject) > SUBJECT_MAX:
        raise InvalidInput(f"subject is longer than {SUBJECT_MAX} characters.", field="subject")
    if len(body) > BODY_MAX:
        raise InvalidInput(f"body is longer than {BODY_MAX} characters.", field="body")
    if not subject.strip() and not body.strip() and not has_attachments:
        raise InvalidInput("Write a subject or a body.", field="body")
    return Draft(subject=subject.strip(), body=body)


@dataclass(frozen=True)
class Recipients:
    # None for a whole-tenant message: every other active member, chosen by the insert.
    ids: list[int] | None
    audience: str
    # A direct message's recipients as its JSON lists them (Message.recipients_shown).
    shown: list[dict[str, Any]] | None


def check_recipients(
    *, access: TenantAccess, sender: User, recipient_ids: list[int] | Literal["all"]
) -> Recipients:
    """The recipients' user ids and the audience, or why they may not be addressed."""
    if recipient_ids == ALL:
        if not access.can_message_all:
            raise Forbidden("Only tenant admins may message the whole tenant.")
        return Recipients(None, Message.Audience.TENANT, None)
    assert isinstance(recipient_ids, list)
    ids = check_recipient_list(sender=sender, recipient_ids=recipient_ids)
    # The members' names in the same query that checks them, for the stored recipient list.
    return check_members(ids, member_names(access.tenant, among=ids))


def check_recipient_list(*, sender: User, recipient_ids: list[int]) -> list[int]:
    """Chosen recipients, before anyone is looked up: how many, and not the sender."""
    if not recipient_ids:
        raise InvalidInput("Choose at least one recipient.", field="recipientIds")
    if len(recipient_ids) > RECIPIENTS_MAX:
        raise InvalidInput(
            f"At most {RECIPIENTS_MAX} recipients.",
            field="recipientIds",
            details={"maxItems": RECIPIENTS_MAX},
        )
    if sender.pk in recipient_ids:
        raise InvalidInput("You cannot send a message to yourself.", field="recipientIds")
    return list(recipient_ids)


def check_members(ids: list[int], members: dict[int, str]) -> Recipients:
    """Direct recipients, each an active member (``members``: their names by id)."""
    unknown = [i for i in ids if i not in members]
    if unknown:
        raise InvalidInput(
            "Some recipients are not members of this tenant.",
            field="recipientIds",
            details={"unknown": unknown},
        )
    return Recipients(
        ids, Message.Audience.DIRECT, [{"id": uid, "name": members[uid]} for uid in ids]
    )


def check_reply_to(*, user: User, tenant: Tenant, reply_to_id: int | None) -> Message | None:
    if reply_to_id is None:
        return None
    try:
        viewed = message_for_viewer(user=user, message_id=reply_to_id)
    except NotFound as exc:
        raise InvalidInput("replyToId names no message you can see.", field="replyToId") from exc
    if viewed.message.tenant_id != tenant.pk:
        raise InvalidInput("replyToId names no message you can see.", field="replyToId")
    return viewed.message


def check_sender_of(*, user: User, message_id: int) -> ViewedMessage:
    viewed = message_for_viewer(user=user, message_id=message_id)
    if viewed.message.sender_id != user.pk:
        raise Forbidden("Only the sender may change this message.")
    return viewed


def check_recipient_of(*, user: User, message_id: int) -> ViewedMessage:
    viewed = message_for_viewer(user=user, message_id=message_id)
    if viewed.delivery is None:
        raise Forbidden("Only a recipient has read state for this message.")
    return viewed


# -- send ------------------------------------------------------------------------------------


def _delivery_rows(
    *, message: Message, tenant: Tenant, user_ids: list[int]
) -> tuple[str, list[tuple[Any, ...]]]:
    """The recipient rows of a direct message, as ``sql.insert_rows`` takes them."""
    table = connection.ops.quote_name(MessageRecipient._meta.db_table)
    created = connection.ops.adapt_datetimefield_value(message.created_at)
    return (
        f"{table} (message_id, user_id, tenant_id, created_at)",
        [(message.pk, uid, tenant.pk, created) for uid in user_ids],
    )


def _insert_deliveries(
    *, message: Message, tenant: Tenant, user_ids: list[int], sender_id: int
) -> dict[int, int] | None:
    """One recipient row per user, in multi-row INSERTs; on PostgreSQL, in the same
    statement, the unread counts the send's events carry (the sender's and the
    recipients', as ``unread_counts_for_users`` gives them after the insert), else None.

    The ORM's bulk_create builds a model instance per row; for a message to a whole tenant
    that Python work, not the database, was most of the send (5,000 rows: ~0.7 s).
    """
    head, rows = _delivery_rows(message=message, tenant=tenant, user_ids=user_ids)
    if connection.vendor != "postgresql" or len(rows) > sql.BATCH:
        sql.insert_rows(head, rows)
        return None
    # The counts below must include whole-tenant messages whose rows are still pending
    # (on the other path unread_counts_for_users sees to it).
    deliver_pending_if_any(tenant, [sender_id, *user_ids])
    # One round trip fewer (docs/performance.md). The counts read the statement's
    # snapshot, from before the rows it inserts: each recipient has one unread more.
    people = [sender_id, *user_ids]
    values, params = sql.values_list(rows)
    counts, to_fold = unread.read(
        sql.fetch(
            f"WITH delivered AS (INSERT INTO {head} VALUES {values}) " + unread.counts_sql(people),
            [*params, *people, tenant.pk],
        ),
        people,
    )
    unread.fold_later(tenant.pk, to_fold)
    for uid in user_ids:
        counts[uid] += 1
    return counts


def do_send_message(
    *,
    sender: User,
    access: TenantAccess,
    recipient_ids: list[int] | Literal["all"],
    subject: str,
    body: str,
    reply_to_id: int | None = None,
    attachment_upload_ids: Sequence[int] = (),
    media_file_ids: Sequence[int] = (),
    omit_link_previews: list[str] | tuple[str, ...] = (),
) -> Message:
    from attachments.actions import check_files_to_attach, do_attach_files

    tenant = access.tenant
    # Attachments: the sender's own files in this tenant; with any, the text may be empty.
    files = check_files_to_attach(
        user=sender, tenant=tenant, upload_ids=attachment_upload_ids, media_file_ids=media_file_ids
    )
    draft = check_draft(subject=subject, body=body, has_attachments=bool(files))
    reply_to = check_reply_to(user=sender, tenant=tenant, reply_to_id=reply_to_id)
    rendered = rendered_body_fields(draft.body)
    if (
        isinstance(recipient_ids, list)
        and not files
        and connection.vendor == "postgresql"
        # No link to store: the body is escaped before linkify, so "<a " is only a link.
        and "<a " not in rendered["body_html"]
    ):
        return _send_direct_at_once(
            sender=sender,
            access=access,
            ids=check_recipient_list(sender=sender, recipient_ids=recipient_ids),
            draft=draft,
            rendered=rendered,
            reply_to=reply_to,
        )
    with transaction.atomic():
        recipients = check_recipients(access=access, sender=sender, recipient_ids=recipient_ids)
        ids = recipients.ids or []
        message = _new_message(
            tenant=tenant,
            sender=sender,
            draft=draft,
            rendered=rendered,
            recipients=recipients,
            reply_to=reply_to,
        )
        message.save(force_insert=True)
        counts = None
        if recipients.ids is not None:
            counts = _insert_deliveries(
                message=message, tenant=tenant, user_ids=ids, sender_id=sender.pk
            )
        elif not count_member_receivers(message=message):
            raise InvalidInput("The tenant has no other members to message.", field="recipientIds")
        if files:
            # No attachment events: message:new below carries the attachments.
            do_attach_files(message=message, files=files, notify=False)
        # Links stored with the message; their previews are fetched after the commit.
        from linkpreview.actions import do_record_links

        do_record_links(message=message, omit=omit_link_previews)
        # Attachments and links leave the unread counts as the insert found them.
        notify_message_sent(message=message, tenant=tenant, recipient_ids=ids, counts=counts)
        if recipients.ids is None:
            # The members' rows after the commit, once the event is out (delivery.py).
            defer_member_deliveries(message=message, tenant=tenant)
    return message


def _new_message(
    *,
    tenant: Tenant,
    sender: User,
    draft: Draft,
    rendered: dict[str, Any],
    recipients: Recipients,
    reply_to: Message | None,
) -> Message:
    """The message a send stores, not yet saved."""
    return Message(
        tenant=tenant,
        sender=sender,
        subject=draft.subject,
        body=draft.body,
        **rendered,
        audience=recipients.audience,
        reply_to=reply_to,
        thread_root_id=(reply_to.thread_id if reply_to is not None else None),
        recipient_count=len(recipients.ids or []),
        recipients_shown=recipients.shown,
    )


_SEND_READ_SQL = (
    "SELECT nextval(pg_get_serial_sequence(%s, 'id')),"
    " (SELECT json_agg(json_build_array(n.id, n.username, n.first_name, n.last_name))"
    " FROM ({members}) AS n),"
    " (SELECT json_agg(json_build_array(c.user_id, c.sum, c.count)) FROM ({counts}) AS c)"
)


def _send_direct_at_once(
    *,
    sender: User,
    access: TenantAccess,
    ids: list[int],
    draft: Draft,
    rendered: dict[str, Any],
    reply_to: Message | None,
) -> Message:
    """A direct message with no files and no links, on PostgreSQL, in two round trips and
    no BEGIN/COMMIT of its own: one read (the recipients checked and named, the unread
    counts its events carry, the message's id taken from its sequence), then the message,
    its recipient rows and its stored events as one statement, which is one transaction.

    What ``do_send_message`` writes in one transaction of six round trips; at ~0.15 ms of
    CPU a round trip and ~0.2 ms a BEGIN/COMMIT pair, counted on both sides, that was a
    third of a send's CPU (docs/performance.md). Inside a transaction the caller opened,
    both simply join it.
    """
    tenant = access.tenant
    people = [sender.pk, *ids]
    # The counts must include whole-tenant messages whose rows are still to be stored.
    deliver_pending_if_any(tenant, people)
    read = _SEND_READ_SQL.format(
        members=MEMBER_NAMES_SQL.format(marks=sql.marks(ids)), counts=unread.counts_sql(people)
    )
    ((message_id, member_rows, count_rows),) = sql.fetch(
        read, [Message._meta.db_table, tenant.pk, True, *ids, *people, tenant.pk]
    )
    members = {
        uid: name_from(username=username, first_name=first, last_name=last)
        for uid, username, first, last in member_rows or []
    }
    recipients = check_members(ids, members)
    # Read before the rows below exist: each recipient will have one unread more.
    counts, to_fold = unread.read(count_rows or [], people)
    for uid in ids:
        counts[uid] += 1
    message = _new_message(
        tenant=tenant,
        sender=sender,
        draft=draft,
        rendered=rendered,
        recipients=recipients,
        reply_to=reply_to,
    )
    message.id = message_id
    insert_message = sql.insert_instance(message)  # sets created_at, as save() would
    message._state.adding = False
    message._state.db = connection.alias
    head, rows = _delivery_rows(message=message, tenant=tenant, user_ids=ids)
    values, params = sql.values_list(rows)
    insert_rows = sql.Write(f"INSERT INTO {head} VALUES {values}", params)
    events.publish_on_commit(
        message_sent_events(message=message, tenant=tenant, recipient_ids=ids, counts=counts),
        writes=[insert_message, insert_rows],
    )
    # Now, not in the read above: the fold is a write, and this one needs few.
    unread.fold_later(tenant.pk, to_fold)
    return message


def notify_message_sent(
    *,
    message: Message,
    tenant: Tenant,
    recipient_ids: list[int],
    counts: dict[int, int] | None = None,
) -> None:
    events.publish_on_commit(
        message_sent_events(
            message=message, tenant=tenant, recipient_ids=recipient_ids, counts=counts
        )
    )


def message_sent_events(
    *,
    message: Message,
    tenant: Tenant,
    recipient_ids: list[int],
    counts: dict[int, int] | None = None,
) -> list[events.MessageEvent]:
    sender = message.sender
    sender_view = messages_json(
        [ViewedMessage(message, None)], viewer=sender, tenant_slug=tenant.slug
    )[0]
    recipient_view = dict(sender_view, isRead=False, readAt=None, isSender=False)
    direct = message.audience == Message.Audience.DIRECT
    # Every event meant for one user carries that user's absolute count, the sender's too.
    if counts is None:
        counts = unread_counts_for_users([sender.pk, *(recipient_ids if direct else [])], tenant)
    out = [
        # The sender's other tabs show it in their sent box.
        events.MessageEvent(
            events.MESSAGE_NEW,
            tenant.slug,
            message.pk,
            {"message": sender_view, "unreadCount": counts[sender.pk]},
            user_ids=(sender.pk,),
        )
    ]
    if direct:
        out.extend(
            events.MessageEvent(
                events.MESSAGE_NEW,
                tenant.slug,
                message.pk,
                {"message": recipient_view, "unreadCount": counts[uid]},
                user_ids=(uid,),
            )
            for uid in recipient_ids
        )
    else:
        # One event to the whole tenant; each client counts it as one more unread.
        out.append(
            events.MessageEvent(
                events.MESSAGE_NEW,
                tenant.slug,
                message.pk,
                {"message": recipient_view},
                to_tenant=True,
                skip_user_ids=(sender.pk,),
            )
        )
    return out


# -- edit ------------------------------------------------------------------------------------


def do_edit_message(
    *, user: User, message_id: int, subject: str | None, body: str | None
) -> Message:
    if subject is None and body is None:
        raise InvalidInput("Send a subject or a body to change.", field="body")
    with transaction.atomic():
        viewed = check_sender_of(user=user, message_id=message_id)
        message = Message.objects.select_for_update().get(pk=viewed.message.pk)
        draft = check_draft(
            subject=message.subject if subject is None else subject,
            body=message.body if body is None else body,
        )
        changed: dict[str, object] = {}
        if draft.subject != message.subject:
            message.subject = draft.subject
            changed["subject"] = draft.subject
        if draft.body != message.body:
            message.body = draft.body
            rendered = rendered_body_fields(draft.body)
            message.body_html = rendered["body_html"]
            message.body_html_version = rendered["body_html_version"]
            changed["body"] = draft.body
            changed["bodyHtml"] = message.body_html
            from linkpreview.actions import do_record_edited_links

            changed["links"] = do_record_edited_links(message=message)
        if not changed:
            return viewed.message
        message.edited_at = timezone.now()
        message.save(
            update_fields=[
                "subject",
                "body",
                "body_html",
                "body_html_version",
                "edited_at",
                "updated_at",
            ]
        )
        message.sender = viewed.message.sender
        message.tenant = viewed.message.tenant
        changed["editedAt"] = iso(message.edited_at)
        changed["updatedAt"] = iso(message.updated_at)
        notify_message_updated(message=message, changed=changed)
    return message


def _audience_targets(message: Message) -> list[tuple[tuple[int, ...], bool]]:
    """Where an event about the message goes: its sender and recipients, or the tenant."""
    if message.audience == Message.Audience.DIRECT:
        user_ids = [
            message.sender_id,
            *MessageRecipient.objects.filter(
                message_id=message.pk, deleted_at__isnull=True
            ).values_list("user_id", flat=True),
        ]
        return [(tuple(user_ids), False)]
    return [((message.sender_id,), False), ((), True)]


def notify_message_updated(*, message: Message, changed: dict[str, object]) -> None:
    slug = message.tenant.slug
    events.publish_on_commit(
        [
            events.MessageEvent(
                events.MESSAGE_UPDATE,
                slug,
                message.pk,
                dict(changed),
                user_ids=user_ids,
                to_tenant=to_tenant,
                skip_user_ids=(message.sender_id,) if to_tenant else (),
            )
            for user_ids, to_tenant in _audience_targets(message)
        ]
    )


# -- delete ----------------------------------------------------------------------------------


def do_delete_message(*, user: User, message_id: int) -> str:
    """Delete for everyone (sender) or from one's own inbox (recipient); returns the scope."""
    with transaction.atomic():
        viewed = message_for_viewer(user=user, message_id=message_id)
        now = timezone.now()
        message = viewed.message
        if message.sender_id == user.pk:
            # The message first: its lock orders this against the storing of a whole-tenant
            # message's rows (delivery.do_deliver_message), which skips a deleted message.
            Message.objects.filter(pk=message.pk).update(
                deleted_at=now, subject="", body="", body_html="", updated_at=now
            )
            affected = list(
                MessageRecipient.objects.filter(
                    message_id=message.pk, deleted_at__isnull=True
                ).values_list("user_id", "read_at")
            )
            MessageRecipient.objects.filter(message_id=message.pk, deleted_at__isnull=True).update(
                deleted_at=now
            )
            notify_message_deleted_for_everyone(
                message=message, recipients=[uid for uid, _ in affected]
            )
            return "everyone"
        assert viewed.delivery is not None
        MessageRecipient.objects.filter(pk=viewed.delivery.pk).update(deleted_at=now)
        notify_message_deleted_for_me(message=message, user_id=user.pk)
        return "me"


def notify_message_deleted_for_everyone(*, message: Message, recipients: list[int]) -> None:
    tenant = message.tenant
    direct = message.audience == Message.Audience.DIRECT
    counts = unread_counts_for_users([message.sender_id, *(recipients if direct else [])], tenant)
    out = [
        events.MessageEvent(
            events.MESSAGE_DELETE,
            tenant.slug,
            message.pk,
            {"scope": "everyone", "unreadCount": counts[message.sender_id]},
            user_ids=(message.sender_id,),
        )
    ]
    if direct:
        out.extend(
            events.MessageEvent(
                events.MESSAGE_DELETE,
                tenant.slug,
                message.pk,
                {"scope": "everyone", "unreadCount": counts[uid]},
                user_ids=(uid,),
            )
            for uid in recipients
        )
    else:
        out.append(
            events.MessageEvent(
                events.MESSAGE_DELETE,
                tenant.slug,
                message.pk,
                {"scope": "everyone"},
                to_tenant=True,
                skip_user_ids=(message.sender_id,),
            )
        )
    events.publish_on_commit(out)


def notify_message_deleted_for_me(*, message: Message, user_id: int) -> None:
    count = unread_count_for(user_id, message.tenant)
    events.publish_on_commit(
        [
            events.MessageEvent(
                events.MESSAGE_DELETE,
                message.tenant.slug,
                message.pk,
                {"scope": "me", "unreadCount": count},
                user_ids=(user_id,),
            )
        ]
    )


# -- read state ------------------------------------------------------------------------------


def do_mark_read(*, user: User, message_id: int, read: bool) -> ViewedMessage:
    with transaction.atomic():
        viewed = check_recipient_of(user=user, message_id=message_id)
        delivery = viewed.delivery
        assert delivery is not None
        if (delivery.read_at is not None) == read:
            return viewed
        read_at = timezone.now() if read else None
        # The filter makes a concurrent double-mark count once.
        updated = MessageRecipient.objects.filter(pk=delivery.pk, read_at__isnull=read).update(
            read_at=read_at
        )
        delivery.read_at = read_at
        if updated:
            notify_read_state(
                user_id=user.pk,
                tenant=viewed.message.tenant,
                message_ids=[viewed.message.pk],
                read=read,
                read_at=read_at,
            )
    return viewed


def do_mark_all_read(*, user: User, access: TenantAccess) -> int:
    with transaction.atomic():
        deliver_pending_if_any(access.tenant, [user.pk])
        unread = MessageRecipient.objects.filter(
            user_id=user.pk,
            tenant_id=access.tenant.pk,
            deleted_at__isnull=True,
            read_at__isnull=True,
        )
        now = timezone.now()
        # One UPDATE, however many rows: no list of ids that could outgrow a query's parameters.
        updated = unread.update(read_at=now)
        if updated:
            notify_all_read(user_id=user.pk, tenant=access.tenant, read_at=now)
    return updated


def notify_read_state(
    *,
    user_id: int,
    tenant: Tenant,
    message_ids: list[int],
    read: bool,
    read_at: datetime | None,
) -> None:
    count = unread_count_for(user_id, tenant)
    stamp = iso(read_at)
    events.publish_on_commit(
        [
            events.MessageEvent(
                events.MESSAGE_READ,
                tenant.slug,
                mid,
                {"read": read, "readAt": stamp, "unreadCount": count},
                user_ids=(user_id,),
            )
            for mid in message_ids
        ]
    )


def notify_all_read(*, user_id: int, tenant: Tenant, read_at: datetime) -> None:
    """One event for "read all", however many messages it touched (messageId is null)."""
    count = unread_count_for(user_id, tenant)
    events.publish_on_commit(
        [
            events.MessageEvent(
                events.MESSAGE_READ,
                tenant.slug,
                None,
                {"read": True, "readAt": iso(read_at), "unreadCount": count, "all": True},
                user_ids=(user_id,),
            )
        ]
    )
