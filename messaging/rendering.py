"""Message bodies as safe HTML: every character escaped, URLs made into links, nothing else.

The same linkify finds the links that are stored and previewed (``body_links``), so what is
clickable and what is previewed never disagree. Every surface (the page, the JSON
``bodyHtml``, events, the admin) renders through ``render_body_html``.
"""

from __future__ import annotations

import html
import re
from contextvars import ContextVar
from typing import Any

import bleach
from bleach.linkifier import Linker, build_url_re

from linkpreview.inspection import InvalidUrl, inspect_url

_ALLOWED_PROTOCOLS = ["http", "https", "mailto"]

# Raise it whenever render_body_html's output changes: every stored Message.body_html of an
# older version is then rendered afresh on read (and written again by the next edit).
RENDER_VERSION = 1

# bleach's URL pattern wants a known TLD; links to bare IP addresses are links too (they get
# a warning beside them). The host must end there, so "http://10.0.0.1.evil.example" is
# left to bleach's own pattern, which takes the whole name.
_IP_URL = r"""
    https?://(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?(?![\w.:-])
    (?:[/?\#][^\s\{\}\|\\\^`<>"]*)?
"""
LINK_URL_RE = re.compile(
    _IP_URL + "|" + build_url_re().pattern, re.IGNORECASE | re.VERBOSE | re.UNICODE
)

_found: ContextVar[list[str] | None] = ContextVar("found_links", default=None)


def _link_attributes(attrs: dict[Any, str], new: bool = False) -> dict[Any, str] | None:
    href = attrs.get((None, "href"), "")
    scheme = href.split(":", 1)[0].lower() if ":" in href else ""
    if scheme not in _ALLOWED_PROTOCOLS:
        return None  # Leave it as text.
    attrs[(None, "rel")] = "noopener noreferrer nofollow"
    if scheme != "mailto":
        attrs[(None, "target")] = "_blank"
        try:
            info = inspect_url(href)
        except InvalidUrl:
            return None  # Not a URL a browser could open as we would show it: text.
        # The real domain and the warnings, for the page's safety cues beside the link.
        attrs[(None, "data-link-domain")] = info.display_domain
        if info.warnings:
            attrs[(None, "data-link-warnings")] = " ".join(info.warnings)
        found = _found.get()
        if found is not None:
            # linkify works on the escaped body: the href holds "&amp;" where the URL has "&".
            found.append(html.unescape(href))
    return attrs


_linker = Linker(
    callbacks=[_link_attributes], skip_tags=["pre", "code"], parse_email=False, url_re=LINK_URL_RE
)


def _escaped(body: str) -> str:
    escaped: str = bleach.clean(
        body, tags=set(), attributes={}, strip=False, protocols=_ALLOWED_PROTOCOLS
    )
    return escaped


# Text that bleach's escaping and html5lib's parsing give back unchanged: nothing to escape
# (& < >), no carriage return to normalise, no control character or noncharacter html5lib
# replaces or reports. tests/linkpreview/test_rendering.py checks this against bleach.
_PLAIN = re.compile(
    r"[^&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]*"
)


def render_body_html(body: str) -> str:
    """Escape the whole body, then linkify; newlines become <br>."""
    if _PLAIN.fullmatch(body) and not might_have_links(body):
        # Most bodies: the two html5lib parses would give the text back as it is (~0.6 ms
        # of a send's CPU, docs/performance.md).
        return body.replace("\n", "<br>\n")
    linked: str = _linker.linkify(_escaped(body))
    return linked.replace("\n", "<br>\n")


def rendered_body_fields(body: str) -> dict[str, Any]:
    """The Message fields that hold the body's stored rendering, for a send or an edit."""
    return {"body_html": render_body_html(body), "body_html_version": RENDER_VERSION}


def stored_body_html(*, body: str, body_html: str, version: int) -> str:
    """The stored rendering when it is current, else a fresh one (older rows, bulk writes)."""
    if version != RENDER_VERSION or (body and not body_html):
        return render_body_html(body)
    return body_html


def stored_html_has_links(*, body: str, body_html: str, version: int) -> bool:
    """Whether the body has links, from its stored rendering when that is current.

    The body is escaped before linkify, so "<a " in the html is only ever a link; far
    cheaper than searching every body on a page with the URL pattern (~30 µs a body).
    """
    if version != RENDER_VERSION or (body and not body_html):
        return might_have_links(body)
    return "<a " in body_html


def body_links(body: str) -> list[str]:
    """The http(s) URLs the rendered body links to, in order (repeats kept)."""
    if not might_have_links(body):
        # Most bodies: no second html5lib parse at send time for a body with no URL in it.
        return []
    found: list[str] = []
    token = _found.set(found)
    try:
        _linker.linkify(_escaped(body))
    finally:
        _found.reset(token)
    return found


def might_have_links(body: str) -> bool:
    """Cheap and never wrong the other way: a body it says no to has no links to store."""
    return bool(body) and LINK_URL_RE.search(body) is not None
