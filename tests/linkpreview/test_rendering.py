"""The one rendering of message bodies: everything escaped, links made by linkify only,
with rel/target, http/https/mailto only, the real domain and the warnings attached; and
the stored links are exactly the ones the rendering made clickable."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from messaging import rendering
from messaging.rendering import body_links, render_body_html

INJECTIONS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg/onload=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(1)",
    'https://example.org/"onmouseover="alert(1)',
    "https://example.org/<script>alert(1)</script>",
    "<iframe src=https://example.org></iframe>",
    "<style>body{display:none}</style>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<<script>script>alert(1)<</script>/script>",
    "https://x.org/?q=<b>bold</b>&r='x'",
]


@pytest.mark.parametrize("body", INJECTIONS)
def test_no_markup_but_links_survives(body: str) -> None:
    html = render_body_html(body)
    tags = re.findall(r"<\s*([a-zA-Z]+)", html)
    assert set(tags) <= {"a", "br"}, html
    for anchor in re.findall(r"<a [^>]*>", html):
        assert re.search(r'href="(https?|mailto):', anchor), anchor
        assert 'rel="noopener noreferrer nofollow"' in anchor
        assert "on" not in re.sub(r'"[^"]*"', '""', anchor).replace("noopener", ""), anchor


def test_links_carry_their_real_domain_and_warnings() -> None:
    html = render_body_html("a http://xn--80ak6aa92e.com/x b https://10.1.2.3/ c https://ok.org")
    assert 'data-link-domain="аррӏе.com" data-link-warnings="not_https punycode"' in html
    assert 'data-link-domain="10.1.2.3" data-link-warnings="ip_address"' in html
    assert 'href="https://ok.org" rel="noopener noreferrer nofollow" target="_blank" ' in html


def test_a_host_that_only_starts_like_an_ip_is_linked_whole() -> None:
    html = render_body_html("http://10.0.0.1.evil.com/path")
    assert 'href="http://10.0.0.1.evil.com/path"' in html
    assert 'data-link-domain="10.0.0.1.evil.com"' in html


def test_stored_links_are_the_clickable_ones_unescaped() -> None:
    body = "x.org, https://a.org/?a=1&b=<2> and (https://b.org/p) and javascript:alert(1)"
    assert body_links(body) == ["http://x.org", "https://a.org/?a=1&b=<2>", "https://b.org/p"]


@pytest.mark.django_db
def test_the_admin_shows_the_body_as_recipients_see_it(world: dict[str, Any]) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from tests import factories

    message = factories.send(
        world["bo"],
        world["acme"],
        [world["ann"]],
        body="<script>alert(1)</script> see https://example.org/x",
    )
    admin = User.objects.create_superuser("root", "root@example.com", "pw-123-pw")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert (
        '<a href="https://example.org/x" rel="noopener noreferrer nofollow" target="_blank"' in page
    )


def _slow_render(body: str) -> str:
    """render_body_html without its plain-text shortcut: escape, then linkify."""
    linked: str = rendering._linker.linkify(rendering._escaped(body))
    return linked.replace("\n", "<br>\n")


# Every sort of character the shortcut has to get right: ASCII with its controls, Latin-1's
# C1 controls, the noncharacters html5lib reports, astral ones, lone surrogates, the line
# and paragraph separators, a byte-order mark; and words, so some bodies are ordinary text.
_ALPHABET = (
    [chr(c) for c in range(0x250)]
    + list("€😀\u2028\u2029\ufeff\ufffd\ufdd0\ufdef\ufffe\uffff\ud800\udfff")
    + ["\U0001fffe", "\U0010ffff", "\U0001f600"]
)
_WORDS = ["hello", "naïve", "€5", "a.b", "x@y", "1.5", "q&a", "<3", "\n", " ", "ok."]


def test_the_plain_text_shortcut_renders_as_bleach_does() -> None:
    rng = random.Random(20261203)
    shortcut = 0
    for _ in range(4_000):
        pieces = rng.choices([_ALPHABET, _WORDS], weights=[3, 1], k=rng.randint(0, 30))
        body = "".join(rng.choice(p) for p in pieces)
        if rendering._PLAIN.fullmatch(body) and not rendering.might_have_links(body):
            shortcut += 1
        assert render_body_html(body) == _slow_render(body), repr(body)
    # Both ways were taken, many times.
    assert 400 < shortcut < 3_800, shortcut


@pytest.mark.parametrize(
    "body",
    ["", "plain words\nand a second line", "tab\there", "quotes \" and ' stay", "Grüße 😀"],
)
def test_plain_bodies_take_the_shortcut_unchanged(body: str) -> None:
    assert rendering._PLAIN.fullmatch(body) and not rendering.might_have_links(body)
    assert render_body_html(body) == body.replace("\n", "<br>\n") == _slow_render(body)


@pytest.mark.parametrize(
    "body", ["a & b", "1 < 2", "2 > 1", "cr\r\nlf", "nul\x00", "bell\x07", "c1\x85", "\ufdd0"]
)
def test_bodies_bleach_changes_do_not_take_the_shortcut(body: str) -> None:
    assert not rendering._PLAIN.fullmatch(body)
    assert render_body_html(body) == _slow_render(body)
