"""Test data in one place: tenants, members and messages made through the real actions."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User

from harbor_messaging.tenants.actions import do_create_member, do_create_tenant
from harbor_messaging.tenants.models import Membership, Tenant
from harbor_messaging.tenants.selectors import tenant_access
from messaging.actions import do_send_message
from messaging.delivery import do_deliver_message
from messaging.models import Message

PASSWORD = "test-pass-123"
_seq = itertools.count(1)


def make_tenant(slug: str | None = None, name: str | None = None) -> Tenant:
    slug = slug or f"t{next(_seq)}"
    tenant, _ = do_create_tenant(slug=slug, name=name or slug.title())
    return tenant


def make_member(
    tenant: Tenant,
    username: str | None = None,
    *,
    role: str = Membership.Role.SUBSCRIBER,
    name: str | None = None,
) -> User:
    username = username or f"user{next(_seq)}"
    new = not User.objects.filter(username=username).exists()
    if name is None and new:
        # A default name only for a new user: joining a second tenant keeps the one they have.
        name = username.title()
    membership = do_create_member(
        username=username,
        tenant_slug=tenant.slug,
        role=role,
        # Setting the password again would end the sessions of a user object already in hand.
        password=PASSWORD if new else None,
        email=f"{username}@example.com",
        name=name,
    )
    return membership.user


def send(
    sender: User,
    tenant: Tenant,
    to: list[User] | str,
    *,
    subject: str = "Subject",
    body: str = "Body",
    reply_to: Message | None = None,
    **kwargs: Any,
) -> Message:
    recipients: Any = to if isinstance(to, str) else [u.pk for u in to]
    message = do_send_message(
        sender=sender,
        access=tenant_access(sender, tenant.slug),
        recipient_ids=recipients,
        subject=subject,
        body=body,
        reply_to_id=reply_to.pk if reply_to else None,
        **kwargs,
    )
    if message.fanout_pending:
        # Sent means committed: a whole-tenant message's rows are stored after the commit,
        # which a test's transaction never reaches (tests/messaging/test_delivery.py).
        do_deliver_message(message.pk)
        message.fanout_pending = False
    return message
