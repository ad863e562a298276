"""Reads: inbox and sent pages by keyset cursor, one message, a thread, counts and stats.

A read of a user's recipient rows first stores that user's rows of any whole-tenant
message still pending (delivery.py): rows the send would have stored a moment later.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from harbor_messaging import sql
from harbor_messaging.errors import InvalidInput, NotFound
from harbor_messaging.tenants.models import Membership, Tenant
from harbor_messaging.tenants.selectors import TenantAccess

from . import counts
from .delivery import deliver_pending_among, deliver_pending_if_any, do_deliver_pending_to
from .models import Message, MessageRecipient
from .rendering import stored_html_has_links
from .serialization import (
    ROW_COLUMNS,
    MessageRow,
    display_name,
    message_json,
    name_from,
    user_json,
)

PAGE_DEFAULT = 50
PAGE_MAX = 100
SEARCH_MAX = 200
MEMBERS_MAX = 100


@dataclass(frozen=True)
class ViewedMessage:
    """A message with the viewer's own recipient row (None when the viewer sent it)."""

    message: Message
    delivery: MessageRecipient | None


@dataclass(frozen=True)
class Page:
    """A page of a box: its rows (columns only, for rows_json) and the next page's cursor."""

    items: list[MessageRow]
    next_cursor: str | None


# -- cursors ---------------------------------------------------------------------------------


