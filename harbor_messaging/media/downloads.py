"""Serving a stored file: streamed from local storage, or a redirect to a short-lived
signed URL on S3; inline only for raster images, else a download with a safe file name."""

from __future__ import annotations

from typing import cast
from urllib.parse import quote

from django.core.files.storage import default_storage, storages
from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from .filetypes import INLINE_SAFE
from .names import ascii_fallback


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and the UTF-8 ``filename*``."""
    kind = "inline" if inline else "attachment"
    fallback = ascii_fallback(name).replace("\\", "_").replace('"', "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _signed_url(key: str, *, content_type: str, disposition: str) -> str | None:
    """A signed GET URL when the storage is S3, else None."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        return None
    storage = storages["default"]
    if not isinstance(storage, S3Storage):
        return None
    return str(
        storage.url(
            key,
            parameters={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
                "ResponseCacheControl": "private, no-store",
            },
        )
    )


def stored_file_response(
    key: str, *, name: str, content_type: str, as_thumbnail: bool = False
) -> HttpResponse:
    if as_thumbnail:
        content_type, inline = "image/webp", True
    else:
        inline = content_type in INLINE_SAFE
        if not inline and content_type.startswith("text/"):
            content_type += "; charset=utf-8"
    disposition = content_disposition(name, inline=inline)
    url = _signed_url(key, content_type=content_type, disposition=disposition)
    response: HttpResponse
    if url is not None:
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "no-store"
    else:
        # A FileResponse streams the file; typed as the HttpResponse the API views return.
        response = cast(
            HttpResponse, FileResponse(default_storage.open(key, "rb"), content_type=content_type)
        )
        response["Content-Disposition"] = disposition
        response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    # Even opened directly, a stored file runs nothing and loads nothing.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
