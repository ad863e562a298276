"""Reads: the links of a page of messages in one query, and links and previews as the JSON
of docs/api.md ("Links")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple

from django.urls import reverse

from harbor_messaging import sql
from messaging.serialization import iso

from .inspection import TEXT_MISMATCH, InvalidUrl, LinkInfo, inspect_url, names_another_domain
from .models import LinkPreview, MessageLink


def thumbnail_url(name: str) -> str:
    """Our own URL of a stored thumbnail ("" for none): browsers never call the linked site."""
    if not name:
        return ""
    return reverse("linkpreview-thumbnail", kwargs={"name": name.rsplit("/", 1)[-1]})


def warnings_for(info: LinkInfo, *shown: str) -> list[str]:
    """The URL's own warnings, and text_mismatch when the preview's text names another site."""
    warnings = list(info.warnings)
    if TEXT_MISMATCH not in warnings and any(
        text and names_another_domain(text, info.domain) for text in shown
    ):
        warnings.append(TEXT_MISMATCH)
    return warnings


# A URL's LinkInfo depends on the URL alone (LinkInfo is frozen), and the same URLs come
# back page after page: inspecting one (IDNA, the script checks) took 40–100 µs.
@lru_cache(maxsize=4096)
def _info(url: str) -> LinkInfo | None:
    try:
        return inspect_url(url)
    except InvalidUrl:
        return None


class LinkRow(NamedTuple):
    """A page's link as link_json reads it: its columns, no model instance."""

    message_id: int
    url: str
    normalized_url: str
    domain: str
    status: str
    title: str
    description: str
    site_name: str
    thumbnail_url: str


def link_json(link: MessageLink | LinkRow) -> dict[str, Any]:
    info = _info(link.url) or _info(link.normalized_url)
    shows = link.status == MessageLink.Status.READY
    warnings: list[str] = []
    if info is not None:
        warnings = warnings_for(info, link.title, link.site_name) if shows else list(info.warnings)
    return {
        "url": link.url,
        "normalizedUrl": link.normalized_url,
        "domain": link.domain,
        "displayDomain": info.display_domain if info else link.domain,
        "title": (link.title or None) if shows else None,
        "description": (link.description or None) if shows else None,
        "thumbnailUrl": (link.thumbnail_url or None) if shows else None,
        "siteName": (link.site_name or None) if shows else None,
        "status": link.status,
        "warnings": warnings,
    }


# Plain SQL, the same on SQLite and PostgreSQL: through the ORM, setting this query up and
# compiling it took longer than running it (~1 ms a page on PostgreSQL, 0.2-0.4 ms of it
# the database's).
_LINKS_SQL = (
    f"SELECT {', '.join(LinkRow._fields)} FROM linkpreview_messagelink"
    " WHERE message_id IN ({marks}) ORDER BY message_id, position"
)


def links_by_message(message_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each message's links, in body order, in one query (none for no ids)."""
    ids = list(message_ids)
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return out
    for row in sql.fetch(_LINKS_SQL.format(marks=sql.marks(ids)), ids):
        link = LinkRow(*row)
        out[link.message_id].append(link_json(link))
    return out


def process_json(info: LinkInfo, *, previewable: bool) -> dict[str, Any]:
    """A link found in a draft (``POST /api/messaging/links/process``)."""
    return {
        "url": info.url,
        "normalizedUrl": info.normalized_url,
        "domain": info.domain,
        "displayDomain": info.display_domain,
        "safe": not info.warnings,
        "warnings": list(info.warnings),
        "previewable": previewable,
    }


def preview_json(preview: LinkPreview) -> dict[str, Any]:
    """A finished preview (``GET /api/messaging/links/preview``)."""
    info = inspect_url(preview.normalized_url)
    return {
        "url": preview.normalized_url,
        "title": preview.title or None,
        "description": preview.description or None,
        "thumbnailUrl": thumbnail_url(preview.thumbnail) or None,
        "siteName": preview.site_name or None,
        "domain": info.domain,
        "displayDomain": info.display_domain,
        "fetchedAt": iso(preview.fetched_at),
        "warnings": warnings_for(info, preview.title, preview.site_name),
    }
