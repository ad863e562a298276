"""Two Daphne processes sharing the database and a Redis of the test's own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests import factories
from tests.live import DaphneServer, daphne_pair, login
from tests.services import RedisServer
from tests.sse import SSEStream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.fixture
def two_servers(
    redis_server: RedisServer, django_db_blocker: Any
) -> Iterator[tuple[DaphneServer, DaphneServer]]:
    env = {"REDIS_URL": redis_server.url, "HARBOR_REDIS_PREFIX": f"test-{redis_server.port}"}
    with daphne_pair(env) as pair:
        yield pair


def _subscribed(stream: SSEStream, settle: float = 0.3) -> None:
    # The subscriber task starts with the first stream; give it a moment to subscribe.
    time.sleep(settle)


def test_send_through_one_process_reaches_a_stream_on_the_other(
    world: dict[str, Any], two_servers: tuple[DaphneServer, DaphneServer]
) -> None:
    a, b = two_servers
    bo_on_a = login(a.url, "bo", factories.PASSWORD)
    ann_on_b = login(b.url, "ann", factories.PASSWORD)
    with SSEStream(ann_on_b, "/api/messaging/stream/acme/") as stream:
        _subscribed(stream)
        sent = bo_on_a.post(
            "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "across"}
        )
        assert sent.status_code == 201
        (event,) = stream.take(1, timeout=5)
        assert event.event == "message:new"
        assert event.data["data"]["messageId"] == sent.json()["id"]


def test_redis_restart_loses_no_request_and_no_event(
    world: dict[str, Any], redis_server: RedisServer, two_servers: tuple[DaphneServer, DaphneServer]
) -> None:
    a, b = two_servers
    bo_on_a = login(a.url, "bo", factories.PASSWORD)
    ann_on_b = login(b.url, "ann", factories.PASSWORD)
    cy_on_a = login(a.url, "cy", factories.PASSWORD)
    with (
        SSEStream(ann_on_b, "/api/messaging/stream/acme/") as ann_stream,
        SSEStream(cy_on_a, "/api/messaging/stream/acme/") as cy_stream,
    ):
        _subscribed(ann_stream)
        before = bo_on_a.post(
            "/api/messaging/send",
            json={"recipientIds": [world["ann"].pk, world["cy"].pk], "body": "before"},
        )
        assert before.status_code == 201
        assert len(ann_stream.take(1)) == 1
        assert len(cy_stream.take(1)) == 1

        redis_server.stop()
        during = []
        for i in range(3):
            r = bo_on_a.post(
                "/api/messaging/send",
                json={"recipientIds": [world["ann"].pk, world["cy"].pk], "body": f"during {i}"},
            )
            assert r.status_code == 201, r.text
            during.append(r.json()["id"])
        redis_server.start()

        after = bo_on_a.post(
            "/api/messaging/send",
            json={"recipientIds": [world["ann"].pk, world["cy"].pk], "body": "after"},
        )
        assert after.status_code == 201
        expected = [*during, after.json()["id"]]
        for stream in (ann_stream, cy_stream):
            got = stream.take(4, timeout=20)
            assert [e.data["data"]["messageId"] for e in got] == expected
            assert stream.quiet(0.5) == []


def test_a_change_made_in_another_process_reaches_the_streams(
    world: dict[str, Any],
    redis_server: RedisServer,
    two_servers: tuple[DaphneServer, DaphneServer],
    settings: Any,
) -> None:
    """A command, the admin or a shell publishes through Redis like a view does."""
    _, b = two_servers
    settings.REDIS_URL = redis_server.url
    settings.HARBOR_REDIS_PREFIX = f"test-{redis_server.port}"
    ann_on_b = login(b.url, "ann", factories.PASSWORD)
    with SSEStream(ann_on_b, "/api/messaging/stream/acme/") as stream:
        _subscribed(stream)
        # This test process plays the shell: the ORM and the real action, no HTTP.
        message = factories.send(world["bo"], world["acme"], [world["ann"]], body="from a shell")
        (event,) = stream.take(1, timeout=5)
        assert event.data["data"]["messageId"] == message.pk


def test_a_removed_member_loses_streams_in_every_process(
    world: dict[str, Any],
    redis_server: RedisServer,
    two_servers: tuple[DaphneServer, DaphneServer],
    settings: Any,
) -> None:
    from harbor_messaging.tenants.actions import do_remove_member
    from harbor_messaging.tenants.models import Membership

    a, b = two_servers
    settings.REDIS_URL = redis_server.url
    settings.HARBOR_REDIS_PREFIX = f"test-{redis_server.port}"
    on_a = login(a.url, "cy", factories.PASSWORD)
    on_b = login(b.url, "cy", factories.PASSWORD)
    with (
        SSEStream(on_a, "/api/messaging/stream/acme/") as stream_a,
        SSEStream(on_b, "/api/messaging/stream/acme/") as stream_b,
        SSEStream(login(b.url, "cy", factories.PASSWORD), "/api/messaging/stream/globex/") as other,
    ):
        _subscribed(stream_a)
        # Removed in a third process (this one, as the admin or a command would).
        do_remove_member(membership=Membership.objects.get(user=world["cy"], tenant=world["acme"]))
        for stream in (stream_a, stream_b):
            (error,) = stream.take(1, timeout=5)
            assert error.event == "stream-error"
            assert stream.closed.wait(5)
        # Their stream on the tenant they still belong to goes on.
        assert other.quiet(0.3) == []
        assert not other.closed.is_set()
