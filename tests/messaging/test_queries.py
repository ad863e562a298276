"""Query counts, not times: a page costs the same few queries however many messages there are."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import actions
from messaging.models import Message
from tests import factories

pytestmark = pytest.mark.django_db


def _fill(world: dict[str, Any], n: int) -> list[Message]:
    """n messages to ann of every kind: direct to one or many, tenant-wide, replies, read."""
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    out: list[Message] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            message = factories.send(bo, acme, [ann], subject=f"to ann {i}", body="see x.org")
        elif kind == 1:
            message = factories.send(cy, acme, [ann, bo], subject=f"to two {i}")
        elif kind == 2:
            message = factories.send(bo, acme, [ann, cy], body=f"reply {i}", reply_to=out[0])
        else:
            message = factories.send(bo, acme, [ann], subject=f"read {i}")
            actions.do_mark_read(user=ann, message_id=message.pk, read=True)
        out.append(message)
    return out


def _queries(client: Any, path: str, params: dict[str, Any] | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


# The message lists: one query more (+1) for the links of a page whose bodies have links.
API_CALLS = [
    pytest.param("ann", "/api/messaging/messages", {"tenantId": "acme"}, 6 + 1, id="inbox"),
    pytest.param("ann", "/api/messages", {}, 8 + 1, id="inbox default tenant"),
    pytest.param(
        "ann", "/api/messaging/messages", {"tenantId": "acme", "unread": "1"}, 6 + 1, id="unread"
    ),
    pytest.param("ann", "/api/messaging/messages", {"q": "to", "limit": "100"}, 8 + 1, id="search"),
    pytest.param(
        "bo", "/api/messaging/messages", {"tenantId": "acme", "box": "sent"}, 6 + 1, id="sent box"
    ),
    pytest.param("ann", "/api/messaging/unread-count", {"tenantId": "acme"}, 4, id="count"),
    pytest.param("cy", "/api/messaging/unread-count", {}, 4, id="count all tenants"),
    pytest.param("ann", "/api/messaging/stats", {"tenantId": "acme"}, 5, id="stats"),
    pytest.param("bo", "/api/messaging/members", {"tenantId": "acme"}, 4, id="members"),
]


@pytest.mark.parametrize(("who", "path", "params", "most"), API_CALLS)
def test_api_lists_cost_the_same_with_5_or_60_messages(
    world: dict[str, Any], api: Any, who: str, path: str, params: dict[str, Any], most: int
) -> None:
    client = api(world[who])
    _fill(world, 5)
    few = _queries(client, path, params)
    _fill(world, 55)
    many = _queries(client, path, params)
    assert few == many
    assert many <= most


def test_the_next_page_costs_the_same_as_the_first(world: dict[str, Any], api: Any) -> None:
    _fill(world, 60)
    client = api(world["ann"])
    first = client.get("/api/messaging/messages", {"limit": 20}).json()
    with CaptureQueriesContext(connection) as ctx:
        second = client.get("/api/messaging/messages", {"limit": 20, "cursor": first["nextCursor"]})
    assert len(second.json()["results"]) == 20
    assert len(ctx.captured_queries) == _queries(client, "/api/messaging/messages", {"limit": 20})


def test_a_thread_costs_the_same_with_3_or_30_replies(world: dict[str, Any], api: Any) -> None:
    acme, ann, bo = world["acme"], world["ann"], world["bo"]
    root = factories.send(bo, acme, [ann], subject="root")
    for _ in range(3):
        factories.send(ann, acme, [bo], reply_to=root)
    client = api(ann)
    few = _queries(client, f"/api/messaging/threads/{root.pk}")
    for _ in range(27):
        factories.send(bo, acme, [ann, world["cy"]], reply_to=root)
    assert _queries(client, f"/api/messaging/threads/{root.pk}") == few
    assert few <= 6


@pytest.mark.parametrize("box", ["inbox", "sent"])
def test_the_messaging_page_costs_the_same_with_5_or_60_messages(
    world: dict[str, Any], api: Any, box: str
) -> None:
    client = api(world["ann"] if box == "inbox" else world["bo"])
    params = {"box": box}
    _fill(world, 5)
    few = _queries(client, "/en/harbor/messaging/", params)
    _fill(world, 55)
    many = _queries(client, "/en/harbor/messaging/", params)
    assert few == many
    assert many <= 20 + 1  # +1: the links of the listed messages


def test_send_to_many_costs_the_same_as_send_to_few(world: dict[str, Any], api: Any) -> None:
    from django.contrib.auth.models import User

    from harbor_messaging.tenants.models import Membership

    users = User.objects.bulk_create([User(username=f"crowd{i}") for i in range(120)])
    users = list(User.objects.filter(username__startswith="crowd"))
    Membership.objects.bulk_create([Membership(user=u, tenant=world["acme"]) for u in users])
    client = api(world["bo"])

    def cost(recipients: list[int]) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(
                "/api/messaging/send",
                {"tenantId": "acme", "recipientIds": recipients, "body": "x"},
            )
        assert response.status_code == 201
        # The stream's own storage (channels and stored events, with their savepoints) is
        # counted by its own tests; this counts the messaging tables.
        return len(
            [
                q
                for q in ctx.captured_queries
                if "messaging_stream" not in q["sql"] and "SAVEPOINT" not in q["sql"]
            ]
        )

    everyone = [u.pk for u in users]
    cost(everyone)  # the first event on each user's stream channel creates the channel
    assert cost(everyone[:3]) == cost(everyone)
    assert cost(everyone) <= 12


def _library_file(owner: Any, tenant: Any) -> Any:
    from django.core.files.base import ContentFile

    from harbor_messaging.media.models import MediaFile

    media = MediaFile(
        tenant=tenant,
        owner=owner,
        origin=MediaFile.Origin.MEDIA_LIBRARY,
        name="plan.pdf",
        size=9,
        content_type="application/pdf",
        checksum="0" * 64,
        scan_state="not_scanned",
    )
    media.file.save("plan.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    media.save()
    return media


def test_an_inbox_page_with_direct_messages_links_and_attachments_is_3_queries(
    world: dict[str, Any], settings: Any, tmp_path: Any
) -> None:
    from messaging import selectors

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    media = _library_file(bo, acme)
    factories.send(bo, acme, [ann, cy], body="the plan", media_file_ids=[media.pk])
    factories.send(cy, acme, [ann], body="see https://example.org/berth and x.org")
    factories.send(bo, acme, [ann, cy], body="plain")
    factories.send(ann, acme, "all", body="to everyone")  # ann's own: not in her inbox
    factories.send(bo, acme, [ann], body="read it at https://example.com", media_file_ids=[])
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.inbox_page(user=ann, tenant=acme)
        results = selectors.rows_json(page.items, viewer=ann)
    assert len(ctx.captured_queries) == 3  # the page, its links, its attachments
    assert [r["body"] for r in results] == [
        "read it at https://example.com",
        "plain",
        "see https://example.org/berth and x.org",
        "the plan",
    ]
    assert results[3]["attachmentCount"] == 1 and results[3]["attachments"]
    assert [link["url"] for link in results[2]["links"]] == [
        "https://example.org/berth",
        "http://x.org",
    ]
    assert [u["name"] for u in results[3]["recipients"]] == ["Ann Lee", "Cy Okafor"]


def test_the_stored_recipients_are_what_the_recipient_rows_give(world: dict[str, Any]) -> None:
    from messaging import selectors

    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    message = factories.send(bo, acme, [cy, ann], body="two")
    stored = selectors.recipients_by_message([message])
    Message.objects.filter(pk=message.pk).update(recipients_shown=None)
    message.refresh_from_db()
    with CaptureQueriesContext(connection) as ctx:
        looked_up = selectors.recipients_by_message([message])
    assert len(ctx.captured_queries) == 1
    assert stored == looked_up
    assert stored[message.pk] == [
        {"id": cy.pk, "name": "Cy Okafor"},
        {"id": ann.pk, "name": "Ann Lee"},
    ]


def _send_statements(world: dict[str, Any]) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        factories.send(world["bo"], world["acme"], [world["ann"], world["cy"]], body="two")
    return [q["sql"] for q in ctx.captured_queries]


def test_a_send_to_two_recipients_costs_the_same_few_statements_every_time(
    world: dict[str, Any],
) -> None:
    # The sender's membership (the factory's access check), the member check, the
    # message, its recipient rows, the unread counts for the events, then the event
    # store: one upsert of the three channels' counters, one insert of the three events.
    # The first send makes the channels, in the upsert. On PostgreSQL a direct message
    # with no files or links is two statements and no transaction of its own: the
    # member check, the counts and the message's id, then all of its writes.
    first = _send_statements(world)
    steady = _send_statements(world)
    assert len(first) == len(steady)
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")
    postgresql = connection.vendor == "postgresql"
    expected = 3 if postgresql else 7
    assert len([sql for sql in steady if not sql.startswith(control)]) == expected
    # The test's transaction makes the send's own atomic block a savepoint; nothing inside
    # the send takes another.
    savepoints = 0 if postgresql else 1
    assert len([sql for sql in steady if sql.startswith("SAVEPOINT")]) == savepoints
    if postgresql:
        write = steady[-1]
        assert write.startswith('WITH write_0 AS (INSERT INTO "messaging_message"')
        assert 'INSERT INTO "messaging_streamevent"' in write
