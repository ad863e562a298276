"""What a URL is before anything is fetched: its normalised form (one cache row however it
is spelt), its real domain, and the warnings the page shows; and the app's system checks."""

from __future__ import annotations

from typing import Any

import pytest

from linkpreview.checks import check_linkpreview_settings
from linkpreview.inspection import InvalidUrl, UnsupportedScheme, inspect_url, names_another_domain


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("HTTPS://Example.ORG/Path?q=1#frag", "https://example.org/Path?q=1"),
        ("https://example.org:443/", "https://example.org/"),
        ("http://example.org:80", "http://example.org/"),
        ("http://example.org:8080/x", "http://example.org:8080/x"),
        ("https://example.org./a", "https://example.org/a"),
        ("https://bücher.example/ä?ö=1", "https://xn--bcher-kva.example/%C3%A4?%C3%B6=1"),
        ("example.org/x", "http://example.org/x"),
        ("http://[::1]:8000/", "http://[::1]:8000/"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
    ],
)
def test_urls_are_normalised(url: str, normalized: str) -> None:
    assert inspect_url(url).normalized_url == normalized


@pytest.mark.parametrize(
    ("url", "warnings", "display"),
    [
        ("https://example.org/", (), "example.org"),
        ("http://example.org/", ("not_https",), "example.org"),
        ("https://xn--80ak6aa92e.com/", ("punycode",), "аррӏе.com"),
        ("https://pаypal.com/", ("punycode", "mixed_script"), "pаypal.com"),
        ("https://93.184.215.14/", ("ip_address",), "93.184.215.14"),
        ("https://user@example.org/", ("userinfo",), "example.org"),
    ],
)
def test_warnings_and_the_domain_people_read(
    url: str, warnings: tuple[str, ...], display: str
) -> None:
    info = inspect_url(url)
    assert info.warnings == warnings
    assert info.display_domain == display


def test_text_naming_another_domain() -> None:
    assert names_another_domain("Log in to PayPal.com now", "evil.example")
    assert not names_another_domain("News from www.example.org", "example.org")
    assert not names_another_domain("Docs at example.org", "docs.example.org")
    assert not names_another_domain("Version 1.2 is out", "example.org")


@pytest.mark.parametrize(
    "url", ["", " ", "http://", "https://exa mple.org/", "http://[::1/", "x" * 3000]
)
def test_what_is_no_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidUrl):
        inspect_url(url)


@pytest.mark.parametrize("url", ["ftp://example.org/", "mailto:a@b.org", "javascript:alert(1)"])
def test_other_schemes_are_refused_as_such(url: str) -> None:
    with pytest.raises(UnsupportedScheme):
        inspect_url(url)


def test_system_checks_catch_a_bad_fetcher_or_networks(settings: Any) -> None:
    assert check_linkpreview_settings() == []
    settings.LINKPREVIEW_FETCHER = "linkpreview.models.LinkPreview"
    settings.LINKPREVIEW_ALLOW_NETWORKS = ["not-a-network"]
    ids = {message.id for message in check_linkpreview_settings()}
    assert ids == {"linkpreview.E002", "linkpreview.E003"}
    settings.LINKPREVIEW_FETCHER = "no.such.module.Fetcher"
    settings.LINKPREVIEW_ALLOW_NETWORKS = ["127.0.0.0/8"]
    ids = {message.id for message in check_linkpreview_settings()}
    assert ids == {"linkpreview.E001", "linkpreview.W001"}
