"""The fetcher interface every outgoing request for a preview goes through, pages and
thumbnails alike; the one in use is named by ``LINKPREVIEW_FETCHER``."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

HTML_TYPES = ("text/html", "application/xhtml+xml")
IMAGE_TYPES = ("image/*",)


@dataclass(frozen=True)
class FetchResult:
    url: str  # the final URL, after redirects
    status: int
    content_type: str  # the media type alone, lower case
    charset: str | None
    body: bytes  # decoded from gzip/deflate; at most the fetcher's byte limit
    truncated: bool  # the limit cut the body short
    headers: Mapping[str, str] = field(default_factory=dict)


class FetchError(Exception):
    """A fetch that was refused or failed; ``code`` says which (cached as the failure)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code


class Fetcher:
    """Fetches one URL for a preview.

    Subclasses must write ``fetch()``; they own every safety rule (which addresses, ports,
    redirects, how long, how many bytes), so a caller never needs to check a URL itself.
    """

    def fetch(
        self, url: str, *, accept: Collection[str] = HTML_TYPES, max_bytes: int | None = None
    ) -> FetchResult:
        """Return the answer to GET ``url`` when its type is in ``accept``; raise
        FetchError otherwise."""
        raise NotImplementedError("Fetcher subclasses must implement fetch()")


def media_type_matches(content_type: str, accept: Collection[str]) -> bool:
    for wanted in accept:
        if wanted.endswith("/*"):
            if content_type.startswith(wanted[:-1]):
                return True
        elif content_type == wanted:
            return True
    return False


@lru_cache(maxsize=4)
def _fetcher_class(path: str) -> type[Fetcher]:
    cls = import_string(path)
    if not (isinstance(cls, type) and issubclass(cls, Fetcher)):
        raise TypeError(f"LINKPREVIEW_FETCHER {path!r} is not a Fetcher")
    return cls


def get_fetcher() -> Fetcher:
    """A fetcher of the configured class, built from the current settings."""
    return _fetcher_class(settings.LINKPREVIEW_FETCHER)()
