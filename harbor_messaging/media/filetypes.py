"""Which file types may be kept, judged by their bytes (libmagic), never by name or header."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from pathlib import Path

import magic

# What may be kept, by the type libmagic reads from the bytes, with the extension used for
# the storage key. SVG, HTML, scripts and executables are not here: they are refused.
ALLOWED: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
    "application/json": "json",
    "application/zip": "zip",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
}

# Raster images a browser may show inline. Never SVG (it can carry script) nor HTML.
INLINE_SAFE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
THUMBNAIL_TYPES = INLINE_SAFE

_lock = threading.Lock()
_magic: magic.Magic | None = None


def sniff(path: str | Path) -> str:
    """The MIME type of the file's bytes, as libmagic reads them."""
    global _magic
    with _lock:  # A libmagic handle is not safe to share between threads at once.
        if _magic is None:
            _magic = magic.Magic(mime=True)
        return str(_magic.from_file(str(path))).strip().lower()


def is_allowed(content_type: str, *, within: Collection[str] | None = None) -> bool:
    """In the product's ceiling and, when given, in a tenant's own narrower set."""
    return content_type in ALLOWED and (within is None or content_type in within)


def outside(types: Iterable[str], *, within: Collection[str]) -> list[str]:
    """The types of ``types`` not in ``within``, sorted: what a setting may not allow."""
    return sorted({t for t in types if t not in within})


def label_for(content_type: str) -> str:
    return f"{extension_for(content_type).upper()} ({content_type})"


def extension_for(content_type: str) -> str:
    return ALLOWED.get(content_type, "bin")
