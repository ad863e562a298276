"""The link endpoints as a client sees them: /links/process, /links/preview (200, 202, 422),
refresh and remove, the thumbnails we serve, the send API's omitLinkPreviews, bad input
answered with the error JSON of API.md, and the per-user rate limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings

from linkpreview.models import LinkPreview, MessageLink
from linkpreview.worker import PreviewWorker
from tests import factories
from tests.messaging.expect import error

from .conftest import PageServer
from .test_extraction import png

pytestmark = pytest.mark.django_db

PROCESS = "/api/messaging/links/process"
PREVIEW = "/api/messaging/links/preview"
REFRESH = "/api/messaging/links/refresh"
REMOVE = "/api/messaging/links/remove"


def test_process_finds_links_with_their_real_domain_and_warnings(
    world: dict[str, Any], api: Any
) -> None:
    client = api(world["bo"])
    text = (
        "Docs at https://docs.example.org/a?b=1#c, old site http://example.com, "
        "look-alike https://xn--80ak6aa92e.com/ and https://pаypal.com/login, "
        "router http://192.168.1.1/admin and www.harbor.org/x. <script>alert(1)</script>"
    )
    response = client.post(PROCESS, {"text": text})
    assert response.status_code == 200
    links = response.json()["links"]
    assert [(link["domain"], link["warnings"]) for link in links] == [
        ("docs.example.org", []),
        ("example.com", ["not_https"]),
        ("xn--80ak6aa92e.com", ["punycode"]),
        ("xn--pypal-4ve.com", ["punycode", "mixed_script"]),
        ("192.168.1.1", ["not_https", "ip_address"]),
        ("www.harbor.org", ["not_https"]),
    ]
    first = links[0]
    assert first == {
        "url": "https://docs.example.org/a?b=1#c",
        "normalizedUrl": "https://docs.example.org/a?b=1",
        "domain": "docs.example.org",
        "displayDomain": "docs.example.org",
        "safe": True,
        "warnings": [],
        "previewable": True,
    }
    assert links[2]["displayDomain"] == "аррӏе.com"
    assert links[4]["previewable"] is False  # a private address is never fetched


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{}", "text"),
        ('{"text": 5}', "text"),
        ('{"text": "x", "extra": 1}', "extra"),
        ('{"text": "' + "x" * 20_001 + '"}', "text"),
        ('{"text": "a\\u0000b"}', "text"),
        ("not json", None),
        ("[1]", None),
    ],
)
def test_process_refuses_bad_input_with_400(
    world: dict[str, Any], api: Any, raw: str, field: str | None
) -> None:
    error(api(world["bo"]).post(PROCESS, raw=raw), 400, "invalid", field=field)


def test_the_endpoints_need_a_login_csrf_and_the_right_method(
    world: dict[str, Any], api: Any
) -> None:
    anonymous = api()
    error(anonymous.post(PROCESS, {"text": "x"}), 401, "not_authenticated")
    error(anonymous.get(PREVIEW, {"url": "https://example.org/"}), 401, "not_authenticated")
    error(
        anonymous.get("/api/messaging/links/thumbnails/" + "a" * 24 + ".jpg"),
        401,
        "not_authenticated",
    )
    bo = api(world["bo"])
    error(bo.post(PROCESS, {"text": "x"}, csrf=False), 403, "forbidden")
    error(bo.get(PROCESS), 405, "method_not_allowed")
    error(bo.post(PREVIEW, {}), 405, "method_not_allowed")


def test_preview_is_pending_then_ready(
    world: dict[str, Any], api: Any, pages: PageServer, open_loopback: Any
) -> None:
    open_loopback()
    pages.page("/i.png", png(), headers={"Content-Type": "image/png"})
    url = pages.page(
        "/p",
        '<title>PayPal.com login</title><meta property="og:image" content="/i.png">'
        '<meta property="og:site_name" content="Harbor">',
    )
    bo = api(world["bo"])
    first = bo.get(PREVIEW, {"url": url})
    assert first.status_code == 202
    assert first.json() == {"status": "pending"}
    assert first["Retry-After"] == "1"
    assert pages.hits == []
    assert bo.get(PREVIEW, {"url": url}).status_code == 202
    PreviewWorker().drain()
    ready = bo.get(PREVIEW, {"url": url + "#again"})
    assert ready.status_code == 200
    body = ready.json()
    assert set(body) == {
        "url",
        "title",
        "description",
        "thumbnailUrl",
        "siteName",
        "domain",
        "displayDomain",
        "fetchedAt",
        "warnings",
    }
    assert body["title"] == "PayPal.com login"
    assert body["description"] is None
    assert body["siteName"] == "Harbor"
    # The title names another site than the one the link goes to.
    assert body["warnings"] == ["not_https", "ip_address"] or "text_mismatch" in body["warnings"]
    assert pages.hits == ["/p", "/i.png"]
    image = bo.get(body["thumbnailUrl"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert image["X-Content-Type-Options"] == "nosniff"
    assert image.content.startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/x",
        "javascript:alert(1)",
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://user:pw@example.org/",
        "http://example.org:6379/",
    ],
)
def test_preview_refuses_urls_that_may_not_be_fetched_with_422(
    world: dict[str, Any], api: Any, url: str
) -> None:
    response = api(world["bo"]).get(PREVIEW, {"url": url})
    error(response, 422, "preview_unavailable")
    assert LinkPreview.objects.count() == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "url"), ({"url": ""}, "url"), ({"url": "x" * 3000}, "url"), ({"url": "a\nb"}, "url")],
)
def test_preview_refuses_bad_input_with_400(
    world: dict[str, Any], api: Any, params: dict[str, str], field: str
) -> None:
    error(api(world["bo"]).get(PREVIEW, params), 400, "invalid", field=field)


def test_preview_of_a_page_that_failed_is_422_for_a_while(
    world: dict[str, Any], api: Any, pages: PageServer, open_loopback: Any
) -> None:
    open_loopback()
    bo = api(world["bo"])
    url = pages.url("/missing")
    assert bo.get(PREVIEW, {"url": url}).status_code == 202
    PreviewWorker().drain()
    err = error(bo.get(PREVIEW, {"url": url}), 422, "preview_unavailable")
    assert err["details"] == {"reason": "http_error"}
    assert pages.hits == ["/missing"]


def test_preview_of_a_name_inside_the_network_fails_in_the_worker(
    world: dict[str, Any], api: Any, fake_dns: dict[str, Any], forbidden: PageServer, settings: Any
) -> None:
    settings.LINKPREVIEW_PORTS = [80, 443, forbidden.port]
    fake_dns["intranet.example"] = [["127.0.0.2"]]
    bo = api(world["bo"])
    url = forbidden.url("/secret", host="intranet.example")
    assert bo.get(PREVIEW, {"url": url}).status_code == 202
    PreviewWorker().drain()
    err = error(bo.get(PREVIEW, {"url": url}), 422, "preview_unavailable")
    assert err["details"] == {"reason": "forbidden_address"}
    assert forbidden.hits == []


def test_thumbnails_that_do_not_exist_are_404(world: dict[str, Any], api: Any) -> None:
    bo = api(world["bo"])
    for name in ["a" * 24 + ".jpg", "..%2F..%2Fetc%2Fpasswd", "x.png", "a" * 24 + ".jpg.exe"]:
        error(bo.get("/api/messaging/links/thumbnails/" + name), 404, "not_found")


def test_send_takes_the_previews_to_omit(
    world: dict[str, Any], api: Any, pages: PageServer, open_loopback: Any
) -> None:
    open_loopback()
    keep, drop = pages.url("/keep"), pages.url("/drop")
    response = api(world["bo"]).post(
        "/api/messaging/send",
        {
            "tenantId": "acme",
            "recipientIds": [world["ann"].pk],
            "body": f"{keep} {drop}",
            "omitLinkPreviews": [drop],
        },
    )
    assert response.status_code == 201, response.content
    assert [link["status"] for link in response.json()["links"]] == ["pending", "removed"]


@pytest.mark.parametrize("value", ["x", [1], [None], ["u"] * 51])
def test_send_refuses_a_bad_list_of_previews_to_omit(
    world: dict[str, Any], api: Any, value: Any
) -> None:
    response = api(world["bo"]).post(
        "/api/messaging/send",
        {
            "tenantId": "acme",
            "recipientIds": [world["ann"].pk],
            "body": "x",
            "omitLinkPreviews": value,
        },
    )
    error(response, 400, "invalid", field="omitLinkPreviews")


def test_refresh_and_remove(
    world: dict[str, Any], api: Any, pages: PageServer, open_loopback: Any
) -> None:
    open_loopback()
    url = pages.page("/r", "<title>First</title>")
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body=url)
    PreviewWorker().drain()
    bo, ann, dee = api(world["bo"]), api(world["ann"]), api(world["dee"])
    error(ann.post(REMOVE, {"messageId": message.pk}), 403, "forbidden")
    error(dee.post(REMOVE, {"messageId": message.pk}), 404, "not_found")
    error(
        bo.post(REMOVE, {"messageId": message.pk, "url": "https://nope.example/"}), 404, "not_found"
    )
    error(bo.post(REMOVE, {}), 400, "invalid", field="messageId")
    error(bo.post(REMOVE, {"messageId": "1"}), 400, "invalid", field="messageId")
    error(bo.post(REMOVE, {"messageId": message.pk, "x": 1}), 400, "invalid", field="x")
    removed = bo.post(REMOVE, {"messageId": message.pk, "url": url})
    assert removed.status_code == 200
    assert removed.json()["links"][0]["status"] == "removed"
    pages.page("/r", "<title>Second</title>")
    refreshed = bo.post(REFRESH, {"messageId": message.pk})
    assert refreshed.status_code == 202
    assert refreshed.json()["links"][0]["status"] == "pending"
    PreviewWorker().drain()
    shown = bo.get(f"/api/messaging/messages/{message.pk}").json()["links"]
    assert (shown[0]["status"], shown[0]["title"]) == ("ready", "Second")


def test_rate_limits_answer_429_with_retry_after(
    world: dict[str, Any], api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(settings.HARBOR_RATE_LIMITS, "links", {"user": (3, 60)})
    bo, ann = api(world["bo"]), api(world["ann"])
    for _ in range(3):
        assert bo.post(PROCESS, {"text": "a"}).status_code == 200
    limited = bo.post(PROCESS, {"text": "a"})
    error(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert ann.post(PROCESS, {"text": "a"}).status_code == 200  # per user


def test_the_message_json_carries_its_links(
    world: dict[str, Any], api: Any, pages: PageServer, open_loopback: Any
) -> None:
    open_loopback()
    url = pages.page("/m", "<title>Shown</title><meta name=description content=Text>")
    factories.send(world["bo"], world["acme"], [world["ann"]], body=f"a {url} b")
    PreviewWorker().drain()
    (message,) = api(world["ann"]).get("/api/messaging/messages").json()["results"]
    (link,) = message["links"]
    assert (link["title"], link["description"], link["status"]) == ("Shown", "Text", "ready")
    assert link["thumbnailUrl"] is None
    assert 'data-link-domain="127.0.0.1"' in message["bodyHtml"]
    assert MessageLink.objects.count() == 1
    assert json.dumps(message)
