"""A page's preview from its HTML: Open Graph, Twitter cards, JSON-LD and microdata (extruct),
falling back to <title> and the meta description. Only text comes out; the page shows it
as text."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import extruct
import lxml.etree
import lxml.html
from w3lib.encoding import html_to_unicode

logger = logging.getLogger(__name__)

TITLE_MAX = 300
DESCRIPTION_MAX = 600
SITE_NAME_MAX = 120
IMAGE_URL_MAX = 2048

# Control characters and the bidi overrides that make text read differently than stored.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200b-\u200f]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


@dataclass(frozen=True)
class PageMetadata:
    title: str
    description: str
    image_url: str
    site_name: str


def clean_text(value: Any, max_length: int) -> str:
    """One line of plain text: whitespace folded, control characters gone, cut to length."""
    if isinstance(value, list | tuple):
        value = next((v for v in value if isinstance(v, str) and v.strip()), "")
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    if not isinstance(value, str):
        return ""
    text = " ".join(_UNSAFE_TEXT.sub("", value).split())
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


def decode_html(body: bytes, charset: str | None) -> str:
    """The page as text: the header's charset, else a BOM or <meta charset>, else a guess."""
    content_type = f"text/html; charset={charset}" if charset else "text/html"
    _encoding, text = html_to_unicode(content_type, body)
    # lxml refuses text that still declares a byte encoding (XHTML's <?xml ...?>).
    return _XML_DECLARATION.sub("", str(text), count=1)


def _image_candidates(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in ("url", "contentUrl", "@id"):
            if isinstance(value.get(key), str):
                yield value[key]
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _image_candidates(item)


def _items(data: Any) -> Iterator[dict[str, Any]]:
    """JSON-LD or microdata items, @graph and nested lists flattened."""
    if isinstance(data, list):
        for item in data:
            yield from _items(item)
    elif isinstance(data, dict):
        yield data
        if isinstance(data.get("@graph"), list):
            yield from _items(data["@graph"])


def _first(candidates: Iterable[Any], max_length: int) -> str:
    for candidate in candidates:
        text = clean_text(candidate, max_length)
        if text:
            return text
    return ""


def _absolute_image(candidates: Iterable[str], base: str) -> str:
    for candidate in candidates:
        candidate = candidate.strip()
        if not candidate or candidate.startswith("data:"):
            continue
        absolute = urljoin(base, candidate)
        if urlsplit(absolute).scheme in {"http", "https"} and len(absolute) <= IMAGE_URL_MAX:
            return absolute
    return ""


def extract_metadata(body: bytes, *, url: str, charset: str | None = None) -> PageMetadata:
    """Title, description, image URL (absolute) and site name; empty strings where none."""
    text = decode_html(body, charset)
    try:
        tree = lxml.html.document_fromstring(text or "<html></html>")
    except (lxml.etree.ParserError, ValueError):
        tree = lxml.html.document_fromstring("<html></html>")
    base = url
    base_href = tree.xpath("string(//base[@href][1]/@href)")
    if base_href:
        base = urljoin(url, str(base_href).strip())

    meta: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        key = (element.get("property") or element.get("name") or "").strip().lower()
        content = element.get("content")
        if key and content is not None:
            meta.setdefault(key, []).append(content)

    try:
        data = extruct.extract(
            text,
            base_url=base,
            syntaxes=["opengraph", "json-ld", "microdata"],
            uniform=True,
            errors="log",
        )
    except Exception:  # extruct parses hostile HTML; whatever it raises, fall back
        logger.info("extruct could not read %s", url, exc_info=True)
        data = {}
    og: dict[str, Any] = {}
    for item in data.get("opengraph") or []:
        for key, value in item.items():
            og.setdefault(key, value)
    linked = list(_items(data.get("json-ld") or []))
    micro = list(_items(data.get("microdata") or []))
    structured = linked + micro

    def meta_values(*keys: str) -> list[str]:
        return [v for key in keys for v in meta.get(key, [])]

    html_title = tree.xpath("string(//title[1])")
    title = _first(
        [
            og.get("og:title"),
            *meta_values("twitter:title"),
            *(item.get("headline") for item in structured),
            *(item.get("name") for item in structured),
            html_title,
        ],
        TITLE_MAX,
    )
    description = _first(
        [
            og.get("og:description"),
            *meta_values("twitter:description"),
            *(item.get("description") for item in structured),
            *meta_values("description"),
        ],
        DESCRIPTION_MAX,
    )
    image_url = _absolute_image(
        [
            *_image_candidates(og.get("og:image:secure_url")),
            *_image_candidates(og.get("og:image:url")),
            *_image_candidates(og.get("og:image")),
            *meta_values("twitter:image", "twitter:image:src"),
            *(c for item in structured for c in _image_candidates(item.get("image"))),
            *(c for item in structured for c in _image_candidates(item.get("thumbnailUrl"))),
        ],
        base,
    )
    site_name = _first(
        [
            og.get("og:site_name"),
            *meta_values("application-name", "twitter:site"),
            *(
                item.get("publisher", {}).get("name")
                for item in structured
                if isinstance(item.get("publisher"), dict)
            ),
        ],
        SITE_NAME_MAX,
    )
    return PageMetadata(
        title=title, description=description, image_url=image_url, site_name=site_name
    )
