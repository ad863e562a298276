"""The messaging page in Chromium against a live Daphne: send through the picker, read it as
the recipient with the badge in step, and a phone-sized screen without sideways scrolling."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests import factories
from tests.browser import PAGE, shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def new_page(browser: Any, live_daphne: Any) -> Iterator[Any]:
    contexts: list[Any] = []
    errors: list[str] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(base_url=live_daphne.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"script errors on the page: {errors}"


def log_in(page: Any, username: str, *, screenshot: str | None = None) -> None:
    page.goto(f"/accounts/login/?next={PAGE}")
    if screenshot:
        shot(page, screenshot)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{PAGE}")


def test_send_through_the_picker_then_read_as_the_recipient(
    world: dict[str, Any], new_page: Any
) -> None:
    from playwright.sync_api import expect

    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, "bo", screenshot="login-desktop")

    page.get_by_role("button", name="New message").click()
    composer = page.locator("[data-composer]")
    picker = composer.get_by_role("combobox", name="To")
    expect(picker).to_be_focused()
    picker.press_sequentially("ann")
    option = page.get_by_role("option", name=re.compile("Ann Lee"))
    expect(option).to_be_visible()
    picker.press("Enter")  # the keyboard path: the first option is active
    expect(page.locator("[data-picker-chips] .chip")).to_have_text(re.compile("Ann Lee"))
    composer.get_by_label("Subject").fill("Crane crew on Thursday")
    composer.get_by_label("Message").fill("Four people at berth 7, see https://example.org/plan")
    composer.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("[data-status]")).to_have_text("Message sent to Ann Lee.")
    expect(composer).to_be_hidden()
    expect(page.locator('[data-stat="sent"]')).to_have_text("1")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")

    log_in(page, "ann")
    row = page.locator("[data-message-row]", has_text="Crane crew on Thursday")
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\bis-unread\b"))
    expect(row).to_contain_text("Bo Chan")
    badge = page.locator("[data-unread-badge]")
    expect(badge).to_be_visible()
    expect(badge.locator(".badge__count")).to_have_text("1")
    expect(badge).to_contain_text("1 unread")
    shot(page, "messaging-desktop")

    row.get_by_role("button").click()
    reader = page.locator("[data-reader]")
    expect(reader.get_by_role("heading", name="Crane crew on Thursday")).to_be_visible()
    link = reader.locator(".reader__body a")
    expect(link).to_have_attribute("href", "https://example.org/plan")
    expect(badge).to_be_hidden()
    expect(badge).to_have_attribute("data-count", "0")
    expect(row).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(page.locator('[data-stat="unread"]')).to_have_text("0")
    shot(page, "messaging-reader-desktop")

    # The server agrees: a reload shows it read and the badge still clear.
    page.reload()
    expect(page.locator("[data-message-row]", has_text="Crane crew")).not_to_have_class(
        re.compile(r"\bis-unread\b")
    )
    expect(page.locator("[data-unread-badge]")).to_be_hidden()


def test_phone_screen_has_no_sideways_scroll_and_the_composer_works(
    world: dict[str, Any], new_page: Any
) -> None:
    from playwright.sync_api import expect

    factories.send(
        world["bo"],
        world["acme"],
        [world["ann"]],
        subject="A rather long subject line that must not push the page wider than a phone",
        body="https://example.org/" + "a-very-long-path-segment-" * 8,
    )
    page = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    log_in(page, "ann", screenshot="login-phone")
    no_overflow = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_overflow)
    shot(page, "messaging-phone")

    page.get_by_role("button", name="New message").click()
    composer = page.locator("[data-composer]")
    expect(composer).to_be_visible()
    expect(composer).to_be_in_viewport()
    picker = page.get_by_role("combobox", name="To")
    picker.press_sequentially("bo")
    page.get_by_role("option", name=re.compile("Bo Chan")).click()
    expect(page.locator("[data-picker-chips] .chip")).to_have_count(1)
    send = page.get_by_role("button", name="Send", exact=True)
    send.scroll_into_view_if_needed()
    box = send.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 360
    assert page.evaluate(no_overflow)
    shot(page, "composer-phone")

    # An empty message is refused next to the field, without a request.
    send.click()
    expect(composer.locator("[data-error-for=body]")).to_have_text("Write a subject or a message.")

    page.locator("[data-action=discard-composer]").click()
    page.locator("[data-message-row]").first.get_by_role("button").click()
    expect(page.locator("[data-reader]")).to_be_in_viewport()
    assert page.evaluate(no_overflow)
    shot(page, "messaging-reader-phone")
