"""The page's live updates in Chromium: a message sent in one browser appears in another
without a reload, with the badge counting it in every tab and clearing when it is read;
and with the server stopped the page says it is offline, then catches up with nothing
missing once the server is back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests import factories
from tests.browser import PAGE, shot
from tests.live import DaphneServer, free_port, login, remove_member_through_admin
from tests.proxy import SilencingProxy

STREAM_OPEN = '[data-harbor-stream][data-state="open"]'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def new_context(browser: Any) -> Iterator[Any]:
    """new_context(base_url) gives a browser context whose pages report script errors."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(base_url: str, **options: Any) -> Any:
        context = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 900}, **options
        )
        context.set_default_timeout(10_000)
        context.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"script errors on the page: {errors}"


def log_in(context: Any, username: str) -> Any:
    page = context.new_page()
    page.goto(f"/accounts/login/?next={PAGE}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{PAGE}")
    return page


def wait_for_stream(page: Any) -> None:
    page.locator(STREAM_OPEN).wait_for(state="attached")


def subjects(page: Any) -> list[str]:
    return [
        text.strip()
        for text in page.locator("[data-message-list] [data-field=subject]").all_inner_texts()
    ]


def test_a_message_sent_in_one_browser_appears_in_another_and_reading_clears_every_tab(
    world: dict[str, Any], new_context: Any, live_daphne: Any
) -> None:
    from playwright.sync_api import expect

    sender = log_in(new_context(live_daphne.url), "ann")
    bo = new_context(live_daphne.url)
    inbox = log_in(bo, "bo")
    home = bo.new_page()
    home.goto("/en/harbor/")
    for page in (sender, inbox, home):
        wait_for_stream(page)
    expect(inbox.locator("[data-list-empty]")).to_be_visible()
    expect(inbox.locator("[data-unread-badge]")).to_be_hidden()
    expect(home.locator("[data-unread-badge]")).to_be_hidden()

    sender.get_by_role("button", name="New message").click()
    picker = sender.get_by_role("combobox", name="To")
    picker.press_sequentially("bo")
    sender.get_by_role("option", name=re.compile("Bo Chan")).click()
    composer = sender.locator("[data-composer]")
    composer.get_by_label("Subject").fill("Tug schedule moved")
    composer.get_by_label("Message").fill("The tug is at berth 4 from 06:00.")
    composer.get_by_role("button", name="Send", exact=True).click()
    expect(sender.locator('[data-stat="sent"]')).to_have_text("1")

    # Bo's inbox, without a reload: the row at the top, unread, counted and announced.
    row = inbox.locator("[data-message-row]", has_text="Tug schedule moved")
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\bis-unread\b"))
    expect(row).to_contain_text("Ann Lee")
    expect(row).to_contain_text("The tug is at berth 4")
    expect(inbox.locator("[data-list-empty]")).to_be_hidden()
    expect(inbox.locator("[data-status]")).to_have_text(
        "New message from Ann Lee: Tug schedule moved"
    )
    expect(inbox.locator('[data-stat="unread"]')).to_have_text("1")
    expect(inbox.locator('[data-stat="total"]')).to_have_text("1")
    for page in (inbox, home):
        badge = page.locator("[data-unread-badge]")
        expect(badge).to_be_visible()
        expect(badge.locator(".badge__count")).to_have_text("1")
        expect(badge).to_contain_text("1 unread")
    shot(inbox, "realtime-new-message")
    shot(home, "realtime-badge-other-tab")

    # Ann's own copy of the event does not land in her inbox.
    expect(sender.locator("[data-message-row]")).to_have_count(0)

    # Bo reads it in the first tab: the second tab's badge clears too.
    row.get_by_role("button").click()
    expect(inbox.locator("#reader-subject")).to_have_text("Tug schedule moved")
    expect(row).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(inbox.locator("[data-unread-badge]")).to_be_hidden()
    expect(home.locator("[data-unread-badge]")).to_be_hidden()
    expect(home.locator("[data-unread-badge]")).to_have_attribute("data-count", "0")
    shot(home, "realtime-badge-cleared")

    # An edit by the sender reaches the open reader, as the server's escaped HTML.
    message_id = int(row.get_attribute("data-message-id") or 0)
    client = login(live_daphne.url, "ann", factories.PASSWORD)
    try:
        edited = client.patch(
            f"/api/messaging/messages/{message_id}",
            json={"body": "Now berth 5 <b>not bold</b> https://example.org/tugs"},
        )
        assert edited.status_code == 200, edited.text
    finally:
        client.close()
    body = inbox.locator("[data-reader] .reader__body")
    expect(body).to_contain_text("Now berth 5 <b>not bold</b>")
    expect(body.locator("b")).to_have_count(0)
    expect(body.locator("a")).to_have_attribute("href", "https://example.org/tugs")
    expect(row).to_contain_text("Now berth 5")

    # And a delete for everyone takes it out of Bo's list and closes his reader.
    sender.goto(f"{PAGE}?box=sent")
    sender.locator("[data-message-row]", has_text="Tug schedule moved").get_by_role(
        "button"
    ).click()
    reader = sender.locator("[data-reader]")
    # Wait for the reader to have loaded it, so a late load does not reset the panel.
    expect(reader.locator("#reader-subject")).to_have_text("Tug schedule moved")
    expect(reader).not_to_have_attribute("aria-busy", "true")
    reader.locator('[data-reader-actions] [data-action="delete"]').click()
    reader.locator('[data-action="confirm-delete"]').click()
    expect(row).to_have_count(0)
    expect(inbox.locator("[data-reader]")).to_be_hidden()
    expect(inbox.locator("[data-list-empty]")).to_be_visible()
    expect(inbox.locator('[data-stat="total"]')).to_have_text("0")
    # Nothing came twice along the way.
    assert subjects(inbox) == []


