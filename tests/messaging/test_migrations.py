"""Migration 0004 backfills the stored bodyHtml and direct messages' recipient lists."""

from __future__ import annotations

import pytest

from messaging.rendering import RENDER_VERSION, render_body_html
from tests.migrations import migrate, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("messaging", "0003_broadcast")]
AFTER = [("messaging", "0004_stored_body_html_and_recipients")]


def test_existing_messages_get_their_html_and_recipients() -> None:
    old = migrate(BEFORE)
    try:
        user_model = old.get_model("auth", "User")
        tenant_model = old.get_model("tenants", "Tenant")
        message_model = old.get_model("messaging", "Message")
        recipient_model = old.get_model("messaging", "MessageRecipient")
        tenant = tenant_model.objects.create(slug="acme", name="Acme")
        bo = user_model.objects.create(username="bo", first_name="Bo", last_name="Chan")
        ann = user_model.objects.create(username="ann")
        body = "a <b> https://example.org/x\nend"
        direct = message_model.objects.create(
            tenant=tenant, sender=bo, body=body, audience="direct", recipient_count=1
        )
        whole = message_model.objects.create(
            tenant=tenant, sender=ann, body="all", audience="tenant", recipient_count=1
        )
        for message, user in ((direct, ann), (whole, bo)):
            recipient_model.objects.create(
                message=message, user=user, tenant=tenant, created_at=message.created_at
            )
        new = migrate(AFTER)
        migrated = new.get_model("messaging", "Message")
        d = migrated.objects.get(pk=direct.pk)
        w = migrated.objects.get(pk=whole.pk)
        assert d.body_html == render_body_html(body)
        assert d.body_html_version == RENDER_VERSION
        assert d.recipients_shown == [{"id": ann.pk, "name": "ann"}]
        assert w.body_html == "all" and w.recipients_shown is None
    finally:
        migrate_to_latest()
