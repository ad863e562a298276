"""The relay over Redis: a process serves its own streams at once, others through Redis."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import redis

from messaging import relay
from messaging.stream_storage import StoredEvent


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> list[list[StoredEvent]]:
    handed: list[list[StoredEvent]] = []
    monkeypatch.setattr(relay, "_deliver_locally", handed.append)
    return handed


EVENT = StoredEvent("t-acme", 7, "message:new", '{"x": 1}', None, 42)


def test_own_events_are_served_at_once_and_skipped_when_they_come_back(
    redis_server: Any, settings: Any, local: list[list[StoredEvent]]
) -> None:
    settings.REDIS_URL = redis_server.url
    settings.HARBOR_REDIS_PREFIX = f"test-relay-{redis_server.port}"
    with redis.Redis.from_url(redis_server.url) as listener:
        pubsub = listener.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(relay.redis_channel())
        relay.send([EVENT])
        assert local == [[EVENT]]  # before anything came back from Redis
        message = None
        for _ in range(50):  # the subscription's own confirmation reads as None
            message = pubsub.get_message(timeout=0.1)
            if message is not None:
                break
        assert message is not None
        published = json.loads(message["data"])
        assert published["origin"] == relay.origin()
        assert published["events"] == [["t-acme", 7, "message:new", '{"x": 1}', None, 42]]
        pubsub.close()

    relay._handle(message["data"])  # this process's own, back from Redis
    assert local == [[EVENT]]
    relay._handle(json.dumps({**published, "origin": "another-process"}))
    assert local == [[EVENT], [EVENT]]


def test_a_failed_publish_still_serves_this_process(
    settings: Any, local: list[list[StoredEvent]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The failure leaves a resync owed; it is not the next test's to publish.
    monkeypatch.setattr(relay._publisher, "_owes_resync", False)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    relay.send([EVENT])
    assert local == [[EVENT]]


def test_a_forked_child_has_an_origin_of_its_own() -> None:
    mine = relay.origin()
    assert relay.origin() == mine
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, relay.origin().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 200).decode()
    os.close(read)
    os.close(write)
    assert child and child != mine
