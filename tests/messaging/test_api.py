"""The messaging JSON API of API.md, endpoint by endpoint, through a browser-like client."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from harbor_messaging.tenants.models import Membership
from messaging.models import Message, MessageRecipient
from tests import factories

from .expect import ISO_Z, db_state, error, message_shape

pytestmark = pytest.mark.django_db

SEND = "/api/messaging/send"
LIST = "/api/messaging/messages"
READ_ALL = "/api/messaging/messages/read-all"
COUNT = "/api/messaging/unread-count"
MEMBERS = "/api/messaging/members"
STATS = "/api/messaging/stats"


def detail(message_id: int) -> str:
    return f"/api/messaging/messages/{message_id}"


def read_url(message_id: int) -> str:
    return f"/api/messaging/messages/{message_id}/read"


def thread_url(thread_id: int) -> str:
    return f"/api/messaging/threads/{thread_id}"


def ids(response: Any) -> list[int]:
    return [m["id"] for m in response.json()["results"]]


def count(client: Any, tenant: str = "acme") -> int:
    response = client.get(COUNT, {"tenantId": tenant})
    assert response.status_code == 200
    return int(response.json()["count"])


@pytest.fixture
def bo_to_ann(world: dict[str, Any]) -> Message:
    return factories.send(world["bo"], world["acme"], [world["ann"]], subject="Hi", body="Hello")


# -- send --------------------------------------------------------------------------------------


def test_send_answers_201_with_the_message_object(world: dict[str, Any], api: Any) -> None:
    bo = api(world["bo"])
    response = bo.post(
        SEND,
        {
            "tenantId": "acme",
            "recipientIds": [world["ann"].pk, world["cy"].pk],
            "subject": "Berth 7",
            "body": "See https://example.org/x now",
        },
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/json")
    message = response.json()
    message_shape(message)
    stored = Message.objects.get()
    assert message["id"] == stored.pk
    assert message["tenantId"] == "acme"
    assert message["sender"] == {"id": world["bo"].pk, "name": "Bo Chan"}
    assert message["recipients"] == [
        {"id": world["ann"].pk, "name": "Ann Lee"},
        {"id": world["cy"].pk, "name": "Cy Okafor"},
    ]
    assert message["subject"] == "Berth 7"
    assert message["body"] == "See https://example.org/x now"
    assert 'href="https://example.org/x"' in message["bodyHtml"]
    assert 'rel="noopener noreferrer nofollow"' in message["bodyHtml"]
    assert message["editedAt"] is None
    assert message["readAt"] is None
    assert message["isSender"] is True
    assert message["isBroadcast"] is False
    assert message["replyToId"] is None
    assert message["threadId"] == stored.pk
    assert message["hasAttachments"] is False
    assert message["attachmentCount"] == 0
    assert message["attachments"] == []
    # The link is stored with the message; its preview is fetched after the commit.
    (link,) = message["links"]
    assert link["url"] == "https://example.org/x"
    assert (link["domain"], link["status"], link["warnings"]) == ("example.org", "pending", [])
    assert message["recipientCount"] == 2
    assert message["audience"] == "direct"
    assert sorted(MessageRecipient.objects.values_list("user_id", flat=True)) == sorted(
        [world["ann"].pk, world["cy"].pk]
    )
    # What the send answers is exactly what reading the message back gives the sender.
    assert bo.get(f"/api/messaging/messages/{stored.pk}").json() == message


def test_send_keeps_unicode_and_emoji_exactly(world: dict[str, Any], api: Any) -> None:
    subject = "Grüße 👋🏽 日本語 " + "é" * 10
    body = 'Zeile 1\nLine 2 — ∑ 🚢\t<script>alert(1)</script> & "quotes"'
    response = api(world["bo"]).post(
        SEND,
        {"tenantId": "acme", "recipientIds": [world["ann"].pk], "subject": subject, "body": body},
    )
    assert response.status_code == 201
    assert response.json()["subject"] == subject.strip()
    assert response.json()["body"] == body
    assert "<script>" not in response.json()["bodyHtml"]
    assert "&lt;script&gt;" in response.json()["bodyHtml"]
    again = api(world["ann"]).get(detail(response.json()["id"])).json()
    assert again["subject"] == subject.strip()
    assert again["body"] == body


def test_send_accepts_the_limits_exactly(world: dict[str, Any], api: Any) -> None:
    response = api(world["bo"]).post(
        SEND,
        {
            "tenantId": "acme",
            "recipientIds": [world["ann"].pk],
            # Limits count characters, not bytes: 200 emoji are 200 characters.
            "subject": "🚢" * 200,
            "body": "ü" * 20_000,
        },
    )
    assert response.status_code == 201, response.content
    assert len(response.json()["subject"]) == 200
    assert len(response.json()["body"]) == 20_000


def test_send_with_only_a_subject_or_only_a_body(world: dict[str, Any], api: Any) -> None:
    bo = api(world["bo"])
    base = {"tenantId": "acme", "recipientIds": [world["ann"].pk]}
    assert bo.post(SEND, {**base, "subject": "Only a subject"}).status_code == 201
    assert bo.post(SEND, {**base, "body": "Only a body"}).status_code == 201
    assert bo.post(SEND, {**base, "subject": None, "body": "null subject"}).status_code == 201


def test_send_folds_duplicate_recipients(world: dict[str, Any], api: Any) -> None:
    ann = world["ann"].pk
    response = api(world["bo"]).post(
        SEND, {"tenantId": "acme", "recipientIds": [ann, ann, ann], "body": "x"}
    )
    assert response.status_code == 201
    assert response.json()["recipientCount"] == 1
    assert MessageRecipient.objects.count() == 1


def test_send_without_tenant_id_uses_the_current_tenant(world: dict[str, Any], api: Any) -> None:
    response = api(world["bo"]).post(SEND, {"recipientIds": [world["ann"].pk], "body": "x"})
    assert response.status_code == 201
    assert response.json()["tenantId"] == "acme"


def test_send_to_all_by_a_tenant_admin_reaches_every_member_but_the_sender(
    world: dict[str, Any], api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world["ann"]).post(
            SEND, {"tenantId": "acme", "recipientIds": "all", "subject": "All hands"}
        )
    assert response.status_code == 201, response.content
    message = response.json()
    message_shape(message)
    assert message["audience"] == "tenant"
    assert message["recipientCount"] == 2
    # A whole-tenant message lists no one by name.
    assert message["recipients"] == []
    assert api(world["ann"]).get(f"/api/messaging/messages/{message['id']}").json() == message
    assert sorted(MessageRecipient.objects.values_list("user_id", flat=True)) == sorted(
        [world["bo"].pk, world["cy"].pk]
    )
    assert count(api(world["bo"])) == 1
    assert count(api(world["cy"])) == 1
    assert count(api(world["cy"]), "globex") == 0


def test_send_to_all_by_a_subscriber_is_forbidden(world: dict[str, Any], api: Any) -> None:
    before = db_state()
    response = api(world["bo"]).post(SEND, {"tenantId": "acme", "recipientIds": "all", "body": "x"})
    error(response, 403, "forbidden")
    assert db_state() == before


def test_send_to_500_recipients_is_accepted_and_501_refused(
    world: dict[str, Any], api: Any
) -> None:
    acme = world["acme"]
    users = User.objects.bulk_create([User(username=f"crowd{i}") for i in range(501)])
    users = list(User.objects.filter(username__startswith="crowd").order_by("id"))
    Membership.objects.bulk_create([Membership(user=u, tenant=acme) for u in users])
    bo = api(world["bo"])
    before = db_state()
    too_many = bo.post(
        SEND, {"tenantId": "acme", "recipientIds": [u.pk for u in users], "body": "x"}
    )
    error(too_many, 400, "invalid", field="recipientIds")
    assert db_state() == before
    ok = bo.post(
        SEND, {"tenantId": "acme", "recipientIds": [u.pk for u in users[:500]], "body": "x"}
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["recipientCount"] == 500
    assert MessageRecipient.objects.count() == 500


def test_reply_joins_the_thread(world: dict[str, Any], api: Any, bo_to_ann: Message) -> None:
    ann, bo = api(world["ann"]), api(world["bo"])
    reply = ann.post(
        SEND,
        {
            "tenantId": "acme",
            "recipientIds": [world["bo"].pk],
            "subject": "Re: Hi",
            "body": "Back",
            "replyToId": bo_to_ann.pk,
        },
    )
    assert reply.status_code == 201, reply.content
    assert reply.json()["replyToId"] == bo_to_ann.pk
    assert reply.json()["threadId"] == bo_to_ann.pk
    # A reply to the reply stays in the same thread, whoever answers.
    second = bo.post(
        SEND,
        {
            "tenantId": "acme",
            "recipientIds": [world["ann"].pk],
            "body": "And again",
            "replyToId": reply.json()["id"],
        },
    )
    assert second.status_code == 201
    assert second.json()["replyToId"] == reply.json()["id"]
    assert second.json()["threadId"] == bo_to_ann.pk
    assert bo.get(detail(bo_to_ann.pk)).json()["threadId"] == bo_to_ann.pk


def _valid_send(world: dict[str, Any]) -> dict[str, Any]:
    return {
        "tenantId": "acme",
        "recipientIds": [world["ann"].pk],
        "subject": "Subject",
        "body": "Body",
    }


# Each case: what to change in a valid send, and the field the 400 names.
BAD_SEND_FIELDS: list[tuple[str, dict[str, Any], str | None]] = [
    ("missing recipients", {"recipientIds": ...}, "recipientIds"),
    ("null recipients", {"recipientIds": None}, "recipientIds"),
    ("no recipients", {"recipientIds": []}, "recipientIds"),
    ("recipients a string", {"recipientIds": "4"}, "recipientIds"),
    ("recipients 'ALL'", {"recipientIds": "ALL"}, "recipientIds"),
    ("recipients a number", {"recipientIds": 4}, "recipientIds"),
    ("recipients an object", {"recipientIds": {"id": 4}}, "recipientIds"),
    ("recipient id a string", {"recipientIds": ["4"]}, "recipientIds"),
    ("recipient id a bool", {"recipientIds": [True]}, "recipientIds"),
    ("recipient id a float", {"recipientIds": [4.0]}, "recipientIds"),
    ("recipient id null", {"recipientIds": [None]}, "recipientIds"),
    ("recipient id nested", {"recipientIds": [[4]]}, "recipientIds"),
    ("recipient id an object", {"recipientIds": [{"id": 4}]}, "recipientIds"),
    ("recipient id zero", {"recipientIds": [0]}, "recipientIds"),
    ("recipient id negative", {"recipientIds": [-4]}, "recipientIds"),
    ("recipient id 2**63", {"recipientIds": [2**63]}, "recipientIds"),
    ("recipient id 2**64+1", {"recipientIds": [2**64 + 1]}, "recipientIds"),
    ("recipient id 2**63-1 unknown", {"recipientIds": [2**63 - 1]}, "recipientIds"),
    ("recipient id 2**31 unknown", {"recipientIds": [2**31]}, "recipientIds"),
    ("recipient id unknown", {"recipientIds": [987654]}, "recipientIds"),
    ("tenant id a number", {"tenantId": 1}, "tenantId"),
    ("tenant id a bool", {"tenantId": True}, "tenantId"),
    ("tenant id an object", {"tenantId": {"slug": "acme"}}, "tenantId"),
    ("tenant id a list", {"tenantId": ["acme"]}, "tenantId"),
    ("tenant id upper case", {"tenantId": "ACME"}, "tenantId"),
    ("tenant id too long", {"tenantId": "a" * 51}, "tenantId"),
    ("tenant id with NUL", {"tenantId": "acme\u0000"}, "tenantId"),
    ("tenant id lone surrogate", {"tenantId": "\ud800"}, "tenantId"),
    ("subject a number", {"subject": 5}, "subject"),
    ("subject a bool", {"subject": False}, "subject"),
    ("subject a list", {"subject": ["a"]}, "subject"),
    ("subject an object", {"subject": {"text": "a"}}, "subject"),
    ("subject too long", {"subject": "x" * 201}, "subject"),
    ("subject 201 emoji", {"subject": "🚢" * 201}, "subject"),
    ("subject with a newline", {"subject": "a\nb"}, "subject"),
    ("subject with NUL", {"subject": "a\u0000b"}, "subject"),
    ("subject lone surrogate", {"subject": "a\ud800b"}, "subject"),
    ("subject bidi override", {"subject": "abc\u202edef"}, "subject"),
    ("body a number", {"body": 5}, "body"),
    ("body a list", {"body": ["a"]}, "body"),
    ("body too long", {"body": "x" * 20_001}, "body"),
    ("body with NUL", {"body": "a\u0000b"}, "body"),
    ("body lone surrogate", {"body": "\ud800"}, "body"),
    ("body low surrogate", {"body": "x\udc00"}, "body"),
    ("body escape char", {"body": "a\u001bb"}, "body"),
    ("empty subject and body", {"subject": "", "body": ""}, "body"),
    ("blank subject and body", {"subject": "   ", "body": " \n "}, "body"),
    ("no subject and no body", {"subject": ..., "body": ...}, "body"),
    ("reply id a string", {"replyToId": "1"}, "replyToId"),
    ("reply id a bool", {"replyToId": True}, "replyToId"),
    ("reply id a float", {"replyToId": 1.5}, "replyToId"),
    ("reply id an object", {"replyToId": {}}, "replyToId"),
    ("reply id 2**63", {"replyToId": 2**63}, "replyToId"),
    ("reply id unknown", {"replyToId": 987654}, "replyToId"),
    ("reply id max unknown", {"replyToId": 2**63 - 1}, "replyToId"),
    ("unknown field", {"recipients": [1]}, "recipients"),
    ("upload ids a string", {"attachmentUploadIds": "1"}, "attachmentUploadIds"),
    ("upload ids unknown", {"attachmentUploadIds": [1]}, "attachmentUploadIds"),
    ("media ids unknown", {"mediaFileIds": [1]}, "mediaFileIds"),
]


@pytest.mark.parametrize(
    ("change", "field"),
    [pytest.param(change, field, id=name) for name, change, field in BAD_SEND_FIELDS],
)
def test_send_refuses_bad_fields_with_400_and_keeps_nothing(
    world: dict[str, Any], api: Any, change: dict[str, Any], field: str | None
) -> None:
    payload = _valid_send(world)
    for key, value in change.items():
        if value is ...:
            payload.pop(key, None)
        else:
            payload[key] = value
    bo = api(world["bo"])
    before = db_state()
    response = bo.post(SEND, raw=json.dumps(payload))
    error(response, 400, "invalid", field=field)
    assert db_state() == before


def test_send_with_empty_attachment_lists_is_fine(world: dict[str, Any], api: Any) -> None:
    payload = {**_valid_send(world), "attachmentUploadIds": [], "mediaFileIds": []}
    assert api(world["bo"]).post(SEND, payload).status_code == 201


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("{", id="truncated"),
        pytest.param("{'a': 1}", id="single quotes"),
        pytest.param('{"recipientIds": [1,]}', id="trailing comma"),
        pytest.param("[]", id="array"),
        pytest.param('[{"body": "x"}]', id="array of object"),
        pytest.param("null", id="null"),
        pytest.param("42", id="number"),
        pytest.param('"text"', id="string"),
        pytest.param("true", id="bool"),
        pytest.param("NaN", id="nan"),
        pytest.param(b"\xff\xfe\xfa{", id="not utf-8"),
        pytest.param(b'{"body": "\xed\xa0\x80"}', id="utf-8 surrogate bytes"),
        pytest.param("[" * 200_000, id="deeply nested"),
        pytest.param('{"a":' * 100_000 + "1" + "}" * 100_000, id="deeply nested objects"),
        pytest.param('{"recipientIds": [' + "9" * 5000 + "]}", id="5000-digit number"),
    ],
)
def test_send_refuses_bad_json_with_400(world: dict[str, Any], api: Any, raw: Any) -> None:
    before = db_state()
    response = api(world["bo"]).post(SEND, raw=raw)
    error(response, 400, "invalid")
    assert db_state() == before


def test_send_to_another_tenants_member_is_400(world: dict[str, Any], api: Any) -> None:
    before = db_state()
    response = api(world["bo"]).post(
        SEND, {"tenantId": "acme", "recipientIds": [world["ann"].pk, world["dee"].pk], "body": "x"}
    )
    err = error(response, 400, "invalid", field="recipientIds")
    assert err["details"]["unknown"] == [world["dee"].pk]
    assert db_state() == before


def test_send_to_oneself_is_400(world: dict[str, Any], api: Any) -> None:
    before = db_state()
    response = api(world["bo"]).post(
        SEND, {"tenantId": "acme", "recipientIds": [world["bo"].pk], "body": "x"}
    )
    error(response, 400, "invalid", field="recipientIds")
    assert db_state() == before


def test_send_to_an_unknown_tenant_is_404(world: dict[str, Any], api: Any) -> None:
    before = db_state()
    response = api(world["bo"]).post(
        SEND, {"tenantId": "nowhere", "recipientIds": [world["ann"].pk], "body": "x"}
    )
    error(response, 404, "not_found")
    assert db_state() == before


def test_send_as_form_data_is_415(world: dict[str, Any], api: Any) -> None:
    client = api(world["bo"])
    before = db_state()
    response = client.client.post(
        SEND,
        "tenantId=acme&body=x",
        content_type="text/plain",
        headers={"X-CSRFToken": client.csrf},
    )
    error(response, 415, "unsupported_type")
    assert db_state() == before


def test_a_body_over_one_mebibyte_is_413(world: dict[str, Any], api: Any) -> None:
    payload = {**_valid_send(world), "body": "x" * (1024 * 1024 + 10)}
    before = db_state()
    response = api(world["bo"]).post(SEND, payload)
    error(response, 413, "too_large")
    assert db_state() == before


def test_a_huge_form_body_is_413_too(world: dict[str, Any], api: Any) -> None:
    client = api(world["bo"])
    response = client.client.post(
        SEND,
        "a=" + "x" * (1024 * 1024 + 10),
        content_type="application/x-www-form-urlencoded",
        headers={"X-CSRFToken": client.csrf},
    )
    error(response, 413, "too_large")


# -- the list ----------------------------------------------------------------------------------


def _at(message: Message, when: dt.datetime) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=when)
    MessageRecipient.objects.filter(message_id=message.pk).update(created_at=when)


@pytest.fixture
def seven(world: dict[str, Any]) -> list[Message]:
    """Seven messages from bo to ann, with ties on created_at: newest first is by id then."""
    base = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    times = [0, 5, 5, 5, 9, 12, 12]  # seconds after base
    out = []
    for i, seconds in enumerate(times):
        message = factories.send(
            world["bo"], world["acme"], [world["ann"]], subject=f"m{i}", body=f"body {i}"
        )
        _at(message, base + dt.timedelta(seconds=seconds))
        out.append(message)
    return out


def _newest_first(messages: list[Message]) -> list[int]:
    fresh = Message.objects.filter(pk__in=[m.pk for m in messages])
    return [m.pk for m in sorted(fresh, key=lambda m: (m.created_at, m.pk), reverse=True)]


def _walk(client: Any, path: str, params: dict[str, Any]) -> tuple[list[int], int]:
    seen: list[int] = []
    pages = 0
    cursor = None
    while True:
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        response = client.get(path, query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"results", "nextCursor"}
        pages += 1
        seen.extend(m["id"] for m in body["results"])
        cursor = body["nextCursor"]
        if cursor is None:
            return seen, pages
        assert isinstance(cursor, str) and cursor
        assert pages < 20


@pytest.mark.parametrize("path", ["/api/messages", LIST])
def test_inbox_pages_walk_every_message_once_newest_first(
    world: dict[str, Any], api: Any, seven: list[Message], path: str
) -> None:
    seen, pages = _walk(api(world["ann"]), path, {"tenantId": "acme", "limit": 2})
    assert seen == _newest_first(seven)
    assert len(set(seen)) == 7
    assert pages == 4


def test_sent_pages_walk_every_message_once_newest_first(
    world: dict[str, Any], api: Any, seven: list[Message]
) -> None:
    seen, pages = _walk(api(world["bo"]), LIST, {"tenantId": "acme", "box": "sent", "limit": 2})
    assert seen == _newest_first(seven)
    assert pages == 4
    # ann sent nothing; bo received nothing.
    assert _walk(api(world["ann"]), LIST, {"box": "sent"}) == ([], 1)
    assert _walk(api(world["bo"]), LIST, {"box": "inbox"}) == ([], 1)


def test_a_listed_message_is_the_object_its_own_endpoint_gives(
    world: dict[str, Any], api: Any
) -> None:
    """Pages build their JSON from columns, one message from model instances: alike, for a
    recipient (read and unread), the sender, a reply, an edit and a stale stored bodyHtml."""
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    first = factories.send(bo, acme, [ann, cy], subject="Plan", body="see https://example.org/x")
    reply = factories.send(ann, acme, [bo], body="<ok> & thanks", reply_to=first)
    everyone = factories.send(ann, acme, "all", body="drill at 10")
    api(ann).post(read_url(first.pk), {"read": True})
    api(bo).patch(detail(first.pk), {"body": "see https://example.org/y"})
    Message.objects.filter(pk=reply.pk).update(body_html="<i>old</i>", body_html_version=0)
    for user, box, expected in [
        (ann, "inbox", [first.pk]),
        (bo, "inbox", [everyone.pk, reply.pk]),
        (bo, "sent", [first.pk]),
        (ann, "sent", [everyone.pk, reply.pk]),
    ]:
        client = api(user)
        listed = client.get(LIST, {"tenantId": "acme", "box": box}).json()["results"]
        assert [m["id"] for m in listed] == expected
        assert listed == [client.get(detail(m["id"])).json() for m in listed]
    [shown] = [
        m for m in api(bo).get(LIST, {"box": "inbox"}).json()["results"] if m["id"] == reply.pk
    ]
    assert shown["bodyHtml"] == "&lt;ok&gt; &amp; thanks"


def test_paging_holds_when_a_message_arrives_between_pages(
    world: dict[str, Any], api: Any, seven: list[Message]
) -> None:
    ann = api(world["ann"])
    first = ann.get(LIST, {"limit": 3}).json()
    factories.send(world["cy"], world["acme"], [world["ann"]], body="late")
    rest, _ = _walk(ann, LIST, {"limit": 3, "cursor": first["nextCursor"]})
    assert [m["id"] for m in first["results"]] + rest == _newest_first(seven)


def test_unread_filter_pages_too(world: dict[str, Any], api: Any, seven: list[Message]) -> None:
    ann = api(world["ann"])
    for message in seven[::2]:
        assert ann.post(read_url(message.pk), {"read": True}).status_code == 200
    unread = [m for m in seven if m not in seven[::2]]
    seen, _ = _walk(ann, LIST, {"unread": "1", "limit": 2})
    assert seen == _newest_first(unread)
    assert all(not m["isRead"] for m in ann.get(LIST, {"unread": "true"}).json()["results"])
    assert len(ids(ann.get(LIST, {"unread": "0"}))) == 7
    assert len(ids(ann.get(LIST, {"unread": ""}))) == 7


def test_the_list_default_limit_is_50_and_the_maximum_100(world: dict[str, Any], api: Any) -> None:
    for i in range(51):
        factories.send(world["bo"], world["acme"], [world["ann"]], body=f"n{i}")
    ann = api(world["ann"])
    page = ann.get(LIST).json()
    assert len(page["results"]) == 50
    assert page["nextCursor"] is not None
    assert len(ids(ann.get(LIST, {"cursor": page["nextCursor"]}))) == 1
    full = ann.get(LIST, {"limit": 100}).json()
    assert len(full["results"]) == 51
    assert full["nextCursor"] is None


def test_list_items_are_message_objects_for_the_viewer(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    inbox = api(world["ann"]).get(LIST, {"tenantId": "acme"}).json()["results"]
    assert len(inbox) == 1
    message_shape(inbox[0])
    assert inbox[0]["isRead"] is False
    assert inbox[0]["isSender"] is False
    assert inbox[0]["recipients"] == [{"id": world["ann"].pk, "name": "Ann Lee"}]
    sent = api(world["bo"]).get(LIST, {"tenantId": "acme", "box": "sent"}).json()["results"]
    message_shape(sent[0])
    assert sent[0]["isSender"] is True
    assert sent[0]["readAt"] is None


def test_search_matches_subject_and_body_case_insensitively(
    world: dict[str, Any], api: Any
) -> None:
    acme, bo, ann = world["acme"], world["bo"], world["ann"]
    in_subject = factories.send(bo, acme, [ann], subject="Crane crew", body="x")
    in_body = factories.send(bo, acme, [ann], subject="x", body="the CRANE is down")
    factories.send(bo, acme, [ann], subject="Lunch", body="canteen")
    unicode = factories.send(bo, acme, [ann], subject="Grüße 🚢", body="x")
    literal = factories.send(bo, acme, [ann], subject="100% sure_thing", body="x")
    client = api(ann)
    assert ids(client.get(LIST, {"q": "crane"})) == [in_body.pk, in_subject.pk]
    assert ids(client.get(LIST, {"q": "  Crane  "})) == [in_body.pk, in_subject.pk]
    assert ids(client.get(LIST, {"q": "Grüße"})) == [unicode.pk]
    assert ids(client.get(LIST, {"q": "🚢"})) == [unicode.pk]
    # LIKE's wildcards are plain characters in q.
    assert ids(client.get(LIST, {"q": "100%"})) == [literal.pk]
    assert ids(client.get(LIST, {"q": "%"})) == [literal.pk]
    assert ids(client.get(LIST, {"q": "_"})) == [literal.pk]
    assert ids(client.get(LIST, {"q": "nothing like it"})) == []
    assert ids(api(bo).get(LIST, {"box": "sent", "q": "crane"})) == [in_body.pk, in_subject.pk]
    assert len(ids(client.get(LIST, {"q": ""}))) == 5


def _cursor(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


BAD_LIST_PARAMS: list[tuple[str, dict[str, str], str]] = [
    ("limit 0", {"limit": "0"}, "limit"),
    ("limit 101", {"limit": "101"}, "limit"),
    ("limit abc", {"limit": "abc"}, "limit"),
    ("limit negative", {"limit": "-1"}, "limit"),
    ("limit float", {"limit": "1.5"}, "limit"),
    ("limit huge", {"limit": "9" * 40}, "limit"),
    ("limit arabic digits", {"limit": "٥"}, "limit"),
    ("limit NUL", {"limit": "5\x00"}, "limit"),
    ("box unknown", {"box": "trash"}, "box"),
    ("box NUL", {"box": "\x00"}, "box"),
    ("unread maybe", {"unread": "maybe"}, "unread"),
    ("q too long", {"q": "x" * 201}, "q"),
    ("q NUL", {"q": "a\x00b"}, "q"),
    ("q control", {"q": "a\x07b"}, "q"),
    ("tenant bad slug", {"tenantId": "Acme!"}, "tenantId"),
    ("tenant NUL", {"tenantId": "acme\x00"}, "tenantId"),
    ("cursor garbage", {"cursor": "abc"}, "cursor"),
    ("cursor punctuation", {"cursor": "!!!"}, "cursor"),
    ("cursor NUL", {"cursor": "\x00"}, "cursor"),
    ("cursor non-ascii", {"cursor": "é🚢"}, "cursor"),
    ("cursor of a number", {"cursor": _cursor(5)}, "cursor"),
    ("cursor of an object", {"cursor": _cursor({"a": 1, "b": 2})}, "cursor"),
    ("cursor of three", {"cursor": _cursor(["2020-01-01T00:00:00+00:00", 1, 2])}, "cursor"),
    ("cursor naive time", {"cursor": _cursor(["2020-01-01T00:00:00", 1])}, "cursor"),
    ("cursor not a time", {"cursor": _cursor(["yesterday", 1])}, "cursor"),
    ("cursor time a number", {"cursor": _cursor([20200101, 1])}, "cursor"),
    ("cursor id a string", {"cursor": _cursor(["2020-01-01T00:00:00+00:00", "1"])}, "cursor"),
    ("cursor id a bool", {"cursor": _cursor(["2020-01-01T00:00:00+00:00", True])}, "cursor"),
    ("cursor id a float", {"cursor": _cursor(["2020-01-01T00:00:00+00:00", 1.0])}, "cursor"),
    ("cursor id 0", {"cursor": _cursor(["2020-01-01T00:00:00+00:00", 0])}, "cursor"),
    ("cursor id 2**63", {"cursor": _cursor(["2020-01-01T00:00:00+00:00", 2**63])}, "cursor"),
    ("cursor year 1", {"cursor": _cursor(["0001-01-01T00:00:00+14:00", 1])}, "cursor"),
    ("cursor year 9999", {"cursor": _cursor(["9999-12-31T23:59:59-14:00", 1])}, "cursor"),
    ("cursor nested", {"cursor": _cursor([[[[["x"]]]]])}, "cursor"),
    ("cursor very long", {"cursor": "A" * 5000}, "cursor"),
    ("cursor deeply nested", {"cursor": _cursor("x") + "W" * 3000}, "cursor"),
]


@pytest.mark.parametrize("box", ["inbox", "sent"])
@pytest.mark.parametrize(
    ("params", "field"),
    [pytest.param(params, field, id=name) for name, params, field in BAD_LIST_PARAMS],
)
def test_list_refuses_bad_parameters_with_400(
    world: dict[str, Any],
    api: Any,
    bo_to_ann: Message,
    params: dict[str, str],
    field: str,
    box: str,
) -> None:
    query = {"box": box, **params}
    response = api(world["ann"]).get(LIST, query)
    error(response, 400, "invalid", field=field)


def test_list_of_a_cursor_deeply_nested_json_is_400(world: dict[str, Any], api: Any) -> None:
    deep = base64.urlsafe_b64encode(b"[" * 140).decode()
    error(api(world["ann"]).get(LIST, {"cursor": deep}), 400, "invalid", field="cursor")


def test_a_cursor_with_another_offset_means_the_same_instant(
    world: dict[str, Any], api: Any, seven: list[Message]
) -> None:
    ann = api(world["ann"])
    newest = Message.objects.get(pk=_newest_first(seven)[0])
    shifted = newest.created_at.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    page = ann.get(LIST, {"cursor": _cursor([shifted.isoformat(), newest.pk])})
    assert page.status_code == 200
    assert ids(page) == _newest_first(seven)[1:]


def test_list_of_an_unknown_tenant_is_404(world: dict[str, Any], api: Any) -> None:
    error(api(world["ann"]).get(LIST, {"tenantId": "nowhere"}), 404, "not_found")


def test_list_with_too_many_query_fields_is_400_not_500(world: dict[str, Any], api: Any) -> None:
    query = "&".join(f"f{i}=1" for i in range(1200))
    response = api(world["ann"]).client.get(LIST + "?" + query)
    error(response, 400, "invalid")


# -- one message -------------------------------------------------------------------------------


def test_get_one_message_as_recipient_and_as_sender(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    as_ann = api(world["ann"]).get(detail(bo_to_ann.pk))
    assert as_ann.status_code == 200
    message_shape(as_ann.json())
    assert as_ann.json()["id"] == bo_to_ann.pk
    assert as_ann.json()["isRead"] is False
    assert as_ann.json()["isSender"] is False
    as_bo = api(world["bo"]).get(detail(bo_to_ann.pk)).json()
    assert as_bo["isSender"] is True
    # The sender has no read state of their own: isRead true, readAt null.
    assert as_bo["isRead"] is True
    assert as_bo["readAt"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/api/messaging/messages/0",
        "/api/messaging/messages/987654",
        "/api/messaging/messages/999999999999999999",
        "/api/messaging/messages/9223372036854775808",
        "/api/messaging/messages/99999999999999999999999",
        "/api/messaging/messages/-1",
        "/api/messaging/messages/abc",
        "/api/messaging/messages/1.5",
        "/api/messaging/messages/%F0%9F%9A%A2",
        "/api/messaging/messages/%00",
        "/api/messaging/threads/987654",
        "/api/messaging/threads/99999999999999999999",
        "/api/messaging/nothing-here",
        "/api/messaging/messages/1/read/extra",
    ],
)
def test_unknown_ids_and_paths_are_json_404(world: dict[str, Any], api: Any, path: str) -> None:
    error(api(world["ann"]).get(path), 404, "not_found")


def test_a_non_recipient_of_the_same_tenant_gets_404(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    cy = api(world["cy"])
    before = db_state()
    error(cy.get(detail(bo_to_ann.pk)), 404, "not_found")
    error(cy.patch(detail(bo_to_ann.pk), {"body": "mine now"}), 404, "not_found")
    error(cy.delete(detail(bo_to_ann.pk)), 404, "not_found")
    error(cy.post(read_url(bo_to_ann.pk), {"read": True}), 404, "not_found")
    error(cy.get(thread_url(bo_to_ann.pk)), 404, "not_found")
    assert db_state() == before


# -- edit --------------------------------------------------------------------------------------


def test_the_sender_edits_and_edited_at_is_set(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    bo = api(world["bo"])
    original = bo.get(detail(bo_to_ann.pk)).json()
    response = bo.patch(detail(bo_to_ann.pk), {"subject": "Hi again", "body": "see www.x.org"})
    assert response.status_code == 200, response.content
    edited = response.json()
    message_shape(edited)
    assert edited["subject"] == "Hi again"
    assert edited["body"] == "see www.x.org"
    assert "<a " in edited["bodyHtml"]
    assert ISO_Z.match(edited["editedAt"])
    assert edited["updatedAt"] >= original["updatedAt"]
    assert edited["createdAt"] == original["createdAt"]
    assert api(world["ann"]).get(detail(bo_to_ann.pk)).json()["subject"] == "Hi again"
    # Only the body: the subject stays.
    body_only = bo.patch(detail(bo_to_ann.pk), {"body": "only this"}).json()
    assert body_only["subject"] == "Hi again"
    assert body_only["body"] == "only this"


def test_an_edit_that_changes_nothing_leaves_edited_at_alone(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    before = db_state()
    response = api(world["bo"]).patch(detail(bo_to_ann.pk), {"subject": "Hi", "body": "Hello"})
    assert response.status_code == 200
    assert response.json()["editedAt"] is None
    assert db_state() == before


def test_a_recipient_may_not_edit(world: dict[str, Any], api: Any, bo_to_ann: Message) -> None:
    before = db_state()
    error(api(world["ann"]).patch(detail(bo_to_ann.pk), {"body": "x"}), 403, "forbidden")
    assert db_state() == before


BAD_EDITS: list[tuple[str, Any, str | None]] = [
    ("empty object", {}, None),
    ("both null", {"subject": None, "body": None}, None),
    ("subject a number", {"subject": 5}, "subject"),
    ("subject too long", {"subject": "x" * 201}, "subject"),
    ("subject newline", {"subject": "a\nb"}, "subject"),
    ("subject NUL", {"subject": "\u0000"}, "subject"),
    ("body a list", {"body": ["x"]}, "body"),
    ("body too long", {"body": "x" * 20_001}, "body"),
    ("body surrogate", {"body": "\ud800"}, "body"),
    ("both emptied", {"subject": "", "body": ""}, "body"),
    ("unknown field", {"body": "x", "recipientIds": [1]}, "recipientIds"),
]


@pytest.mark.parametrize(
    ("payload", "field"), [pytest.param(p, f, id=name) for name, p, f in BAD_EDITS]
)
def test_bad_edits_are_400_and_change_nothing(
    world: dict[str, Any], api: Any, bo_to_ann: Message, payload: Any, field: str | None
) -> None:
    before = db_state()
    response = api(world["bo"]).patch(detail(bo_to_ann.pk), raw=json.dumps(payload))
    error(response, 400, "invalid", field=field)
    assert db_state() == before


@pytest.mark.parametrize("raw", ["{", "[]", "null", '"x"', b"\xff"])
def test_edit_with_bad_json_is_400(
    world: dict[str, Any], api: Any, bo_to_ann: Message, raw: Any
) -> None:
    before = db_state()
    error(api(world["bo"]).patch(detail(bo_to_ann.pk), raw=raw), 400, "invalid")
    assert db_state() == before


# -- delete ------------------------------------------------------------------------------------


def test_the_sender_deletes_for_everyone(world: dict[str, Any], api: Any) -> None:
    acme, bo = world["acme"], world["bo"]
    message = factories.send(bo, acme, [world["ann"], world["cy"]], body="oops")
    keep = factories.send(bo, acme, [world["ann"]], body="keep")
    ann, cy, bo_client = api(world["ann"]), api(world["cy"]), api(bo)
    assert count(ann) == 2 and count(cy) == 1
    response = bo_client.delete(detail(message.pk))
    assert response.status_code == 204
    assert response.content == b""
    for client in (ann, cy, bo_client):
        error(client.get(detail(message.pk)), 404, "not_found")
    assert ids(ann.get(LIST)) == [keep.pk]
    assert ids(cy.get(LIST)) == []
    assert ids(bo_client.get(LIST, {"box": "sent"})) == [keep.pk]
    assert count(ann) == 1 and count(cy) == 0
    assert ann.get(STATS, {"tenantId": "acme"}).json()["total"] == 1
    # Its text is gone from the database too, not only hidden.
    assert Message.objects.filter(pk=message.pk, subject="", body="").exists()
    # Deleting again: there is nothing left to delete.
    error(bo_client.delete(detail(message.pk)), 404, "not_found")
    error(ann.post(read_url(message.pk), {"read": True}), 404, "not_found")


def test_a_recipient_deletes_only_from_their_own_inbox(world: dict[str, Any], api: Any) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"], world["cy"]], body="x")
    ann, cy, bo = api(world["ann"]), api(world["cy"]), api(world["bo"])
    assert ann.delete(detail(message.pk)).status_code == 204
    error(ann.get(detail(message.pk)), 404, "not_found")
    assert ids(ann.get(LIST)) == []
    assert count(ann) == 0
    assert ids(cy.get(LIST)) == [message.pk]
    assert count(cy) == 1
    assert ids(bo.get(LIST, {"box": "sent"})) == [message.pk]
    assert bo.get(detail(message.pk)).status_code == 200
    error(ann.delete(detail(message.pk)), 404, "not_found")


# -- read state --------------------------------------------------------------------------------


def test_read_and_unread_toggle_the_state_and_the_count(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    ann = api(world["ann"])
    assert count(ann) == 1
    read = ann.post(read_url(bo_to_ann.pk), {"read": True})
    assert read.status_code == 200
    message_shape(read.json())
    assert read.json()["isRead"] is True
    assert ISO_Z.match(read.json()["readAt"])
    assert count(ann) == 0
    # Marking read again changes nothing, not even the time.
    again = ann.post(read_url(bo_to_ann.pk), {"read": True}).json()
    assert again["readAt"] == read.json()["readAt"]
    unread = ann.post(read_url(bo_to_ann.pk), {"read": False})
    assert unread.status_code == 200
    assert unread.json()["isRead"] is False
    assert unread.json()["readAt"] is None
    assert count(ann) == 1
    assert ann.post(read_url(bo_to_ann.pk), {"read": False}).json()["isRead"] is False
    assert count(ann) == 1


def test_read_without_a_body_means_read(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    ann = api(world["ann"])
    assert ann.post(read_url(bo_to_ann.pk), raw="").json()["isRead"] is True
    assert ann.post(read_url(bo_to_ann.pk), {"read": False}).json()["isRead"] is False
    assert ann.post(read_url(bo_to_ann.pk), {}).json()["isRead"] is True


@pytest.mark.parametrize(
    "payload",
    [
        {"read": "yes"},
        {"read": 1},
        {"read": 0},
        {"read": None},
        {"read": [True]},
        {"read": {}},
        {"read": True, "readAt": "2020-01-01T00:00:00Z"},
    ],
)
def test_bad_read_bodies_are_400(
    world: dict[str, Any], api: Any, bo_to_ann: Message, payload: Any
) -> None:
    before = db_state()
    response = api(world["ann"]).post(read_url(bo_to_ann.pk), payload)
    error(response, 400, "invalid")
    assert db_state() == before


def test_the_sender_has_no_read_state_to_set(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    before = db_state()
    error(api(world["bo"]).post(read_url(bo_to_ann.pk), {"read": True}), 403, "forbidden")
    assert db_state() == before


def test_read_all_marks_the_tenant_and_says_how_many(world: dict[str, Any], api: Any) -> None:
    acme, globex = world["acme"], world["globex"]
    for _ in range(3):
        factories.send(world["bo"], acme, [world["cy"]])
    factories.send(world["dee"], globex, [world["cy"]])
    already = factories.send(world["ann"], acme, [world["cy"]])
    cy = api(world["cy"])
    cy.post(read_url(already.pk), {"read": True})
    response = cy.post(READ_ALL, {"tenantId": "acme"})
    assert response.status_code == 200
    assert response.json() == {"updated": 3}
    assert count(cy) == 0
    assert count(cy, "globex") == 1
    assert cy.post(READ_ALL, {"tenantId": "acme"}).json() == {"updated": 0}
    assert all(m["isRead"] for m in cy.get(LIST, {"tenantId": "acme"}).json()["results"])


def test_read_all_without_tenant_id_uses_the_current_tenant(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    ann = api(world["ann"])
    assert ann.post(READ_ALL, raw="").json() == {"updated": 1}


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"tenantId": 5}, 400, "invalid"),
        ({"tenantId": "ACME"}, 400, "invalid"),
        ({"tenantId": "nowhere"}, 404, "not_found"),
        ({"tenantId": "globex"}, 404, "not_found"),
        ({"tenantId": "acme", "all": True}, 400, "invalid"),
    ],
)
def test_bad_read_all_bodies(
    world: dict[str, Any], api: Any, bo_to_ann: Message, payload: Any, status: int, code: str
) -> None:
    before = db_state()
    error(api(world["ann"]).post(READ_ALL, payload), status, code)
    assert db_state() == before


# -- counts and stats --------------------------------------------------------------------------


def test_unread_count_with_and_without_tenant_id(world: dict[str, Any], api: Any) -> None:
    acme, globex, cy = world["acme"], world["globex"], world["cy"]
    factories.send(world["bo"], acme, [cy])
    factories.send(world["ann"], acme, [cy])
    factories.send(world["dee"], globex, [cy])
    client = api(cy)
    assert client.get(COUNT, {"tenantId": "acme"}).json() == {"tenantId": "acme", "count": 2}
    assert client.get(COUNT, {"tenantId": "globex"}).json() == {"tenantId": "globex", "count": 1}
    assert client.get(COUNT).json() == {"count": 3, "byTenant": {"acme": 2, "globex": 1}}
    assert client.get(COUNT, {"tenantId": ""}).json()["count"] == 3
    assert api(world["bo"]).get(COUNT).json() == {"count": 0, "byTenant": {"acme": 0}}
    error(client.get(COUNT, {"tenantId": "nowhere"}), 404, "not_found")
    error(client.get(COUNT, {"tenantId": "Bad Slug"}), 400, "invalid", field="tenantId")


def test_stats_for_the_viewer(world: dict[str, Any], api: Any) -> None:
    acme, ann, bo = world["acme"], world["ann"], world["bo"]
    first = factories.send(bo, acme, [ann])
    factories.send(bo, acme, [ann])
    factories.send(world["cy"], acme, [ann])
    factories.send(ann, acme, [bo])
    Message.objects.filter(pk=first.pk).update(has_attachments=True, attachment_count=1)
    client = api(ann)
    client.post(read_url(first.pk), {"read": True})
    stats = client.get(STATS, {"tenantId": "acme"})
    assert stats.status_code == 200
    assert stats.json() == {"total": 3, "unread": 2, "sent": 1, "withAttachments": 1}
    assert api(bo).get(STATS).json() == {"total": 1, "unread": 1, "sent": 2, "withAttachments": 0}
    error(client.get(STATS, {"tenantId": "nowhere"}), 404, "not_found")


# -- threads -----------------------------------------------------------------------------------


def test_a_thread_lists_what_the_viewer_may_see_oldest_first(
    world: dict[str, Any], api: Any
) -> None:
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    root = factories.send(bo, acme, [ann, cy], subject="Root")
    reply = factories.send(ann, acme, [bo], body="private reply", reply_to=root)
    reply_all = factories.send(cy, acme, [ann, bo], body="to all", reply_to=root)
    factories.send(bo, acme, [ann], body="unrelated")
    for client, expected in [
        (api(ann), [root.pk, reply.pk, reply_all.pk]),
        (api(bo), [root.pk, reply.pk, reply_all.pk]),
        (api(cy), [root.pk, reply_all.pk]),
    ]:
        response = client.get(thread_url(root.pk))
        assert response.status_code == 200
        assert set(response.json()) == {"results"}
        assert ids(response) == expected
        for message in response.json()["results"]:
            message_shape(message)
            assert message["threadId"] == root.pk
    # A reply's own id is not a thread id.
    error(api(ann).get(thread_url(reply.pk)), 404, "not_found")


def test_a_thread_whose_root_was_deleted_still_shows_its_replies(
    world: dict[str, Any], api: Any
) -> None:
    acme, ann, bo = world["acme"], world["ann"], world["bo"]
    root = factories.send(bo, acme, [ann], subject="Root")
    reply = factories.send(ann, acme, [bo], body="reply", reply_to=root)
    assert api(bo).delete(detail(root.pk)).status_code == 204
    assert ids(api(ann).get(thread_url(root.pk))) == [reply.pk]


# -- members -----------------------------------------------------------------------------------


def test_members_lists_the_tenant_but_not_oneself(world: dict[str, Any], api: Any) -> None:
    response = api(world["bo"]).get(MEMBERS, {"tenantId": "acme"})
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"id": world["ann"].pk, "username": "ann", "name": "Ann Lee", "role": "tenant_admin"},
            {"id": world["cy"].pk, "username": "cy", "name": "Cy Okafor", "role": "subscriber"},
        ]
    }
    globex = api(world["cy"]).get(MEMBERS, {"tenantId": "globex"}).json()["results"]
    assert [m["username"] for m in globex] == ["dee"]


def test_members_filters_by_q(world: dict[str, Any], api: Any) -> None:
    bo = api(world["bo"])

    def names(q: str) -> list[str]:
        response = bo.get(MEMBERS, {"tenantId": "acme", "q": q})
        assert response.status_code == 200
        return [m["username"] for m in response.json()["results"]]

    assert names("okaf") == ["cy"]
    assert names("ANN") == ["ann"]
    assert names("example.com") == ["ann", "cy"]
    assert names("bo") == []  # oneself is never addressable
    assert names("dee") == []  # another tenant's member
    assert names("%") == []
    assert names("") == ["ann", "cy"]


def test_members_refuses_bad_queries(world: dict[str, Any], api: Any) -> None:
    bo = api(world["bo"])
    error(bo.get(MEMBERS, {"tenantId": "acme", "q": "x" * 101}), 400, "invalid", field="q")
    error(bo.get(MEMBERS, {"tenantId": "acme", "q": "\x00"}), 400, "invalid", field="q")
    error(bo.get(MEMBERS, {"tenantId": "globex"}), 404, "not_found")


# -- method, CSRF, login -----------------------------------------------------------------------

ENDPOINTS: list[tuple[str, str, set[str]]] = [
    ("send", SEND, {"POST"}),
    ("messages", "/api/messages", {"GET"}),
    ("messaging messages", LIST, {"GET"}),
    ("detail", "/api/messaging/messages/{id}", {"GET", "PATCH", "DELETE"}),
    ("read", "/api/messaging/messages/{id}/read", {"POST"}),
    ("read-all", READ_ALL, {"POST"}),
    ("unread-count", COUNT, {"GET"}),
    ("thread", "/api/messaging/threads/{id}", {"GET"}),
    ("members", MEMBERS, {"GET"}),
    ("stats", STATS, {"GET"}),
]
METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"]


@pytest.mark.parametrize(
    ("path", "allowed"), [pytest.param(p, a, id=name) for name, p, a in ENDPOINTS]
)
def test_wrong_methods_are_405_with_allow(
    world: dict[str, Any], api: Any, bo_to_ann: Message, path: str, allowed: set[str]
) -> None:
    client = api(world["ann"])
    url = path.format(id=bo_to_ann.pk)
    before = db_state()
    for method in METHODS:
        if method in allowed:
            continue
        response = client.client.generic(
            method,
            url,
            b"{}",
            content_type="application/json",
            headers={"X-CSRFToken": client.csrf},
        )
        error(response, 405, "method_not_allowed")
        expected = allowed | {"HEAD"} if "GET" in allowed else allowed
        assert set(response["Allow"].split(", ")) == expected, response["Allow"]
    assert db_state() == before


def _unsafe_calls(world: dict[str, Any], message: Message) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", SEND, {"tenantId": "acme", "recipientIds": [world["bo"].pk], "body": "x"}),
        ("PATCH", detail(message.pk), {"body": "changed"}),
        ("DELETE", detail(message.pk), {}),
        ("POST", read_url(message.pk), {"read": True}),
        ("POST", READ_ALL, {"tenantId": "acme"}),
    ]


def test_unsafe_calls_without_csrf_are_403_and_change_nothing(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    ann = api(world["ann"])
    bo = api(world["bo"])
    before = db_state()
    for method, url, payload in _unsafe_calls(world, bo_to_ann):
        client = bo if method in {"PATCH", "DELETE"} else ann
        for token in (None, "wrong-token-" + "x" * 20):
            headers = {"X-CSRFToken": token} if token else {}
            response = client.client.generic(
                method, url, json.dumps(payload), content_type="application/json", headers=headers
            )
            err = error(response, 403, "forbidden")
            assert "CSRF" in err["message"]
    assert db_state() == before
    assert count(ann) == 1


def test_logged_out_calls_are_401_and_change_nothing(
    world: dict[str, Any], api: Any, bo_to_ann: Message
) -> None:
    anonymous = api()
    before = db_state()
    for _name, path, allowed in ENDPOINTS:
        url = path.format(id=bo_to_ann.pk)
        for method in allowed:
            response = anonymous.client.generic(
                method,
                url,
                b"{}",
                content_type="application/json",
                headers={"X-CSRFToken": anonymous.csrf},
            )
            error(response, 401, "not_authenticated")
    for method, url, payload in _unsafe_calls(world, bo_to_ann):
        response = anonymous.client.generic(
            method, url, json.dumps(payload), content_type="application/json"
        )
        assert response.status_code in {401, 403}, url
        assert response.json()["error"]["code"] in {"not_authenticated", "forbidden"}
    assert db_state() == before


def test_a_user_of_no_tenant_gets_404_for_the_default_tenant(api: Any, db: Any) -> None:
    loner = User.objects.create_user("loner", password="x")
    client = api(loner)
    error(client.get(LIST), 404, "not_found")
    error(client.get(STATS), 404, "not_found")
    error(client.get(MEMBERS), 404, "not_found")
    assert client.get(COUNT).json() == {"count": 0, "byTenant": {}}
    error(client.post(SEND, {"recipientIds": [1], "body": "x"}), 404, "not_found")


# -- no input makes a 500 ----------------------------------------------------------------------

NASTY: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    2**64,
    1.5,
    float("1e308"),
    "",
    "all",
    "\u0000",
    "\ud800",
    "\udfff",
    "🚢" * 300,
    "x" * 20_001,
    "<script>",
    "' OR 1=1 --",
    [],
    [None],
    ["\u0000"],
    [2**63],
    {},
    {"$gt": ""},
    [[[[]]]],
]


@pytest.mark.parametrize("value", NASTY, ids=[repr(v)[:30] for v in NASTY])
def test_no_field_value_makes_a_500(
    world: dict[str, Any], api: Any, bo_to_ann: Message, value: Any
) -> None:
    ann = api(world["ann"])
    bo = api(world["bo"])
    base = {"tenantId": "acme", "recipientIds": [world["bo"].pk], "subject": "s", "body": "b"}
    for key in ("tenantId", "recipientIds", "subject", "body", "replyToId", "mediaFileIds"):
        response = ann.post(SEND, {**base, key: value})
        assert response.status_code in {201, 400, 403, 404}, (key, response.content[:300])
        assert response["Content-Type"].startswith("application/json")
    for key in ("subject", "body"):
        response = bo.patch(detail(bo_to_ann.pk), {key: value})
        assert response.status_code in {200, 400}, (key, response.content[:300])
    response = ann.post(read_url(bo_to_ann.pk), {"read": value})
    assert response.status_code in {200, 400}
    response = ann.post(READ_ALL, {"tenantId": value})
    assert response.status_code in {200, 400, 404}
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        # A query string carries bytes: a lone surrogate cannot be sent, only its UTF-8 form.
        text = str(value).encode("utf-8", "surrogatepass").decode("latin-1")
        for path in (LIST, COUNT, MEMBERS, STATS):
            for param in ("tenantId", "q", "limit", "cursor", "box", "unread"):
                response = ann.get(path, {param: text})
                assert response.status_code in {200, 400, 404}, (path, param, response.content)


@pytest.mark.parametrize("param", ["tenantId", "q", "limit", "cursor", "box", "unread"])
@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%00", "%C0%80", "%E2%80%AE"])
def test_raw_bytes_in_the_query_string_never_make_a_500(
    world: dict[str, Any], api: Any, param: str, raw: str
) -> None:
    ann = api(world["ann"])
    for path in (LIST, COUNT, MEMBERS, STATS):
        response = ann.client.get(f"{path}?{param}={raw}")
        assert response.status_code in {200, 400, 404}, (path, response.content)
        assert response["Content-Type"].startswith("application/json")


def test_head_is_answered_wherever_get_is(world: dict[str, Any], api: Any) -> None:
    bo = api(world["bo"])
    sent = bo.post(
        "/api/messaging/send", {"recipientIds": [world["ann"].pk], "subject": "s", "body": "b"}
    ).json()
    for path in (
        "/api/messaging/messages",
        f"/api/messaging/messages/{sent['id']}",
        "/api/messaging/unread-count",
        "/api/messaging/stats",
    ):
        r = bo.client.head(path)
        assert r.status_code == 200, path
        assert r.content == b""
    assert Message.objects.filter(pk=sent["id"], deleted_at__isnull=True).exists()
