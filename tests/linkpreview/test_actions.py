"""Links on send and on edit, the worker that fetches their previews, the cache that makes
a link shared in a thousand messages cost one fetch, and the events a finished preview
sends (to whom, and only after commit)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from linkpreview import actions
from linkpreview.models import LinkPreview, MessageLink
from linkpreview.worker import PreviewWorker
from messaging import actions as messaging_actions
from tests import factories

from .conftest import PageServer

pytestmark = pytest.mark.django_db

OG_PAGE = """<html><head><title>Fallback</title>
<meta property="og:title" content="Berth 9 opens">
<meta property="og:description" content="From Monday, 06:00.">
<meta property="og:site_name" content="Port News">
</head><body></body></html>"""


@pytest.fixture(autouse=True)
def _loopback(open_loopback: Any) -> None:
    open_loopback()


def drain(capture: Any) -> int:
    """Run a worker until the queue is empty, with the events it sends committed."""
    with capture(execute=True):
        return PreviewWorker().drain()


def test_send_stores_links_pending_and_the_worker_fills_them(
    world: dict[str, Any],
    pages: PageServer,
    published: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    url = pages.page("/berth", OG_PAGE)
    with django_capture_on_commit_callbacks(execute=True):
        message = factories.send(bo, acme, [ann, cy], body=f"News: {url} and mailto:x@y.z")
    (link,) = MessageLink.objects.filter(message=message)
    assert (link.url, link.status, link.domain) == (url, "pending", "127.0.0.1")
    assert LinkPreview.objects.get().status == "pending"
    assert pages.hits == []  # nothing fetched on the request path
    published.clear()

    assert drain(django_capture_on_commit_callbacks) == 1
    link.refresh_from_db()
    assert (link.status, link.title, link.site_name) == ("ready", "Berth 9 opens", "Port News")
    assert pages.hits == ["/berth"]
    (event,) = published
    assert event.type == "message:update"
    assert set(event.user_ids) == {bo.pk, ann.pk, cy.pk}
    assert not event.to_tenant
    (shown,) = event.payload["links"]
    assert shown["title"] == "Berth 9 opens"
    assert shown["status"] == "ready"
    assert set(shown) == {
        "url",
        "normalizedUrl",
        "domain",
        "displayDomain",
        "title",
        "description",
        "thumbnailUrl",
        "siteName",
        "status",
        "warnings",
    }
    assert shown["warnings"] == ["not_https", "ip_address"]


def test_a_tenant_wide_message_is_told_on_the_tenant_channel_and_to_its_sender(
    world: dict[str, Any],
    pages: PageServer,
    published: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    acme, ann = world["acme"], world["ann"]
    url = pages.page("/all", OG_PAGE)
    message = factories.send(ann, acme, "all", body=url)
    published.clear()
    drain(django_capture_on_commit_callbacks)
    sender_copy, tenant_wide = published
    assert sender_copy.user_ids == (ann.pk,) and not sender_copy.to_tenant
    assert tenant_wide.to_tenant and tenant_wide.skip_user_ids == (ann.pk,)
    assert tenant_wide.message_id == message.pk
    assert tenant_wide.payload["links"][0]["status"] == "ready"


def test_no_event_leaves_before_the_commit(
    world: dict[str, Any], pages: PageServer, published: list[Any]
) -> None:
    url = pages.page("/p", OG_PAGE)
    factories.send(world["bo"], world["acme"], [world["ann"]], body=url)
    published.clear()
    PreviewWorker().drain()  # inside the test's transaction: never committed
    assert published == []


def test_a_link_in_many_messages_and_tenants_is_fetched_once(
    world: dict[str, Any], pages: PageServer, django_capture_on_commit_callbacks: Any
) -> None:
    url = pages.page("/shared", OG_PAGE)
    spellings = [url, url.replace("http://", "HTTP://"), url + "#top", url.upper().lower()]
    for index in range(1000):
        sender, tenant, to = (
            (world["bo"], world["acme"], [world["ann"]])
            if index % 2
            else (world["dee"], world["globex"], [world["cy"]])
        )
        factories.send(sender, tenant, to, body=f"see {spellings[index % 4]}")
    drain(django_capture_on_commit_callbacks)
    assert pages.hits == ["/shared"]
    assert LinkPreview.objects.count() == 1
    assert set(MessageLink.objects.values_list("status", flat=True)) == {"ready"}
    # Later messages get the cached preview at once, ready, and nothing is fetched.
    later = factories.send(world["bo"], world["acme"], [world["ann"]], body=url)
    assert MessageLink.objects.get(message=later).status == "ready"
    drain(django_capture_on_commit_callbacks)
    assert pages.hits == ["/shared"]


def test_a_failure_is_cached_for_minutes_then_tried_again(
    world: dict[str, Any], pages: PageServer, django_capture_on_commit_callbacks: Any
) -> None:
    url = pages.url("/nothing-here")
    factories.send(world["bo"], world["acme"], [world["ann"]], body=url)
    drain(django_capture_on_commit_callbacks)
    preview = LinkPreview.objects.get()
    assert (preview.status, preview.error) == ("failed", "http_error")
    assert preview.expires_at is not None
    assert preview.expires_at - timezone.now() < dt.timedelta(minutes=11)
    again = factories.send(world["bo"], world["acme"], [world["ann"]], body=url)
    assert MessageLink.objects.get(message=again).status == "unavailable"
    drain(django_capture_on_commit_callbacks)
    assert pages.hits == ["/nothing-here"]
    LinkPreview.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    pages.page("/nothing-here", OG_PAGE)
    late = factories.send(world["bo"], world["acme"], [world["ann"]], body=url)
    assert MessageLink.objects.get(message=late).status == "pending"
    drain(django_capture_on_commit_callbacks)
    assert pages.hits == ["/nothing-here", "/nothing-here"]
    assert MessageLink.objects.get(message=late).status == "ready"


def test_a_preview_is_kept_a_day(
    world: dict[str, Any], pages: PageServer, django_capture_on_commit_callbacks: Any
) -> None:
    url = pages.page("/day", OG_PAGE)
    factories.send(world["bo"], world["acme"], [world["ann"]], body=url)
    drain(django_capture_on_commit_callbacks)
    preview = LinkPreview.objects.get()
    assert preview.expires_at is not None
    assert dt.timedelta(hours=23) < preview.expires_at - timezone.now() <= dt.timedelta(days=1)


def test_at_most_ten_links_a_message_are_previewed(
    world: dict[str, Any], pages: PageServer
) -> None:
    body = " ".join(pages.url(f"/p{i}") for i in range(12))
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=body)
    statuses = list(
        MessageLink.objects.filter(message=message)
        .order_by("position")
        .values_list("status", flat=True)
    )
    assert statuses == ["pending"] * 10 + ["unavailable"] * 2
    assert LinkPreview.objects.count() == 10


def test_links_that_may_never_be_fetched_are_stored_without_a_preview(
    world: dict[str, Any],
) -> None:
    body = "http://10.0.0.1/admin http://169.254.169.254/ http://user@example.org/ http://example.org:22/"
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=body)
    links = list(MessageLink.objects.filter(message=message).order_by("position"))
    assert [link.status for link in links] == ["unavailable"] * 4
    assert LinkPreview.objects.count() == 0


def test_previews_the_sender_dropped_are_not_fetched(
    world: dict[str, Any], pages: PageServer
) -> None:
    keep, drop = pages.url("/keep"), pages.url("/drop")
    message = messaging_actions.do_send_message(
        sender=world["bo"],
        access=factories.tenant_access(world["bo"], "acme"),
        recipient_ids=[world["ann"].pk],
        subject="",
        body=f"{keep} {drop}",
        omit_link_previews=[drop.replace("http://", "HTTP://") + "#fragment"],
    )
    statuses = dict(MessageLink.objects.filter(message=message).values_list("url", "status"))
    assert statuses == {keep: "pending", drop: "removed"}
    assert list(LinkPreview.objects.values_list("normalized_url", flat=True)) == [keep]


def test_an_edit_keeps_previews_of_kept_links_and_previews_new_ones(
    world: dict[str, Any],
    pages: PageServer,
    published: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    bo, ann = world["bo"], world["ann"]
    one, two = pages.page("/one", OG_PAGE), pages.page("/two", "<title>Two</title>")
    message = factories.send(bo, world["acme"], [ann], body=one)
    drain(django_capture_on_commit_callbacks)
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        messaging_actions.do_edit_message(
            user=bo, message_id=message.pk, subject=None, body=f"{two} and still {one}"
        )
    (edit,) = published
    assert [(link["url"], link["status"]) for link in edit.payload["links"]] == [
        (two, "pending"),
        (one, "ready"),
    ]
    published.clear()
    drain(django_capture_on_commit_callbacks)
    (done,) = published
    assert [link["title"] for link in done.payload["links"]] == ["Two", "Berth 9 opens"]
    assert pages.hits == ["/one", "/two"]
    with django_capture_on_commit_callbacks(execute=True):
        messaging_actions.do_edit_message(user=bo, message_id=message.pk, subject=None, body="none")
    assert MessageLink.objects.filter(message=message).count() == 0


def test_the_sender_removes_and_refreshes_previews(
    world: dict[str, Any],
    pages: PageServer,
    published: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    bo, ann = world["bo"], world["ann"]
    url = pages.page("/r", OG_PAGE)
    message = factories.send(bo, world["acme"], [ann], body=url)
    drain(django_capture_on_commit_callbacks)
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        removed = actions.do_remove_previews(user=bo, message_id=message.pk)
    assert removed[0]["status"] == "removed" and removed[0]["title"] is None
    (event,) = published
    assert event.payload == {"links": removed}
    pages.page("/r", "<title>Changed</title>")
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        refreshed = actions.do_refresh_previews(user=bo, message_id=message.pk, url=url)
    assert refreshed[0]["status"] == "pending"
    drain(django_capture_on_commit_callbacks)
    assert pages.hits == ["/r", "/r"]
    assert MessageLink.objects.get(message=message).title == "Changed"
    assert [e.payload["links"][0]["status"] for e in published] == ["pending", "ready"]


def test_only_the_sender_may_refresh_or_remove(world: dict[str, Any], pages: PageServer) -> None:
    from harbor_messaging.errors import Forbidden, NotFound

    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=pages.url("/x"))
    with pytest.raises(Forbidden):
        actions.do_remove_previews(user=world["ann"], message_id=message.pk)
    with pytest.raises(NotFound):
        actions.do_refresh_previews(user=world["dee"], message_id=message.pk)
    with pytest.raises(NotFound):
        actions.do_remove_previews(
            user=world["bo"], message_id=message.pk, url="https://other.org/"
        )


def test_previews_switched_off_store_links_without_fetching(
    world: dict[str, Any], pages: PageServer, settings: Any
) -> None:
    settings.LINKPREVIEW_ENABLED = False
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=pages.url("/x"))
    assert MessageLink.objects.get(message=message).status == "unavailable"
    assert LinkPreview.objects.count() == 0


def test_two_workers_never_claim_the_same_preview(world: dict[str, Any], pages: PageServer) -> None:
    body = " ".join(pages.url(f"/c{i}") for i in range(10))
    factories.send(world["bo"], world["acme"], [world["ann"]], body=body)
    first = actions.claim_previews(worker_id="a", limit=6)
    second = actions.claim_previews(worker_id="b", limit=6)
    assert len(first) == 6 and len(second) == 4
    assert not {p.pk for p in first} & {p.pk for p in second}
    assert actions.claim_previews(worker_id="c", limit=6) == []
    # A claim whose worker died is taken over once its lease runs out.
    LinkPreview.objects.filter(claimed_by="a").update(
        claimed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert len(actions.claim_previews(worker_id="c", limit=10)) == 6


def test_a_stale_claim_cannot_overwrite_a_newer_one(
    world: dict[str, Any], pages: PageServer
) -> None:
    from linkpreview.fetching import PreviewOutcome

    factories.send(world["bo"], world["acme"], [world["ann"]], body=pages.url("/s"))
    (claimed,) = actions.claim_previews(worker_id="old", limit=1)
    LinkPreview.objects.update(claimed_by="new")
    told = actions.do_finish_preview(
        preview_id=claimed.pk, worker_id="old", outcome=PreviewOutcome(ok=False, error="x")
    )
    assert told == []
    assert LinkPreview.objects.get().status == "pending"


def test_thumbnails_are_stored_on_our_storage(
    world: dict[str, Any], pages: PageServer, django_capture_on_commit_callbacks: Any
) -> None:
    from .test_extraction import png

    pages.page("/i.png", png(300, 200), headers={"Content-Type": "image/png"})
    url = pages.page("/pic", '<meta property="og:image" content="/i.png"><title>Pic</title>')
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=url)
    drain(django_capture_on_commit_callbacks)
    preview = LinkPreview.objects.get()
    assert preview.thumbnail.startswith("linkpreview/")
    assert default_storage.exists(preview.thumbnail)
    link = MessageLink.objects.get(message=message)
    assert link.thumbnail_url.startswith("/api/messaging/links/thumbnails/")
    assert link.thumbnail_url.endswith(preview.thumbnail.rsplit("/", 1)[-1])


def test_trim_removes_stale_previews_no_message_links_to(
    world: dict[str, Any], pages: PageServer
) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=pages.url("/kept"))
    LinkPreview.objects.create(
        normalized_url="https://old.example/",
        status="ready",
        expires_at=timezone.now() - dt.timedelta(days=3),
    )
    LinkPreview.objects.filter(normalized_url=pages.url("/kept")).update(
        status="ready", expires_at=timezone.now() - dt.timedelta(days=3)
    )
    assert actions.do_trim_previews() == 1
    assert LinkPreview.objects.get().normalized_url == pages.url("/kept")
    assert MessageLink.objects.filter(message=message).exists()


def test_the_worker_thread_starts_on_wake_and_stops(settings: Any) -> None:
    from linkpreview import worker

    settings.LINKPREVIEW_WORKER = "off"
    worker.wake()
    assert not [t for t in threading.enumerate() if t.name.startswith("linkpreview-worker")]


def test_cleanup_previews_deletes_stale_ones_only(world: dict[str, Any]) -> None:
    from io import StringIO

    from django.core.management import call_command

    LinkPreview.objects.create(
        normalized_url="https://stale.example/",
        status="failed",
        expires_at=timezone.now() - dt.timedelta(days=2),
    )
    LinkPreview.objects.create(
        normalized_url="https://fresh.example/",
        status="ready",
        expires_at=timezone.now() + dt.timedelta(hours=5),
    )
    out = StringIO()
    call_command("cleanup", "--previews", stdout=out)
    assert "previews: deleted 1" in out.getvalue()
    assert list(LinkPreview.objects.values_list("normalized_url", flat=True)) == [
        "https://fresh.example/"
    ]


def test_a_fetch_that_crashes_is_a_failure_not_a_dead_worker(
    world: dict[str, Any], pages: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkpreview import fetching

    def explode(url: str) -> Any:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(fetching, "fetch_preview", explode)
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=pages.url("/boom"))
    assert PreviewWorker().drain() == 1
    assert LinkPreview.objects.get().error == "internal"
    assert MessageLink.objects.get(message=message).status == "unavailable"
