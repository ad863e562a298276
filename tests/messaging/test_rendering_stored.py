"""bodyHtml is rendered once, when a message is sent or edited, and stored with it."""

from __future__ import annotations

from typing import Any

import pytest

from messaging import actions, broadcasts
from messaging.models import Broadcast, Message
from messaging.rendering import RENDER_VERSION, render_body_html
from messaging.serialization import MessageRow, message_json
from tests import factories

pytestmark = pytest.mark.django_db

BODY = "Berth <7> & crane\nsee https://example.org/a?b=1&c=2 or http://10.0.0.1/x"


def test_a_send_stores_the_same_html_a_fresh_render_gives(world: dict[str, Any]) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=BODY)
    message.refresh_from_db()
    assert message.body_html == render_body_html(BODY)
    assert message.body_html_version == RENDER_VERSION
    assert "<br>" in message.body_html and "&lt;7&gt;" in message.body_html


def test_a_whole_tenant_message_stores_it_too(world: dict[str, Any]) -> None:
    message = factories.send(world["ann"], world["acme"], "all", body=BODY)
    message.refresh_from_db()
    assert message.body_html == render_body_html(BODY)
    assert message.recipients_shown is None


def test_an_edit_stores_the_new_html_and_sends_it(
    world: dict[str, Any], published: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body="old")
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_edit_message(user=world["bo"], message_id=message.pk, subject=None, body=BODY)
    message.refresh_from_db()
    assert message.body_html == render_body_html(BODY)
    update = [e for e in published if e.type == "message:update"][-1]
    assert update.payload["bodyHtml"] == message.body_html


def test_a_subject_only_edit_keeps_the_html(world: dict[str, Any]) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=BODY)
    actions.do_edit_message(user=world["bo"], message_id=message.pk, subject="New", body=None)
    message.refresh_from_db()
    assert message.body_html == render_body_html(BODY)


def test_a_delete_for_everyone_clears_it(world: dict[str, Any]) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=BODY)
    actions.do_delete_message(user=world["bo"], message_id=message.pk)
    message.refresh_from_db()
    assert message.body == "" and message.body_html == ""


def test_a_broadcast_stores_it(world: dict[str, Any]) -> None:
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", "root@example.com", "x")
    broadcast = Broadcast.objects.create(sender=admin, subject="All hands", body=BODY)
    broadcast.tenants.add(world["acme"])
    [message] = broadcasts.do_send_broadcast(user=admin, broadcast=broadcast)
    message.refresh_from_db()
    assert message.body_html == render_body_html(BODY)


@pytest.mark.parametrize(
    ("stored", "version"),
    [("<b>stale</b>", RENDER_VERSION - 1), ("", RENDER_VERSION), ("<b>stale</b>", 0)],
    ids=["older version", "empty", "never rendered"],
)
def test_stale_or_missing_html_is_rendered_on_read(
    world: dict[str, Any], stored: str, version: int
) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=BODY)
    Message.objects.filter(pk=message.pk).update(body_html=stored, body_html_version=version)
    message.refresh_from_db()
    row = MessageRow.of(message, None, tenant_slug="acme")
    out = message_json(row, viewer_id=world["bo"].pk, recipients=None)
    assert out["bodyHtml"] == render_body_html(BODY)


def test_the_stored_html_is_what_the_json_shows(world: dict[str, Any]) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=BODY)
    Message.objects.filter(pk=message.pk).update(body_html="<i>stored</i>")
    message.refresh_from_db()
    row = MessageRow.of(message, None, tenant_slug="acme")
    out = message_json(row, viewer_id=world["bo"].pk, recipients=None)
    assert out["bodyHtml"] == "<i>stored</i>"
