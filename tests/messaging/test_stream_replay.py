"""Nothing lost: reconnecting with Last-Event-ID replays exactly what was missed, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from messaging.stream_storage import trim_events
from tests import factories
from tests.live import DaphneServer, login
from tests.sse import SSEStream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PATH = "/api/messaging/stream/acme/"


def _twenty_changes(
    world: dict[str, Any], bo: httpx.Client, ann: httpx.Client
) -> list[tuple[str, Any]]:
    """20 changes of every kind that concern ann; returns (event type, messageId) for each."""
    expected: list[tuple[str, Any]] = []
    ids = []
    for i in range(6):
        r = bo.post(
            "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": f"m{i}"}
        )
        assert r.status_code == 201
        ids.append(r.json()["id"])
        expected.append(("message:new", ids[-1]))
    for mid in ids[:4]:
        assert (
            ann.post(f"/api/messaging/messages/{mid}/read", json={"read": True}).status_code == 200
        )
        expected.append(("message:read", mid))
    for mid in ids[:2]:
        assert (
            ann.post(f"/api/messaging/messages/{mid}/read", json={"read": False}).status_code == 200
        )
        expected.append(("message:read", mid))
    for mid in ids[2:5]:
        assert (
            bo.patch(f"/api/messaging/messages/{mid}", json={"body": "edited"}).status_code == 200
        )
        expected.append(("message:update", mid))
    assert ann.delete(f"/api/messaging/messages/{ids[0]}").status_code == 204
    expected.append(("message:delete", ids[0]))
    assert bo.delete(f"/api/messaging/messages/{ids[1]}").status_code == 204
    expected.append(("message:delete", ids[1]))
    # One more of the whole tenant, by its admin, to the tenant channel.
    r = ann.post("/api/messaging/send", json={"recipientIds": [world["bo"].pk], "body": "reply"})
    expected.append(("message:new", r.json()["id"]))
    assert (
        ann.post("/api/messaging/messages/read-all", json={"tenantId": "acme"}).status_code == 200
    )
    expected.append(("message:read", None))
    admin_all = login_admin_all(world, bo)
    expected.append(("message:new", admin_all))
    assert len(expected) == 20
    return expected


def login_admin_all(world: dict[str, Any], bo: httpx.Client) -> int:
    base = str(bo.base_url).rstrip("/")
    cy = login(base, "ann", factories.PASSWORD)
    r = cy.post("/api/messaging/send", json={"recipientIds": "all", "body": "to everyone"})
    assert r.status_code == 201
    return int(r.json()["id"])


def _seen(events: list[Any]) -> list[tuple[str, Any]]:
    return [(e.event, e.data["data"]["messageId"]) for e in events]


def test_disconnect_twenty_changes_reconnect_gets_exactly_those(
    world: dict[str, Any], live_daphne: Any
) -> None:
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    with SSEStream(ann, PATH) as first:
        bo.post("/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "start"})
        (marker,) = first.take(1)
    expected = _twenty_changes(world, bo, ann)
    with SSEStream(ann, PATH, last_event_id=marker.id) as again:
        got = again.take(20)
        assert _seen(got) == expected
        assert again.quiet(0.5) == []
    # The same id through the query parameter, for clients that cannot set the header.
    with SSEStream(ann, PATH + "?lastEventId=" + marker.id) as by_query:
        assert _seen(by_query.take(20)) == expected


def test_replay_survives_a_server_restart(world: dict[str, Any], django_db_blocker: Any) -> None:
    server = DaphneServer().start()
    try:
        bo = login(server.url, "bo", factories.PASSWORD)
        ann = login(server.url, "ann", factories.PASSWORD)
        with SSEStream(ann, PATH) as first:
            bo.post(
                "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "start"}
            )
            (marker,) = first.take(1)
        expected = _twenty_changes(world, bo, ann)
        server.stop()
        server.start()
        ann = login(server.url, "ann", factories.PASSWORD)
        with SSEStream(ann, PATH, last_event_id=marker.id) as again:
            assert _seen(again.take(20)) == expected
            assert again.quiet(0.3) == []
    finally:
        server.stop()


def test_an_id_older_than_retention_gets_stream_reset(
    world: dict[str, Any], live_daphne: Any
) -> None:
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    with SSEStream(ann, PATH) as first:
        for body in ("a", "b"):
            bo.post("/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": body})
        old, _ = first.take(2)
    trim_events(older_than=dt.timedelta(seconds=0))
    with SSEStream(ann, PATH, last_event_id=old.id) as again:
        (reset,) = again.take(1)
        assert reset.event == "stream-reset"
        bo.post("/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "c"})
        (new,) = again.take(1)
        assert new.event == "message:new"


def test_bad_last_event_ids_are_refused_cleanly(world: dict[str, Any], live_daphne: Any) -> None:
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    for bad in ("garbage", "t-acme:abc", "t-acme:1:2", "t-acme:99999999999999999999"):
        r = ann.get(PATH, headers={"Last-Event-ID": bad})
        assert r.status_code == 400, bad
        assert r.json()["error"]["code"] == "invalid"
    # Only Pushpin's signed follow-up requests may carry es-meta or recover.
    for query in ("?es-meta=x.y.z", "?recover=true"):
        r = ann.get(PATH + query)
        assert r.status_code == 400, query
    # An id from the future of this channel starts afresh rather than hanging.
    with SSEStream(ann, PATH, last_event_id="t-acme:999,u-1-acme:999") as stream:
        (reset,) = stream.take(1)
        assert reset.event == "stream-reset"


def test_replay_merges_the_tenant_and_user_channels_in_the_order_they_happened(
    world: dict[str, Any], live_daphne: Any
) -> None:
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    with SSEStream(bo, PATH) as first:
        ann.post("/api/messaging/send", json={"recipientIds": [world["bo"].pk], "body": "start"})
        (marker,) = first.take(1)
    expected = []
    for i in range(4):
        # A tenant-wide message (tenant channel), then bo reads it (bo's own channel).
        r = ann.post("/api/messaging/send", json={"recipientIds": "all", "body": f"all {i}"})
        mid = r.json()["id"]
        assert (
            bo.post(f"/api/messaging/messages/{mid}/read", json={"read": True}).status_code == 200
        )
        expected += [("message:new", mid), ("message:read", mid)]
    with SSEStream(bo, PATH, last_event_id=marker.id) as again:
        assert _seen(again.take(8)) == expected
        assert again.quiet(0.3) == []
