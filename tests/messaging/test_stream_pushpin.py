"""The same delivery through a Pushpin of the test's own in front of Daphne (GRIP)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.live import DaphneServer, free_port, login
from tests.services import PushpinServer
from tests.sse import SSEStream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PATH = "/api/messaging/stream/acme/"


@pytest.fixture
def pushpin(tmp_path: Path, django_db_blocker: Any) -> Iterator[tuple[PushpinServer, DaphneServer]]:
    if not PushpinServer.available():
        pytest.skip("pushpin is not installed")
    daphne_port = free_port()
    proxy = PushpinServer(daphne_port, tmp_path)
    server = DaphneServer(port=daphne_port, env={"GRIP_URL": proxy.grip_url}).start()
    proxy.start()
    try:
        yield proxy, server
    finally:
        proxy.stop()
        server.stop()


def test_events_through_pushpin_reach_exactly_their_users(
    world: dict[str, Any], pushpin: tuple[PushpinServer, DaphneServer]
) -> None:
    proxy, server = pushpin
    bo = login(proxy.url, "bo", factories.PASSWORD)
    ann = login(proxy.url, "ann", factories.PASSWORD)
    cy = login(proxy.url, "cy", factories.PASSWORD)
    with SSEStream(ann, PATH) as ann_stream, SSEStream(cy, PATH) as cy_stream:
        time.sleep(0.3)  # Pushpin subscribes the held stream to its channels.
        sent = bo.post(
            "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "via pushpin"}
        )
        assert sent.status_code == 201, sent.text
        (event,) = ann_stream.take(1, timeout=10)
        assert event.event == "message:new"
        assert event.data["data"]["messageId"] == sent.json()["id"]
        assert event.data["data"]["payload"]["unreadCount"] == 1
        assert cy_stream.quiet(0.5) == []
    # Direct to Daphne, a client's forged Grip-Sig does not make it a GRIP request.
    forged = login(server.url, "ann", factories.PASSWORD)
    with forged.stream("GET", PATH, headers={"Grip-Sig": "forged"}, timeout=5) as r:
        assert r.status_code == 200
        assert "Grip-Hold" not in r.headers
        assert "Grip-Channel" not in r.headers


def test_reconnect_through_pushpin_replays_missed(
    world: dict[str, Any], pushpin: tuple[PushpinServer, DaphneServer]
) -> None:
    proxy, _ = pushpin
    bo = login(proxy.url, "bo", factories.PASSWORD)
    ann = login(proxy.url, "ann", factories.PASSWORD)
    with SSEStream(ann, PATH) as first:
        time.sleep(0.3)
        bo.post("/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "start"})
        (marker,) = first.take(1)
    ids = []
    for i in range(5):
        r = bo.post(
            "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": f"m{i}"}
        )
        ids.append(r.json()["id"])
    with SSEStream(ann, PATH, last_event_id=marker.id) as again:
        got = again.take(5)
        assert [e.data["data"]["messageId"] for e in got] == ids
        time.sleep(0.3)
        r = bo.post("/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "live"})
        (live,) = again.take(1)
        assert live.data["data"]["messageId"] == r.json()["id"]


def test_unauthorised_streams_are_refused_through_pushpin(
    world: dict[str, Any], pushpin: tuple[PushpinServer, DaphneServer]
) -> None:
    import httpx

    proxy, _ = pushpin
    assert httpx.get(proxy.url + PATH, timeout=5).status_code == 401
    dee = login(proxy.url, "dee", factories.PASSWORD)
    assert dee.get(PATH).status_code == 403
