"""Links on the messaging page in Chromium, against a real Daphne whose own worker thread
fetches previews from a loopback server of the test: a link is clickable at once and
its preview card arrives without a reload (message:update on the stream); the composer
shows the domain and preview while typing and lets the sender drop it; and script in
bodies, subjects, link titles and descriptions never runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests import factories
from tests.browser import PAGE, shot
from tests.live import login

from .conftest import PageServer
from .test_extraction import png

STREAM_OPEN = '[data-harbor-stream][data-state="open"]'

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

XSS = "window.__xss = (window.__xss || 0) + 1"
INJECTIONS = [
    f"<script>{XSS}</script>",
    f'<img src=x onerror="{XSS}">',
    f'"><svg onload="{XSS}">',
    f'<a href="javascript:{XSS}">click me</a>',
    f"javascript:{XSS}",
    f'<iframe srcdoc="<script>parent.{XSS}</script>"></iframe>',
    f'https://example.org/"onmouseover="{XSS}"',
    f'<details open ontoggle="{XSS}">x</details>',
    f"<style>@import 'javascript:{XSS}'</style>",
]


@pytest.fixture
def watched(browser: Any) -> Iterator[Any]:
    """watched(base_url) gives a context whose pages record dialogs, console messages and
    script errors; the test fails on any dialog or error, and on window.__xss."""
    contexts: list[Any] = []
    dialogs: list[str] = []
    errors: list[str] = []
    pages: list[Any] = []

    def on_page(page: Any) -> None:
        pages.append(page)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def dialog(d: Any) -> None:
            dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.on(
            "console",
            lambda m: errors.append(m.text) if "__xss" in m.text else None,
        )

    def make(base_url: str) -> Any:
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        context.on("page", on_page)
        contexts.append(context)
        return context

    yield make
    flags = [page.evaluate("window.__xss || 0") for page in pages if not page.is_closed()]
    for context in contexts:
        context.close()
    assert dialogs == [], f"dialogs opened: {dialogs}"
    assert errors == [], f"script errors on the page: {errors}"
    assert not any(flags), "injected script ran"


def log_in(context: Any, username: str) -> Any:
    page = context.new_page()
    page.goto(f"/accounts/login/?next={PAGE}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{PAGE}")
    page.locator(STREAM_OPEN).wait_for(state="attached")
    return page


NEWS = """<!doctype html><html><head><title>Berth 9</title>
<meta property="og:title" content="Berth 9 opens on Monday">
<meta property="og:description" content="Deep-water berth for the largest ships.">
<meta property="og:site_name" content="Harbor News">
<meta property="og:image" content="/img/berth.png"></head><body></body></html>"""


def test_a_link_is_clickable_at_once_and_its_preview_arrives_without_reload(
    world: dict[str, Any], watched: Any, preview_daphne: Any, site: PageServer
) -> None:
    from playwright.sync_api import expect

    site.page("/img/berth.png", png(1200, 630), headers={"Content-Type": "image/png"})
    # Slow enough that the reader shows the link, and the pending card, before it is done.
    url = site.page("/news/berth-9", NEWS, delay=2.5)
    bo = log_in(watched(preview_daphne.url), "bo")
    bo.evaluate("window.__sameDocument = true")
    client = login(preview_daphne.url, "ann", factories.PASSWORD)
    try:
        sent = client.post(
            "/api/messaging/send",
            json={
                "tenantId": "acme",
                "recipientIds": [world["bo"].pk],
                "subject": "New berth",
                "body": f"Read this: {url} — and tell the crews.",
            },
        )
        assert sent.status_code == 201, sent.text
    finally:
        client.close()
    row = bo.locator("[data-message-row]", has_text="New berth")
    row.get_by_role("button").click()
    reader = bo.locator("[data-reader]")
    link = reader.locator(".reader__body a")
    expect(link).to_have_attribute("href", url)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    cue = reader.locator(".reader__body [data-link-cue]")
    expect(cue.locator(".link-cue__domain")).to_have_text("127.0.0.1")
    expect(cue.locator('[data-warning="not_https"]')).to_be_visible()
    expect(cue.locator('[data-warning="ip_address"]')).to_be_visible()
    card = reader.locator("[data-link-previews] [data-link-card]")
    pending_seen = card.first.get_attribute("class", timeout=2000) or ""
    shot(bo, "links-reader-pending")
    expect(card.locator(".link-card__title")).to_have_text(
        "Berth 9 opens on Monday", timeout=20_000
    )
    expect(card.locator(".link-card__site")).to_have_text("Harbor News")
    expect(card.locator(".link-card__description")).to_contain_text("Deep-water berth")
    image = card.locator("img.link-card__image")
    expect(image).to_have_attribute("src", re.compile(r"^/api/messaging/links/thumbnails/"))
    bo.wait_for_function("document.querySelector('img.link-card__image').naturalWidth > 0")
    assert bo.evaluate("window.__sameDocument") is True  # no reload
    assert "link-card--pending" in pending_seen
    # The page was fetched once, by the server, and the image too; never by the browser.
    assert site.hits.count("/news/berth-9") == 1
    assert site.hits.count("/img/berth.png") == 1
    shot(bo, "links-reader-preview")
    bo.set_viewport_size({"width": 390, "height": 844})
    expect(card.locator(".link-card__title")).to_be_visible()
    shot(bo, "links-reader-phone")
    bo.set_viewport_size({"width": 1280, "height": 900})

    # The sender takes the preview down from the sent box: gone from Bo's open reader too.
    ann = log_in(watched(preview_daphne.url), "ann")
    ann.goto(f"{PAGE}?box=sent")
    ann.locator("[data-message-row]", has_text="New berth").get_by_role("button").click()
    ann_card = ann.locator("[data-reader] [data-link-previews] [data-link-card]")
    expect(ann_card.locator(".link-card__title")).to_have_text("Berth 9 opens on Monday")
    ann_card.get_by_role("button", name=re.compile("^Remove preview")).click()
    expect(card).to_have_count(0)
    expect(ann_card).to_contain_text("You removed this preview")
    shot(ann, "links-sender-removed")
    # And brings it back: fetched again, and back in Bo's reader without a reload.
    ann_card.get_by_role("button", name=re.compile("^Show preview again")).click()
    expect(card.locator(".link-card__title")).to_have_text(
        "Berth 9 opens on Monday", timeout=20_000
    )
    expect(ann_card.locator(".link-card__title")).to_have_text("Berth 9 opens on Monday")
    assert site.hits.count("/news/berth-9") == 2
    assert bo.evaluate("window.__sameDocument") is True


def test_the_composer_shows_the_domain_and_preview_and_lets_the_sender_drop_it(
    world: dict[str, Any], watched: Any, preview_daphne: Any, site: PageServer
) -> None:
    from playwright.sync_api import expect

    keep = site.page("/keep", "<title>Tug timetable</title><meta name=description content=Daily>")
    drop = site.page("/drop", "<title>Old notice</title>")
    ann = log_in(watched(preview_daphne.url), "ann")
    ann.get_by_role("button", name="New message").click()
    ann.get_by_role("combobox", name="To").press_sequentially("bo")
    ann.get_by_role("option", name=re.compile("Bo Chan")).click()
    composer = ann.locator("[data-composer]")
    composer.get_by_label("Subject").fill("Links")
    composer.get_by_label("Message").press_sequentially(f"See {keep} and {drop} ")
    cards = composer.locator("[data-composer-links] [data-link-card]")
    expect(cards).to_have_count(2)
    expect(cards.nth(0).locator(".link-card__title")).to_have_text("Tug timetable", timeout=15_000)
    expect(cards.nth(1).locator(".link-card__title")).to_have_text("Old notice", timeout=15_000)
    expect(cards.nth(0).locator(".link-cue__domain")).to_have_text("127.0.0.1")
    shot(ann, "links-composer-previews")
    cards.nth(1).get_by_role("button", name=re.compile("Remove preview")).click()
    expect(cards.nth(1)).to_contain_text("Preview will not be sent")
    shot(ann, "links-composer-dropped")
    composer.get_by_role("button", name="Send", exact=True).click()
    expect(ann.locator('[data-stat="sent"]')).to_have_text("1")
    client = login(preview_daphne.url, "bo", factories.PASSWORD)
    try:
        (message,) = client.get("/api/messaging/messages").json()["results"]
    finally:
        client.close()
    assert [(link["url"], link["status"]) for link in message["links"]] == [
        (keep, "ready"),
        (drop, "removed"),
    ]


def test_no_script_from_bodies_subjects_or_previews_runs(
    world: dict[str, Any], watched: Any, preview_daphne: Any, site: PageServer
) -> None:
    from playwright.sync_api import expect

    evil = site.page(
        "/evil",
        f"""<html><head><title>&lt;img src=x onerror="{XSS}"&gt;</title>
        <meta property="og:title" content="<img src=x onerror=&quot;{XSS}&quot;> PayPal.com">
        <meta property="og:description" content="<script>{XSS}</script>&lt;b&gt;bold&lt;/b&gt;">
        <meta property="og:site_name" content="<svg onload=&quot;{XSS}&quot;>">
        <meta property="og:image" content="javascript:{XSS}">
        <script>{XSS}</script></head><body onload="{XSS}"></body></html>""",
    )
    # Sent through the live server, whose worker thread then fetches the evil page.
    client = login(preview_daphne.url, "ann", factories.PASSWORD)
    try:
        for index, injection in enumerate(INJECTIONS):
            sent = client.post(
                "/api/messaging/send",
                json={
                    "tenantId": "acme",
                    "recipientIds": [world["bo"].pk],
                    "subject": f"S{index} {injection}",
                    "body": f"B{index} {injection} {evil}",
                },
            )
            assert sent.status_code == 201, sent.text
    finally:
        client.close()
    page = log_in(watched(preview_daphne.url), "bo")
    rows = page.locator("[data-message-row]")
    expect(rows).to_have_count(len(INJECTIONS))
    expect(rows.filter(has_text=f"S0 <script>{XSS}</script>")).to_have_count(1)  # as text
    for index in range(len(INJECTIONS)):
        rows.filter(has_text=f"S{index} ").get_by_role("button").click()
        reader = page.locator("[data-reader]")
        expect(reader.locator("[data-field=subject]")).to_contain_text(f"S{index} ")
        expect(reader.locator(".reader__body")).to_contain_text(f"B{index} ")
        body_tags = reader.locator(".reader__body").evaluate(
            "el => [...el.querySelectorAll('*')].map(e => e.tagName.toLowerCase())"
        )
        assert set(body_tags) <= {"a", "br", "span"}, body_tags
        for href in reader.locator(".reader__body a").evaluate_all("as => as.map(a => a.href)"):
            assert href.startswith(("http:", "https:", "mailto:")), href
        card = reader.locator("[data-link-previews] [data-link-card]").last
        expect(card.locator(".link-card__title")).to_contain_text("PayPal.com", timeout=20_000)
    # The preview's own text is shown as text, and its title naming another site is flagged.
    expect(card.locator(".link-card__title")).to_contain_text("<img src=x onerror=")
    expect(card.locator(".link-card__description")).to_contain_text("<b>bold</b>")
    expect(card.locator('[data-warning="text_mismatch"]')).to_be_visible()
    assert card.locator("img").count() == 0  # a javascript: image is never loaded
    page.mouse.move(10, 10)
    for anchor in page.locator(".reader__body a").all():
        anchor.hover()
    shot(page, "links-xss-reader")
    # The composer's card shows the same page as text too.
    ann_page = log_in(watched(preview_daphne.url), "ann")
    ann_page.get_by_role("button", name="New message").click()
    ann_page.locator("[data-composer]").get_by_label("Message").fill(f"look {evil} {INJECTIONS[1]}")
    ann_page.locator("[data-composer]").get_by_label("Message").press("End")
    ann_page.locator("[data-composer]").get_by_label("Message").press_sequentially(" ")
    composer_card = ann_page.locator("[data-composer-links] [data-link-card]").first
    expect(composer_card.locator(".link-card__title")).to_contain_text("PayPal.com")
    shot(ann_page, "links-xss-composer")