@pytest.fixture
def own_server(django_db_setup: Any) -> Iterator[DaphneServer]:
    """A Daphne of this test's own on a fixed port, so it can stop and start again."""
    server = DaphneServer(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def serve_with(*, backoff_ms: int, poll_ms: int) -> Any:
    """A route handler serving pages with a small backoff cap (not a minute's wait) and
    the poll interval the test wants; other requests go through untouched."""

    def handle(route: Any) -> None:
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch()
        body = (
            response.text()
            .replace(
                'data-stream-max-backoff-ms="60000"', f'data-stream-max-backoff-ms="{backoff_ms}"'
            )
            .replace('data-stream-poll-ms="15000"', f'data-stream-poll-ms="{poll_ms}"')
        )
        route.fulfill(response=response, body=body)

    return handle


def test_offline_then_back_with_nothing_missed(
    world: dict[str, Any], new_context: Any, own_server: DaphneServer
) -> None:
    from playwright.sync_api import expect

    factories.send(world["ann"], world["acme"], [world["bo"]], subject="Before the outage")
    context = new_context(own_server.url)
    # Polling seldom: what catches up here must be the stream's own replay.
    context.route(re.compile(r"/en/harbor/"), serve_with(backoff_ms=1000, poll_ms=600_000))
    page = log_in(context, "bo")
    # Routes see no request that a redirect (the login's) led to: load the page afresh.
    page.goto(PAGE)
    wait_for_stream(page)
    assert page.locator("[data-harbor-stream]").get_attribute("data-stream-max-backoff-ms") == (
        "1000"
    )
    notice = page.locator("[data-connection-notice]")
    expect(notice).to_have_attribute("aria-live", "polite")
    expect(notice).to_have_text("")
    assert subjects(page) == ["Before the outage"]

    own_server.stop()
    expect(notice).to_have_text("Offline — reconnecting…")
    expect(notice).to_be_visible()
    shot(page, "offline")

    # Sent while this page cannot hear of it (stored with its event, as every send is).
    factories.send(world["ann"], world["acme"], [world["bo"]], subject="During the outage 1")
    factories.send(world["cy"], world["acme"], [world["bo"]], subject="During the outage 2")
    factories.send(world["ann"], world["acme"], "all", subject="During the outage to all")

    own_server.start()
    expect(notice).to_have_text("Back online", timeout=20_000)
    expected = [
        "During the outage to all",
        "During the outage 2",
        "During the outage 1",
        "Before the outage",
    ]
    expect(page.locator("[data-message-row]")).to_have_count(4)
    assert subjects(page) == expected
    expect(page.locator('[data-stat="unread"]')).to_have_text("4")
    expect(page.locator("[data-unread-badge] .badge__count")).to_have_text("4")
    # The replay brings them together: one announcement for the three.
    expect(page.locator("[data-status]")).to_have_text("3 new messages.")
    shot(page, "back-online")
    expect(notice).to_have_text("", timeout=10_000)

    # And the stream is live again: a message sent through the server arrives by itself.
    client = login(own_server.url, "ann", factories.PASSWORD)
    try:
        sent = client.post(
            "/api/messaging/send",
            json={
                "tenantId": "acme",
                "recipientIds": [world["bo"].pk],
                "subject": "After the outage",
                "body": "All clear.",
            },
        )
        assert sent.status_code == 201, sent.text
    finally:
        client.close()
    expect(page.locator("[data-message-row]").first).to_contain_text("After the outage")
    expect(page.locator("[data-message-row]")).to_have_count(5)
    assert subjects(page) == ["After the outage", *expected]
    expect(page.locator("[data-unread-badge] .badge__count")).to_have_text("5")
    # The settling count after the reconnect agrees with what the events said.
    page.wait_for_timeout(2500)
    expect(page.locator('[data-stat="unread"]')).to_have_text("5")
    expect(page.locator('[data-stat="total"]')).to_have_text("5")


def test_a_stream_gone_silent_is_reconnected_and_replays_what_it_missed(
    world: dict[str, Any], new_context: Any, django_db_setup: Any
) -> None:
    """A stream that stops saying anything without closing (a proxy that dropped it, a
    half-open connection): the page notices by the missing keep-alives, reconnects, and
    catches up from storage; an idle stream that keeps its keep-alives stays as it is."""
    from playwright.sync_api import expect

    factories.send(world["ann"], world["acme"], [world["bo"]], subject="Before the silence")
    with (
        DaphneServer(env={"HARBOR_STREAM_KEEPALIVE_SECONDS": "1"}) as server,
        SilencingProxy(server.port) as proxy,
    ):
        context = new_context(proxy.url)
        # Polling seldom: what catches up here must be the stream's own replay.
        context.route(re.compile(r"/en/harbor/"), serve_with(backoff_ms=1000, poll_ms=600_000))
        page = log_in(context, "bo")
        page.goto(PAGE)
        wait_for_stream(page)
        stream = page.locator("[data-harbor-stream]")
        # Three keep-alive periods.
        assert stream.get_attribute("data-stream-silence-ms") == "3000"
        opened = proxy.stream_requests
        assert opened >= 1

        # Idle but alive: twice the silence limit with nothing but keep-alives, no reconnect.
        page.wait_for_timeout(6000)
        assert proxy.stream_requests == opened
        expect(stream).to_have_attribute("data-state", "open")

        assert proxy.silence_streams() == 1
        factories.send(world["ann"], world["acme"], [world["bo"]], subject="Into the silence")
        row = page.locator("[data-message-row]", has_text="Into the silence")
        expect(row).to_have_count(1, timeout=20_000)
        assert proxy.stream_requests > opened
        expect(stream).to_have_attribute("data-state", "open")
        assert subjects(page) == ["Into the silence", "Before the silence"]
        expect(page.locator("[data-unread-badge] .badge__count")).to_have_text("2")
        shot(page, "silent-stream-reconnected")


def test_without_a_stream_the_page_polls(
    world: dict[str, Any], new_context: Any, live_daphne: Any
) -> None:
    """SSE blocked on the way (a proxy that refuses it): the page says so and keeps its
    list and badge current by polling the API."""
    from playwright.sync_api import expect

    context = new_context(live_daphne.url)
    context.route(re.compile(r"/api/messaging/stream/"), lambda route: route.abort())
    page = log_in(context, "bo")
    page.route(re.compile(r"/en/harbor/"), serve_with(backoff_ms=1000, poll_ms=1000))
    page.goto(PAGE)
    expect(page.locator("[data-harbor-stream]")).to_have_attribute("data-state", "down")
    expect(page.locator("[data-connection-notice]")).to_have_text("Offline — reconnecting…")

    factories.send(world["ann"], world["acme"], [world["bo"]], subject="Found by polling")
    row = page.locator("[data-message-row]", has_text="Found by polling")
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\bis-unread\b"))
    expect(page.locator("[data-unread-badge] .badge__count")).to_have_text("1")
    expect(page.locator('[data-stat="unread"]')).to_have_text("1")
    expect(page.locator("[data-status]")).to_have_text("New message from Ann Lee: Found by polling")
    shot(page, "polling-without-stream")

    # Read elsewhere (another device): the next poll shows it read and clears the badge.
    other = new_context(live_daphne.url)
    reader = log_in(other, "bo")
    reader.locator("[data-message-row]", has_text="Found by polling").get_by_role("button").click()
    expect(reader.locator("[data-unread-badge]")).to_be_hidden()
    expect(row).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(page.locator("[data-unread-badge]")).to_be_hidden()
    assert subjects(page) == ["Found by polling"]


def test_a_removed_member_is_told_and_the_page_stops_reconnecting(
    world: dict[str, Any], new_context: Any, live_daphne: Any
) -> None:
    from playwright.sync_api import expect

    from harbor_messaging.tenants.actions import do_create_global_admin
    from harbor_messaging.tenants.models import Membership

    page = log_in(new_context(live_daphne.url), "bo")
    wait_for_stream(page)
    do_create_global_admin(username="root", password=factories.PASSWORD)
    root = login(live_daphne.url, "root", factories.PASSWORD)
    try:
        membership = Membership.objects.get(user=world["bo"], tenant=world["acme"])
        removed = remove_member_through_admin(root, membership.pk)
        assert removed.status_code == 302
    finally:
        root.close()
    expect(page.locator("[data-harbor-stream]")).to_have_attribute("data-state", "ended")
    notice = page.locator("[data-connection-notice]")
    expect(notice).to_have_text(
        "Your access to messaging here has ended. Reload the page or log in again."
    )
    shot(page, "access-ended")
    # It stays ended: no reconnect loop against a stream it may no longer read.
    page.wait_for_timeout(3000)
    expect(page.locator("[data-harbor-stream]")).to_have_attribute("data-state", "ended")
