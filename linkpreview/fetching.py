"""One preview fetched: the page through the configured fetcher (the SSRF guard), its
metadata read, its image fetched through the same guard and re-encoded. No database
writes here; the worker hands the outcome to actions.do_finish_preview."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .backends.base import HTML_TYPES, IMAGE_TYPES, FetchError, get_fetcher
from .extraction import PageMetadata, extract_metadata
from .thumbnails import ThumbnailError, make_thumbnail

logger = logging.getLogger(__name__)

IMAGE_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class PreviewOutcome:
    ok: bool
    error: str = ""
    final_url: str = ""
    metadata: PageMetadata | None = None
    thumbnail: bytes | None = None  # JPEG, ours


def fetch_preview(url: str) -> PreviewOutcome:
    fetcher = get_fetcher()
    try:
        page = fetcher.fetch(url, accept=HTML_TYPES)
    except FetchError as exc:
        logger.info("preview of %s refused or failed: %s (%s)", url, exc.code, exc.message)
        return PreviewOutcome(ok=False, error=exc.code)
    metadata = extract_metadata(page.body, url=page.url, charset=page.charset)
    thumbnail = None
    if metadata.image_url:
        try:
            image = fetcher.fetch(metadata.image_url, accept=IMAGE_TYPES, max_bytes=IMAGE_MAX_BYTES)
            if not image.truncated:
                thumbnail = make_thumbnail(image.body)
        except (FetchError, ThumbnailError) as exc:
            # The card goes out without its picture.
            logger.info("preview image %s skipped: %s", metadata.image_url, exc)
    return PreviewOutcome(ok=True, final_url=page.url, metadata=metadata, thumbnail=thumbnail)
