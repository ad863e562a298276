"""The same delivery through a Pushpin of the test's own in front of Daphne (GRIP)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.live import DaphneServer, free_port, login, remove_member_through_admin
from tests.services import PushpinServer
from tests.sse import SSEStream, read_keep_alives

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PATH = "/api/messaging/stream/acme/"


@contextlib.contextmanager
def behind_pushpins(
    workdir: Path, count: int = 1, env: dict[str, str] | None = None
) -> Iterator[tuple[list[PushpinServer], DaphneServer]]:
    """One Daphne publishing to ``count`` Pushpins of the test's own (GRIP_URL lists them)."""
    if not PushpinServer.available():
        pytest.skip("pushpin is not installed")
    daphne_port = free_port()
    proxies = [PushpinServer(daphne_port, workdir / f"pushpin-{i}") for i in range(count)]
    grip_url = ",".join(proxy.grip_url for proxy in proxies)
    server = DaphneServer(port=daphne_port, env={"GRIP_URL": grip_url, **(env or {})})
    server.start()
    try:
        for proxy in proxies:
            proxy.start()
        yield proxies, server
    finally:
        for proxy in proxies:
            proxy.stop()
        server.stop()


@pytest.fixture
def pushpin(tmp_path: Path, django_db_blocker: Any) -> Iterator[tuple[PushpinServer, DaphneServer]]:
    with behind_pushpins(tmp_path) as ([proxy], server):
        yield proxy, server


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


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the test key
def test_next_links_refresh_at_spread_times_with_tokens_that_outlive_them(
    world: dict[str, Any], pushpin: tuple[PushpinServer, DaphneServer]
) -> None:
    """Spoken to Daphne as Pushpin speaks (a signed Grip-Sig): the stream's next link names
    a timeout of its own, so Pushpin's refreshes do not all come at once, and its es-meta
    outlives that timeout; Pushpin's follow-up with it is answered with a hold."""
    from urllib.parse import parse_qs, urlsplit

    import jwt
    from django.conf import settings

    _, server = pushpin
    ann = login(server.url, "ann", factories.PASSWORD)

    def as_pushpin(path: str) -> Any:
        sig = jwt.encode(
            {"iss": "pushpin", "exp": int(time.time()) + 60}, PushpinServer.SIG_KEY, "HS256"
        )
        return ann.get(path, headers={"Grip-Sig": sig, "Accept": "text/event-stream"})

    base = settings.HARBOR_GRIP_REFRESH_SECONDS
    timeouts = set()
    for _ in range(5):
        started = time.time()
        r = as_pushpin(PATH)
        assert r.status_code == 200, r.text
        assert r.headers["Grip-Hold"] == "stream"
        link, *params = [p.strip() for p in r.headers["Grip-Link"].split(";")]
        assert "rel=next" in params
        (timeout,) = [int(p.split("=", 1)[1]) for p in params if p.startswith("timeout=")]
        assert base <= timeout < 2 * base
        timeouts.add(timeout)
        next_path = link.strip("<>")
        query = parse_qs(urlsplit(next_path).query)
        claims = jwt.decode(query["es-meta"][0], settings.SECRET_KEY, algorithms=["HS256"])
        assert claims["user"] == str(world["ann"].pk)
        assert claims["exp"] >= started + timeout + 3600 - 5
    assert len(timeouts) > 1  # drawn afresh for every stream
    follow = as_pushpin(next_path)
    assert follow.status_code == 200, follow.text
    assert follow.headers["Grip-Hold"] == "stream"
    assert "timeout=" in follow.headers["Grip-Link"]
    # A link whose token was altered is refused, not held.
    forged = next_path.replace("es-meta=", "es-meta=x")
    assert as_pushpin(forged).status_code == 400