def encode_cursor(created_at: dt.datetime, message_id: int) -> str:
    raw = json.dumps([created_at.astimezone(dt.UTC).isoformat(), message_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CURSOR_MAX = 200


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        if len(cursor) > CURSOR_MAX:
            raise ValueError("cursor too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        created_raw, message_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        created_at = dt.datetime.fromisoformat(created_raw)
        if (
            created_at.tzinfo is None
            or isinstance(message_id, bool)
            or not isinstance(message_id, int)
        ):
            raise ValueError("bad cursor")
        if not 0 < message_id < 2**63:
            raise ValueError("bad cursor")
        # The database compares in UTC; a time near year 1 or 9999 may not survive the move.
        created_at = created_at.astimezone(dt.UTC)
    except (
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        binascii.Error,
        UnicodeEncodeError,
    ) as exc:
        raise InvalidInput("cursor is not one this API gave out.", field="cursor") from exc
    return created_at, message_id


# -- lists -----------------------------------------------------------------------------------


def _search(q: str, prefix: str) -> Q:
    return Q(**{f"{prefix}subject__icontains": q}) | Q(**{f"{prefix}body__icontains": q})


# A page's ordering and columns, resolved once and filtered per page: setting up the 22
# columns (through two joins) took about as long as the database takes to answer (~0.5 ms a
# page). Only ever cloned by .filter(), never evaluated itself.
@cache
def _inbox_rows() -> QuerySet[MessageRecipient, tuple[Any, ...]]:
    # The recipient row's own created_at (the keyset) and read_at, then the message's columns.
    return MessageRecipient.objects.order_by("-created_at", "-message_id").values_list(
        "created_at", "read_at", *(f"message__{c}" for c in ROW_COLUMNS)
    )


@cache
def _sent_rows() -> QuerySet[Message, tuple[Any, ...]]:
    return Message.objects.order_by("-created_at", "-id").values_list(*ROW_COLUMNS)


def inbox_page(
    *,
    user: User,
    tenant: Tenant,
    unread_only: bool = False,
    q: str = "",
    limit: int = PAGE_DEFAULT,
    cursor: str | None = None,
) -> Page:
    deliver_pending_if_any(tenant, [user.pk])
    deliveries = _inbox_rows().filter(user_id=user.pk, tenant_id=tenant.pk, deleted_at__isnull=True)
    if unread_only:
        deliveries = deliveries.filter(read_at__isnull=True)
    if q:
        deliveries = deliveries.filter(_search(q, "message__"))
    if cursor:
        created_at, message_id = decode_cursor(cursor)
        deliveries = deliveries.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, message_id__lt=message_id)
        )
    rows = list(deliveries[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1][0], rows[-1][2]) if more else None
    slug = tenant.slug
    return Page([MessageRow(slug, True, *r[1:]) for r in rows], next_cursor)


def sent_page(
    *,
    user: User,
    tenant: Tenant,
    q: str = "",
    limit: int = PAGE_DEFAULT,
    cursor: str | None = None,
) -> Page:
    messages = _sent_rows().filter(sender_id=user.pk, tenant_id=tenant.pk, deleted_at__isnull=True)
    if q:
        messages = messages.filter(_search(q, ""))
    if cursor:
        created_at, message_id = decode_cursor(cursor)
        messages = messages.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=message_id)
        )
    rows = list(messages[: limit + 1])
    more = len(rows) > limit
    slug = tenant.slug
    items = [MessageRow(slug, False, None, *r) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
    return Page(items, next_cursor)


# -- one message and threads -----------------------------------------------------------------


def _visible_messages(user: User) -> QuerySet[Message]:
    """Live messages the user sent or still has in their inbox, in tenants they belong to."""
    visible = Message.objects.filter(deleted_at__isnull=True).filter(
        Q(sender_id=user.pk) | Q(deliveries__user_id=user.pk, deliveries__deleted_at__isnull=True)
    )
    if not user.is_superuser:
        visible = visible.filter(tenant__memberships__user_id=user.pk)
    return visible.distinct()


def _with_delivery(user: User, messages: Iterable[Message]) -> list[ViewedMessage]:
    messages = list(messages)
    deliveries = {
        d.message_id: d
        for d in MessageRecipient.objects.filter(
            user_id=user.pk, message_id__in=[m.pk for m in messages], deleted_at__isnull=True
        )
    }
    return [ViewedMessage(m, deliveries.get(m.pk)) for m in messages]


def message_for_viewer(*, user: User, message_id: int) -> ViewedMessage:
    visible = _visible_messages(user).select_related("sender", "tenant").filter(pk=message_id)
    message = visible.first()
    # A whole-tenant message whose rows are still pending has none for the user yet.
    if message is None and deliver_pending_among(Q(pk=message_id), user.pk):
        message = visible.first()
    if message is None:
        raise NotFound("No such message.")
    return _with_delivery(user, [message])[0]


def thread_for_viewer(*, user: User, thread_id: int) -> list[ViewedMessage]:
    in_thread = Q(pk=thread_id, thread_root__isnull=True) | Q(thread_root_id=thread_id)
    deliver_pending_among(in_thread, user.pk)
    messages = list(
        _visible_messages(user)
        .filter(in_thread)
        .select_related("sender", "tenant")
        .order_by("created_at", "id")
    )
    if not messages:
        raise NotFound("No such thread.")
    return _with_delivery(user, messages)


# -- the JSON of a list ----------------------------------------------------------------------


def recipients_by_message(
    messages: Iterable[Message | MessageRow],
) -> dict[int, list[dict[str, Any]]]:
    """The recipients to show (``user_json`` objects), for messages sent to chosen members.

    From the snapshot the send stored (Message.recipients_shown): no query. Only a direct
    message without one (written around the send action) is looked up, all in one query.
    """
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    missing: list[int] = []
    for m in messages:
        if m.audience != Message.Audience.DIRECT:
            continue
        if m.recipients_shown is None:
            missing.append(m.id)
        else:
            out[m.id] = list(m.recipients_shown)
    if missing:
        rows = (
            MessageRecipient.objects.filter(message_id__in=missing)
            .select_related("user")
            .order_by("message_id", "id")
        )
        for row in rows:
            out[row.message_id].append(user_json(row.user))
    return out


def messages_json(
    items: list[ViewedMessage], *, viewer: User, tenant_slug: str | None = None
) -> list[dict[str, Any]]:
    """The JSON of messages already loaded (one message, a thread, a send)."""
    return rows_json(
        [
            MessageRow.of(
                item.message, item.delivery, tenant_slug=tenant_slug or item.message.tenant.slug
            )
            for item in items
        ],
        viewer=viewer,
    )


def rows_json(rows: list[MessageRow], *, viewer: User) -> list[dict[str, Any]]:
    """The message objects of API.md, with their recipients, attachments and links."""
    from attachments.selectors import attachments_by_message
    from linkpreview.selectors import links_by_message

    recipients = recipients_by_message(rows)
    # One query for the page's links, and none when no body on it has a link.
    links = links_by_message(
        row.id
        for row in rows
        if stored_html_has_links(
            body=row.body, body_html=row.body_html, version=row.body_html_version
        )
    )
    # One query for the whole page, and none when no message on it has attachments.
    attachments = attachments_by_message(row.id for row in rows if row.has_attachments)
    direct = Message.Audience.DIRECT
    return [
        message_json(
            row,
            viewer_id=viewer.pk,
            recipients=recipients.get(row.id, []) if row.audience == direct else None,
            attachments=attachments.get(row.id),
            links=links.get(row.id),
        )
        for row in rows
    ]


# -- counts ----------------------------------------------------------------------------------


def unread_count_for(user_id: int, tenant: Tenant) -> int:
    return unread_counts_for_users([user_id], tenant)[user_id]


def unread_counts_for_users(user_ids: Iterable[int], tenant: Tenant) -> dict[int, int]:
    """Each user's unread count in the tenant, in one query (users with none get 0)."""
    ids = list(user_ids)
    if not ids:
        return {}
    deliver_pending_if_any(tenant, ids)
    return counts.counts_for(ids, tenant.pk)


def unread_counts_by_tenant(user: User) -> dict[str, int]:
    """Unread counts in every tenant the user belongs to (0 where none)."""
    slugs: dict[int, str] = {}
    for tenant_id, slug, undelivered in Membership.objects.filter(user_id=user.pk).values_list(
        "tenant_id", "tenant__slug", "tenant__undelivered_messages"
    ):
        slugs[tenant_id] = slug
        if undelivered:
            do_deliver_pending_to(tenant_id, [user.pk])
    by_id = counts.counts_by_tenant(user.pk, list(slugs))
    return {slug: by_id.get(tenant_id, 0) for tenant_id, slug in slugs.items()}


def stats_for(user: User, tenant: Tenant) -> dict[str, int]:
    deliver_pending_if_any(tenant, [user.pk])
    inbox = MessageRecipient.objects.filter(
        user_id=user.pk, tenant_id=tenant.pk, deleted_at__isnull=True
    ).aggregate(
        total=Count("id"),
        unread=Count("id", filter=Q(read_at__isnull=True)),
        with_attachments=Count("id", filter=Q(message__has_attachments=True)),
    )
    sent = Message.objects.filter(
        sender_id=user.pk, tenant_id=tenant.pk, deleted_at__isnull=True
    ).count()
    return {
        "total": inbox["total"],
        "unread": inbox["unread"],
        "sent": sent,
        "withAttachments": inbox["with_attachments"],
    }


# -- members ---------------------------------------------------------------------------------


def addressable_members(*, access: TenantAccess, viewer: User, q: str = "") -> list[dict[str, Any]]:
    memberships = (
        Membership.objects.filter(tenant_id=access.tenant.pk, user__is_active=True)
        .exclude(user_id=viewer.pk)
        .select_related("user")
    )
    if q:
        memberships = memberships.filter(
            Q(user__username__icontains=q)
            | Q(user__first_name__icontains=q)
            | Q(user__last_name__icontains=q)
            | Q(user__email__icontains=q)
        )
    rows = memberships.order_by("user__first_name", "user__last_name", "user__username")[
        :MEMBERS_MAX
    ]
    return [
        {
            "id": m.user.pk,
            "username": m.user.get_username(),
            "name": display_name(m.user),
            "role": m.role,
        }
        for m in rows
    ]


# Plain SQL for the send's member check, as counts.COUNTS_SQL for its unread counts.
MEMBER_NAMES_SQL = (
    "SELECT u.id, u.username, u.first_name, u.last_name FROM tenants_membership m"
    " JOIN auth_user u ON u.id = m.user_id"
    " WHERE m.tenant_id = %s AND u.is_active = %s AND m.user_id IN ({marks})"
)


def member_names(tenant: Tenant, *, among: Iterable[int]) -> dict[int, str]:
    """The display names of those of ``among`` who are active members, in one query."""
    ids = list(among)
    if not ids:
        return {}
    rows = sql.fetch(MEMBER_NAMES_SQL.format(marks=sql.marks(ids)), [tenant.pk, True, *ids])
    return {
        uid: name_from(username=username, first_name=first, last_name=last)
        for uid, username, first, last in rows
    }
