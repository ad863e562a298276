"""Stream connection management: caps, rate limits, removal, resources after disconnect."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User

from harbor_messaging.tenants.actions import do_create_global_admin
from harbor_messaging.tenants.models import Membership
from tests import factories
from tests.live import DaphneServer, login, remove_member_through_admin, send_message
from tests.sse import SSEStream, read_keep_alives

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PATH = "/api/messaging/stream/acme/"


def _stats(admin: httpx.Client) -> dict[str, int]:
    r = admin.get("/api/ops/streams")
    assert r.status_code == 200, r.text
    return r.json()


def _db_connections() -> int:
    """Open connections to the test database (PostgreSQL), or SQLite files held open by
    Daphne processes (SQLite); either way, what a leak per stream would show."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return int(cursor.fetchone()[0])
    name = str(connection.settings_dict["NAME"])
    count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == name:
                    count += 1
        except OSError:
            continue
    return count


def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_streams_per_user_are_capped(world: dict[str, Any], django_db_blocker: Any) -> None:
    with DaphneServer(env={"HARBOR_STREAMS_PER_USER": "2"}) as server:
        ann = login(server.url, "ann", factories.PASSWORD)
        with SSEStream(ann, PATH), SSEStream(ann, PATH):
            third = ann.get(PATH)
            assert third.status_code == 429
            assert third.json()["error"]["code"] == "rate_limited"
            assert int(third.headers["Retry-After"]) >= 1
        # Closing them frees the places.
        _wait_for(lambda: ann.get("/api/messaging/unread-count").status_code == 200)
        with SSEStream(ann, PATH) as again:
            assert again.status == 200


def test_opening_streams_is_rate_limited(world: dict[str, Any], django_db_blocker: Any) -> None:
    with DaphneServer(env={"HARBOR_STREAM_OPENS_PER_MINUTE": "3"}) as server:
        bo = login(server.url, "bo", factories.PASSWORD)
        statuses = []
        for _ in range(5):
            s = SSEStream(bo, PATH).start()
            statuses.append(s.status)
            s.close()
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3:] == [429, 429]
        refused = bo.get(PATH)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_removed_member_loses_the_stream_at_once(world: dict[str, Any], live_daphne: Any) -> None:
    do_create_global_admin(username="root", password=factories.PASSWORD)
    root = login(live_daphne.url, "root", factories.PASSWORD)
    cy = login(live_daphne.url, "cy", factories.PASSWORD)
    membership = Membership.objects.get(user=world["cy"], tenant=world["acme"])
    with SSEStream(cy, PATH) as stream:
        r = remove_member_through_admin(root, membership.pk)
        assert r.status_code == 302, r.text[:500]
        (error,) = stream.take(1, timeout=5)
        assert error.event == "stream-error"
        assert error.data["condition"] == "forbidden"
        assert stream.closed.wait(5)
    assert cy.get(PATH).status_code == 403


def test_two_hundred_streams_open_and_close_back_to_baseline(
    world: dict[str, Any], live_daphne: Any
) -> None:
    users = [factories.make_member(world["acme"]) for _ in range(20)]
    do_create_global_admin(username="ops", password=factories.PASSWORD)
    ops = login(live_daphne.url, "ops", factories.PASSWORD)
    _wait_for(lambda: _stats(ops)["openStreams"] == 0)
    baseline = _stats(ops)
    connections_before = _db_connections()
    clients = [login(live_daphne.url, u.username, factories.PASSWORD) for u in users]
    streams = []
    for round_ in range(10):
        for client in clients:
            streams.append(SSEStream(client, PATH).start())
        held = _stats(ops)
        assert held["openStreams"] == baseline["openStreams"] + len(streams)
        # An open stream holds no database connection, nor thread, of its own.
        assert _db_connections() <= connections_before + 8
        assert held["threads"] <= baseline["threads"] + 8, held
        for s in streams:
            s.close()
        streams.clear()
        del round_
    _wait_for(lambda: _stats(ops)["openStreams"] == baseline["openStreams"])
    _wait_for(lambda: _stats(ops)["listeners"] == baseline["listeners"])
    _wait_for(lambda: _stats(ops)["threads"] <= baseline["threads"] + 2)
    assert User.objects.count() >= 20


def test_idle_streams_get_a_keep_alive_comment(
    world: dict[str, Any], django_db_blocker: Any
) -> None:
    with DaphneServer(env={"HARBOR_STREAM_KEEPALIVE_SECONDS": "0.5"}) as server:
        ann = login(server.url, "ann", factories.PASSWORD)
        headers, seen = read_keep_alives(ann, PATH, count=2, within=5)
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache"
        assert "retry: " in seen
        assert "event: stream-open" in seen


def test_full_collections_run_on_the_server_clock_and_are_reported(
    world: dict[str, Any], django_db_blocker: Any
) -> None:
    do_create_global_admin(username="gcops", password=factories.PASSWORD)
    with DaphneServer(env={"HARBOR_GC_FULL_SECONDS": "2"}) as server:
        ops = login(server.url, "gcops", factories.PASSWORD)
        first = _stats(ops)["gc"]
        assert set(first) == {"collections", "totalMs", "maxMs", "frozen"}
        assert len(first["collections"]) == 3
        # The start-up modules are frozen out of every collection.
        assert first["frozen"] > 10_000
        # A full collection comes from the clock, every 2 s here.
        _wait_for(lambda: _stats(ops)["gc"]["collections"][2] >= first["collections"][2] + 2)


def test_streams_whose_access_ended_otherwise_are_ended_by_the_bulk_recheck(
    world: dict[str, Any], django_db_blocker: Any
) -> None:
    """No kick (a bulk update, as another system would make): the periodic re-check ends
    the deactivated user's stream and leaves everyone else's open."""
    do_create_global_admin(username="sweepops", password=factories.PASSWORD)
    with DaphneServer(env={"HARBOR_STREAM_RECHECK_SECONDS": "0.5"}) as server:
        ops = login(server.url, "sweepops", factories.PASSWORD)
        ann = login(server.url, "ann", factories.PASSWORD)
        cy = login(server.url, "cy", factories.PASSWORD)
        with SSEStream(ann, PATH) as kept, SSEStream(cy, PATH) as ended:
            _wait_for(lambda: _stats(ops)["accessSweeps"] >= 1)
            assert _stats(ops)["accessEnded"] == 0
            User.objects.filter(pk=world["cy"].pk).update(is_active=False)
            (error,) = ended.take(1, timeout=5)
            assert error.event == "stream-error"
            assert error.data["condition"] == "forbidden"
            assert ended.closed.wait(5)
            assert _stats(ops)["accessEnded"] == 1
            assert not kept.closed.is_set()
            # The stream that stayed open still gets what is sent.
            bo = login(server.url, "bo", factories.PASSWORD)
            send_message(bo, "acme", [world["ann"].pk], "still here")
            (event,) = kept.take(1, timeout=5)
            assert event.event == "message:new"
            assert event.data["data"]["payload"]["message"]["body"] == "still here"
