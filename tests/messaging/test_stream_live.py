"""The event stream as a real SSE client reads it, against a running Daphne."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import factories
from tests.live import login
from tests.sse import SSEStream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def stream_path(slug: str) -> str:
    return f"/api/messaging/stream/{slug}/"


def test_stream_requires_login_and_membership(world: dict[str, Any], live_daphne: Any) -> None:
    anonymous = httpx.get(live_daphne.url + stream_path("acme"), timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    dee = login(live_daphne.url, "dee", factories.PASSWORD)
    outsider = dee.get(stream_path("acme"))
    assert outsider.status_code == 403
    assert outsider.json()["error"]["code"] == "forbidden"
    assert dee.get(stream_path("nope")).status_code == 403


def test_events_reach_exactly_their_users(world: dict[str, Any], live_daphne: Any) -> None:
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    cy = login(live_daphne.url, "cy", factories.PASSWORD)
    dee = login(live_daphne.url, "dee", factories.PASSWORD)
    with (
        SSEStream(ann, stream_path("acme")) as ann_stream,
        SSEStream(bo, stream_path("acme")) as bo_stream,
        SSEStream(cy, stream_path("acme")) as cy_stream,
        SSEStream(dee, stream_path("globex")) as dee_stream,
    ):
        sent = bo.post(
            "/api/messaging/send",
            json={
                "tenantId": "acme",
                "recipientIds": [world["ann"].pk],
                "subject": "Hi",
                "body": "x",
            },
        )
        assert sent.status_code == 201
        message_id = sent.json()["id"]
        (new,) = ann_stream.take(1)
        assert new.event == "message:new"
        assert new.data["type"] == "message:new"
        assert new.data["data"]["messageId"] == message_id
        assert new.data["data"]["tenantId"] == "acme"
        assert new.data["data"]["payload"]["unreadCount"] == 1
        assert new.data["data"]["payload"]["message"]["subject"] == "Hi"
        (own,) = bo_stream.take(1)
        assert own.event == "message:new"
        assert (
            ann.post(f"/api/messaging/messages/{message_id}/read", json={"read": True}).status_code
            == 200
        )
        (read,) = ann_stream.take(1)
        assert read.event == "message:read"
        assert read.data["data"]["payload"]["unreadCount"] == 0
        assert cy_stream.quiet(0.5) == []
        assert dee_stream.quiet(0.1) == []
        assert bo_stream.quiet(0.1) == []


def test_reconnect_with_last_event_id_replays_missed_in_order(
    world: dict[str, Any], live_daphne: Any
) -> None:
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    with SSEStream(ann, stream_path("acme")) as first:
        sent = bo.post(
            "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "one"}
        )
        assert sent.status_code == 201
        (seen,) = first.take(1)
    last_id = seen.id
    ids = []
    for i in range(5):
        r = bo.post(
            "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": f"m{i}"}
        )
        ids.append(r.json()["id"])
    with SSEStream(ann, stream_path("acme"), last_event_id=last_id) as again:
        replay = again.take(5)
        assert [e.data["data"]["messageId"] for e in replay] == ids
        assert again.quiet(0.5) == []
