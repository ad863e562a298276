"""Attachments on the messaging page in Chromium: two files dragged onto the composer, their
progress and thumbnails, send; the recipient sees and downloads them; the sender removes one
and the recipient's open page follows without a reload."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.browser import PAGE, shot
from tests.live import DaphneServer

from . import files

STREAM_OPEN = '[data-harbor-stream][data-state="open"]'

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DaphneServer]:
    with DaphneServer() as daphne:
        yield daphne


@pytest.fixture
def new_page(browser: Any, server: DaphneServer) -> Iterator[Any]:
    contexts: list[Any] = []
    errors: list[str] = []

    def make() -> Any:
        context = browser.new_context(
            base_url=server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"script errors on the page: {errors}"


def log_in(page: Any, username: str, path: str = PAGE) -> None:
    page.goto(f"/accounts/login/?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{path}")
    page.locator(STREAM_OPEN).wait_for(state="attached")


def drop_files(page: Any, selector: str, items: list[tuple[str, str, bytes]]) -> None:
    """Drop files on an element as a desktop drag would: a DataTransfer holding them."""
    transfer = page.evaluate_handle(
        """(items) => {
            const dt = new DataTransfer();
            for (const [name, type, b64] of items) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], name, { type }));
            }
            return dt;
        }""",
        [[n, t, base64.b64encode(c).decode()] for n, t, c in items],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def test_drag_two_files_send_download_and_remove_live(
    world: dict[str, Any], new_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    photo = files.jpeg(1200, 800)
    report = files.pdf(b"%" + b"quarterly figures " * 200_000)  # ~3.6 MB: progress shows
    ann = new_page()
    log_in(ann, "ann")
    ann.get_by_role("button", name="New message").click()
    composer = ann.locator("[data-composer]")
    picker = composer.get_by_role("combobox", name="To")
    picker.press_sequentially("bo")
    ann.get_by_role("option", name=re.compile("Bo Chan")).click()
    composer.get_by_label("Subject").fill("Berth 7 photos and report")

    # Uploads slowed to 1 MB/s, so the progress bars are there to be seen.
    cdp = ann.context.new_cdp_session(ann)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 1_000_000},
    )
    drop_files(
        ann,
        "[data-dropzone]",
        [("berth-7.jpg", "image/jpeg", photo), ("report.pdf", "application/pdf", report)],
    )
    items = composer.locator("[data-file-item]")
    expect(items).to_have_count(2)
    uploading = composer.locator('[data-file-item][data-state="uploading"] progress')
    expect(uploading.first).to_be_visible()
    shot(ann, "attachments-composer-progress")
    # Send is held back while an upload runs.
    composer.get_by_role("button", name="Send", exact=True).click()
    expect(composer.locator("[data-error-for=files]")).to_have_text(
        "Wait for the uploads to finish, or cancel them."
    )
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(composer.locator('[data-file-item][data-state="done"]')).to_have_count(2, timeout=30_000)
    expect(composer.locator("[data-error-for=files]")).to_be_hidden()
    thumb = items.filter(has_text="berth-7.jpg").locator("img.file-thumb")
    expect(thumb).to_have_attribute("src", re.compile(r"/api/media/files/\d+/thumbnail$"))
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(items.filter(has_text="report.pdf").locator(".file-icon")).to_have_text("PDF")
    shot(ann, "attachments-composer-ready")
    composer.get_by_role("button", name="Send", exact=True).click()
    expect(ann.locator("[data-status]")).to_have_text("Message sent to Bo Chan.")

    # Bo: the row shows two attachments; the reader lists them with a preview; downloads work.
    bo = new_page()
    log_in(bo, "bo")
    row = bo.locator("[data-message-row]", has_text="Berth 7 photos and report")
    expect(row.locator('[data-field="attachment-count"]')).to_have_text("2")
    row.get_by_role("button").click()
    listed = bo.locator("[data-reader] [data-attachment-list] .attachment")
    expect(listed).to_have_count(2)
    expect(listed.first.locator("img.file-thumb")).to_be_visible()
    expect(bo.locator("[data-reader] [data-sender-tools]")).to_be_hidden()
    shot(bo, "attachments-reader-recipient")
    with bo.expect_download() as download_info:
        listed.filter(has_text="report.pdf").get_by_role("link", name="report.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "report.pdf"
    saved = tmp_path / "report.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == report
    image = bo.request.get(listed.first.locator("a.attachment__name").get_attribute("href") or "")
    assert image.status == 200 and image.body() == photo
    assert image.headers["content-disposition"].startswith("inline;")

    # Ann removes the report from the sent message; Bo's open reader follows, no reload.
    ann.goto(f"{PAGE}?box=sent")
    ann.locator("[data-message-row]", has_text="Berth 7 photos").get_by_role("button").click()
    # The sender's reader has one heading for the message and one over its attachments.
    expect(ann.locator("[data-reader]").get_by_role("heading")).to_have_count(2)
    sender_list = ann.locator("[data-reader] [data-attachment-list] .attachment")
    expect(sender_list).to_have_count(2)
    sender_list.filter(has_text="report.pdf").get_by_role("button", name="Remove").click()
    expect(sender_list).to_have_count(1)
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("berth-7.jpg")
    expect(row.locator('[data-field="attachment-count"]')).to_have_text("1")
    shot(bo, "attachments-reader-after-remove")
