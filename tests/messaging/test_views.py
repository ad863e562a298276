"""The server-rendered pages through Django's test client: access, rows, tabs, badge, tenant."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

PAGE = "/en/harbor/messaging/"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(html: str) -> list[str]:
    """The message ids of the rows the page lists (not the empty row in the <template>)."""
    return re.findall(r'data-message-row data-message-id="(\d+)"', html)


def test_page_needs_login() -> None:
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/en/harbor/messaging/")


def test_inbox_lists_only_the_viewers_own_messages(world: dict[str, Any]) -> None:
    to_bo = factories.send(world["ann"], world["acme"], [world["bo"]], subject="For Bo")
    to_cy = factories.send(world["ann"], world["acme"], [world["cy"]], subject="For Cy only")
    other_tenant = factories.send(world["dee"], world["globex"], [world["cy"]], subject="Globex")
    response = client_for(world["bo"]).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert rows(html) == [str(to_bo.pk)]
    assert "For Bo" in html
    assert "For Cy only" not in html
    assert "Globex" not in html
    assert str(to_cy.pk) not in rows(html) and str(other_tenant.pk) not in rows(html)
    # Unread styling on the server-rendered row.
    assert re.search(rf'class="message-row is-unread"[^>]*data-message-id="{to_bo.pk}"', html)


def test_inbox_is_newest_first_with_sender_and_snippet(world: dict[str, Any]) -> None:
    first = factories.send(world["ann"], world["acme"], [world["bo"]], subject="One", body="a")
    second = factories.send(
        world["cy"], world["acme"], [world["bo"]], subject="Two", body="b" * 300
    )
    html = client_for(world["bo"]).get(PAGE).content.decode()
    assert rows(html) == [str(second.pk), str(first.pk)]
    assert "Cy Okafor" in html and "Ann Lee" in html
    assert "b" * 139 + "…" in html and "b" * 141 not in html


def test_sent_tab_lists_what_the_viewer_sent(world: dict[str, Any]) -> None:
    sent = factories.send(world["ann"], world["acme"], [world["bo"], world["cy"]], subject="Out")
    received = factories.send(world["bo"], world["acme"], [world["ann"]], subject="In")
    to_all = factories.send(world["ann"], world["acme"], "all", subject="All hands")
    html = client_for(world["ann"]).get(PAGE, {"box": "sent"}).content.decode()
    assert rows(html) == [str(to_all.pk), str(sent.pk)]
    assert str(received.pk) not in rows(html)
    assert "Bo Chan, Cy Okafor" in html
    assert "Everyone in Acme Shipping" in html
    assert re.search(
        r'<a class="tabs__tab" href="/en/harbor/messaging/\?box=sent" aria-current="page"', html
    )


def test_search_narrows_the_list(world: dict[str, Any]) -> None:
    factories.send(world["ann"], world["acme"], [world["bo"]], subject="Crane crew")
    hit = factories.send(world["ann"], world["acme"], [world["bo"]], subject="Pilot times")
    html = client_for(world["bo"]).get(PAGE, {"q": "pilot"}).content.decode()
    assert rows(html) == [str(hit.pk)]
    assert 'value="pilot"' in html


def test_app_bar_badge_shows_the_unread_count(world: dict[str, Any]) -> None:
    for subject in ("a", "b"):
        factories.send(world["ann"], world["acme"], [world["bo"]], subject=subject)
    html = client_for(world["bo"]).get("/en/harbor/").content.decode()
    badge = re.search(r"<span class=\"badge\" data-unread-badge.*?</span>\s*</span>", html, re.S)
    assert badge is not None
    assert 'data-count="2"' in badge.group(0)
    assert 'data-tenant-id="acme"' in badge.group(0)
    assert "2 unread" in badge.group(0)
    assert " hidden" not in badge.group(0).split(">", 1)[0]


def test_app_bar_badge_is_hidden_at_zero(world: dict[str, Any]) -> None:
    html = client_for(world["bo"]).get(PAGE).content.decode()
    opening = re.search(r"<span class=\"badge\" data-unread-badge[^>]*>", html)
    assert opening is not None
    assert 'data-count="0"' in opening.group(0)
    assert opening.group(0).rstrip(">").endswith("hidden")


def test_switching_tenant_changes_the_page(world: dict[str, Any]) -> None:
    factories.send(world["ann"], world["acme"], [world["cy"]], subject="Acme news")
    factories.send(world["dee"], world["globex"], [world["cy"]], subject="Globex news")
    client = client_for(world["cy"])
    html = client.get(PAGE).content.decode()
    assert "Acme news" in html and "Globex news" not in html
    assert 'name="tenant"' in html  # cy has two tenants, so the switcher shows
    response = client.post("/en/harbor/tenant/", {"tenant": "globex", "next": PAGE})
    assert response.status_code == 302
    assert response["Location"] == PAGE
    html = client.get(PAGE).content.decode()
    assert "Globex news" in html and "Acme news" not in html
    assert 'data-tenant-id="globex"' in html


def test_switching_to_a_tenant_one_is_not_in_is_refused(world: dict[str, Any]) -> None:
    client = client_for(world["bo"])
    response = client.post("/en/harbor/tenant/", {"tenant": "globex", "next": PAGE})
    assert response.status_code == 404
    assert 'data-tenant-id="acme"' in client.get(PAGE).content.decode()


def test_switch_ignores_an_offsite_next(world: dict[str, Any]) -> None:
    response = client_for(world["cy"]).post(
        "/en/harbor/tenant/", {"tenant": "globex", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/en/harbor/"


def test_single_tenant_users_see_no_switcher(world: dict[str, Any]) -> None:
    html = client_for(world["bo"]).get(PAGE).content.decode()
    assert 'name="tenant"' not in html


def test_user_text_is_escaped(world: dict[str, Any]) -> None:
    factories.send(
        world["ann"],
        world["acme"],
        [world["bo"]],
        subject="<script>alert(1)</script>",
        body='<img src=x onerror="alert(2)">',
    )
    html = client_for(world["bo"]).get(PAGE).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html


def test_page_has_no_inline_script_or_handlers(world: dict[str, Any]) -> None:
    factories.send(world["ann"], world["acme"], [world["bo"]], subject="Hello")
    html = client_for(world["bo"]).get(PAGE).content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the page loads its modules"
    assert all("src=" in tag for tag in scripts), "no inline script"
    # Django's JavaScriptCatalog is a classic script (it sets globalThis.django); the rest are
    # modules.
    assert all('type="module"' in tag or "/jsi18n/" in tag for tag in scripts)
    assert not re.search(r"\son[a-z]+=", html)
    assert 'id="message-row-template"' in html
    assert 'data-csrf-token="' in html


def test_page_for_a_user_without_tenant() -> None:
    from django.contrib.auth.models import User

    loner = User.objects.create_user("loner", password=factories.PASSWORD)
    response = client_for(loner).get(PAGE)
    assert response.status_code == 200
    assert b"do not belong to any tenant" in response.content


def test_home_lists_the_users_tenants(world: dict[str, Any]) -> None:
    html = client_for(world["cy"]).get("/en/harbor/").content.decode()
    assert "Acme Shipping" in html and "Globex" in html
    assert 'href="/en/harbor/messaging/"' in html


def test_login_page_shows_errors() -> None:
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "nobody", "password": "wrong"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert b"correct username and password" in response.content


def test_logout_from_the_app_bar(world: dict[str, Any]) -> None:
    client = client_for(world["bo"])
    html = client.get("/en/harbor/").content.decode()
    assert re.search(
        r'<form class="appbar__logout" method="post" action="/accounts/logout/">', html
    )
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get(PAGE).status_code == 302


def stream_config(html: str) -> dict[str, str]:
    element = re.search(r"<div hidden data-harbor-stream(.*?)></div>", html, re.S)
    assert element is not None, "the page carries no stream config"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', element.group(1)))


def test_page_renders_the_stream_position(world: dict[str, Any]) -> None:
    from messaging.stream import current_event_id

    factories.send(world["ann"], world["acme"], [world["bo"]], subject="One")
    factories.send(world["ann"], world["acme"], "all", subject="All hands")
    expected = current_event_id(world["bo"].pk, "acme")
    assert expected.startswith("t-acme:") and ",u-" in expected
    for path in (PAGE, "/en/harbor/"):
        config = stream_config(client_for(world["bo"]).get(path).content.decode())
        assert config["last-event-id"] == expected
        assert config["stream-url"] == "/api/messaging/stream/acme/"
        assert config["tenant-id"] == "acme"
        assert config["user-id"] == str(world["bo"].pk)
        assert int(config["stream-max-backoff-ms"]) == 60_000


def test_stream_position_is_taken_before_the_rows(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message that lands while the page is being read is both listed and replayed (the
    script drops the replay by id): the rendered position is from before it."""
    from messaging import views
    from messaging.stream import current_event_id

    before = current_event_id(world["bo"].pk, "acme")
    real_inbox_page = views.selectors.inbox_page
    late: list[Any] = []

    def inbox_page_with_a_message_arriving(**kwargs: Any) -> Any:
        late.append(factories.send(world["ann"], world["acme"], [world["bo"]], subject="Late"))
        return real_inbox_page(**kwargs)

    monkeypatch.setattr(views.selectors, "inbox_page", inbox_page_with_a_message_arriving)
    html = client_for(world["bo"]).get(PAGE).content.decode()
    assert rows(html) == [str(late[0].pk)]
    assert stream_config(html)["last-event-id"] == before
    assert current_event_id(world["bo"].pk, "acme") != before


def test_no_stream_config_without_a_tenant_or_login(world: dict[str, Any]) -> None:
    assert "data-harbor-stream" not in Client().get("/accounts/login/").content.decode()
    loner = factories.User.objects.create_user("loner", password=factories.PASSWORD)
    assert "data-harbor-stream" not in client_for(loner).get(PAGE).content.decode()