def test_an_idle_stream_through_pushpin_gets_the_same_keep_alive_at_its_period(
    world: dict[str, Any], tmp_path: Path, django_db_blocker: Any
) -> None:
    """Pushpin sends our keep-alive (the comment API.md promises and the event the page's
    silence check counts), every HARBOR_STREAM_KEEPALIVE_SECONDS rather than its own 20 s."""
    env = {"HARBOR_STREAM_KEEPALIVE_SECONDS": "1"}
    with behind_pushpins(tmp_path, env=env) as ([proxy], _):
        ann = login(proxy.url, "ann", factories.PASSWORD)
        # Three in a few seconds: at the one-second period, not Pushpin's 20 s default.
        _, seen = read_keep_alives(ann, PATH, count=3, within=8)
        assert "event: stream-open" in seen


def test_a_pushpin_held_stream_whose_access_ended_otherwise_is_kicked_by_the_recheck(
    world: dict[str, Any], tmp_path: Path, django_db_blocker: Any
) -> None:
    """No kick from the app (a bulk update, as another system would make): the periodic
    re-check of the holds this process handed to Pushpin ends that user's stream there,
    and leaves everyone else's open."""
    from django.contrib.auth.models import User

    env = {"HARBOR_STREAM_RECHECK_SECONDS": "0.5"}
    with behind_pushpins(tmp_path, env=env) as ([proxy], _):
        ann = login(proxy.url, "ann", factories.PASSWORD)
        cy = login(proxy.url, "cy", factories.PASSWORD)
        with SSEStream(ann, PATH) as kept, SSEStream(cy, PATH) as ended:
            time.sleep(1.5)  # Pushpin subscribes and fetches each stream's next link.
            User.objects.filter(pk=world["cy"].pk).update(is_active=False)
            (error,) = ended.take(1, timeout=10)
            assert error.event == "stream-error"
            assert error.data["condition"] == "forbidden"
            assert ended.closed.wait(5)
            assert not kept.closed.is_set()
            bo = login(proxy.url, "bo", factories.PASSWORD)
            sent = bo.post(
                "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "still"}
            )
            assert sent.status_code == 201, sent.text
            (event,) = kept.take(1, timeout=10)
            assert event.data["data"]["messageId"] == sent.json()["id"]


def test_several_pushpins_each_get_every_event_and_one_down_costs_only_its_own(
    world: dict[str, Any], tmp_path: Path, django_db_blocker: Any
) -> None:
    """GRIP_URL naming two Pushpins (one per machine, say) in front of one Daphne: a stream
    held by either gets what is sent through the other, a removal's kick reaches the one
    that holds the member's stream, and with one Pushpin stopped sends still succeed and
    the other's streams stay live."""
    from harbor_messaging.tenants.actions import do_create_global_admin
    from harbor_messaging.tenants.models import Membership

    do_create_global_admin(username="root", password=factories.PASSWORD)
    with behind_pushpins(tmp_path, 2) as ([first, second], _):
        bo = login(first.url, "bo", factories.PASSWORD)
        ann = login(first.url, "ann", factories.PASSWORD)
        cy = login(second.url, "cy", factories.PASSWORD)
        with SSEStream(ann, PATH) as on_first, SSEStream(cy, PATH) as on_second:
            time.sleep(1.5)  # Each Pushpin subscribes and fetches its stream's next link.
            sent = bo.post(
                "/api/messaging/send",
                json={"recipientIds": [world["ann"].pk, world["cy"].pk], "body": "both"},
            )
            assert sent.status_code == 201, sent.text
            for stream in (on_first, on_second):
                (event,) = stream.take(1, timeout=10)
                assert event.data["data"]["messageId"] == sent.json()["id"]
            # Cy removed through the admin, reached through the first Pushpin.
            root = login(first.url, "root", factories.PASSWORD)
            membership = Membership.objects.get(user=world["cy"], tenant=world["acme"])
            r = remove_member_through_admin(root, membership.pk)
            assert r.status_code == 302, r.text[:500]
            (error,) = on_second.take(1, timeout=10)
            assert error.event == "stream-error"
            assert error.data["condition"] == "forbidden"
            assert on_second.closed.wait(5)
            second.stop()
            again = bo.post(
                "/api/messaging/send", json={"recipientIds": [world["ann"].pk], "body": "one"}
            )
            assert again.status_code == 201, again.text
            (event,) = on_first.take(1, timeout=10)
            assert event.data["data"]["messageId"] == again.json()["id"]
