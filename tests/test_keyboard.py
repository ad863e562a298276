"""The whole messaging flow by keyboard alone in Chromium: log in, open and read a message,
reply, attach a file from the media library, send. Only key presses move and act (Tab,
Shift+Tab, Enter, Space, arrows) and every control reached shows a visible focus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from harbor_messaging.media.actions import do_add_file_from_bytes
from messaging.models import Message
from tests import factories
from tests.attachments import files
from tests.browser import PAGE, shot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

# What the focused element looks like: a focus ring is an outline or a box shadow.
FOCUS_STYLE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    return {
        outline, shadow: style.boxShadow !== "none",
        tag: el.tagName, label: el.getAttribute("aria-label") || el.textContent.trim().slice(0, 40),
    };
}"""


@pytest.fixture
def page(browser: Any, live_daphne: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_daphne.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def tab_to(page: Any, selector: str, *, backwards: bool = False, limit: int = 80) -> None:
    """Presses Tab (or Shift+Tab) until the focused element matches ``selector``, checking
    on the way that each control reached shows its focus."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        focus = page.evaluate(FOCUS_STYLE)
        if focus is not None:
            assert focus["outline"] or focus["shadow"], f"no visible focus on {focus}"
        if page.evaluate("(s) => !!document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"{limit} presses of {key} never reached {selector}")


def test_log_in_read_reply_attach_from_the_library_and_send_by_keyboard(
    world: dict[str, Any], page: Any
) -> None:
    from playwright.sync_api import expect

    factories.send(
        world["ann"], world["acme"], [world["bo"]], subject="Crane crew", body="Berth 7 at six?"
    )
    do_add_file_from_bytes(
        tenant=world["acme"],
        owner=world["bo"],
        name="berth-plan.png",
        content=files.png(),
        origin="upload",
        limit=10 * 1024 * 1024,
    )

    page.goto(f"/accounts/login/?next={PAGE}")
    tab_to(page, "#id_username")
    page.keyboard.type("bo")
    tab_to(page, "#id_password")
    page.keyboard.type(factories.PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == PAGE)
    page.locator("[data-message-row]").first.wait_for()

    # Read: the message row's open button, then Enter.
    tab_to(page, "[data-message-row] [data-action=open-message]")
    page.keyboard.press("Enter")
    reader = page.locator("[data-reader]")
    expect(reader.get_by_role("heading", name="Crane crew")).to_be_visible()
    expect(reader).to_contain_text("Berth 7 at six?")

    # Reply.
    tab_to(page, "[data-reader] [data-action=reply]")
    page.keyboard.press("Enter")
    composer = page.locator("[data-composer]")
    expect(composer).to_be_visible()
    expect(composer.locator("[data-picker-chips] .chip__name")).to_have_text("Ann Lee")

    # Attach from the library: the button, Space on the file's checkbox, Attach.
    tab_to(page, "[data-composer] [data-action=open-library]")
    page.keyboard.press("Enter")
    picker = page.locator("[data-library-picker]")
    expect(picker).to_be_visible()
    expect(picker.get_by_text("berth-plan.png")).to_be_visible()
    tab_to(page, "[data-library-picker] input[type=checkbox]")
    page.keyboard.press("Space")
    tab_to(page, "[data-library-picker] [data-action=attach-picked]")
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(composer).to_contain_text("berth-plan.png")

    # Write and send: back to the message field, then forward to Send.
    tab_to(page, "[data-composer] textarea", backwards=True)
    page.keyboard.type("Yes, six it is. The plan is attached.")
    tab_to(page, "[data-composer] [data-action=send]")
    shot(page, "keyboard-composer-desktop")
    page.keyboard.press("Enter")
    expect(page.locator("[data-status]")).to_have_text("Message sent to Ann Lee.")
    expect(composer).to_be_hidden()

    reply = Message.objects.exclude(sender=world["ann"]).get()
    assert reply.sender == world["bo"]
    assert reply.body == "Yes, six it is. The plan is attached."
    assert reply.reply_to is not None and reply.reply_to.subject == "Crane crew"
    assert reply.attachment_count == 1
