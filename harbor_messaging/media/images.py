"""Thumbnails with Pillow, refusing decompression bombs before a pixel is decoded."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from .errors import FileRefused, rejected

THUMBNAIL_SIZE = (320, 320)
_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


def make_thumbnail(path: str | Path, *, content_type: str, file_name: str) -> bytes:
    """A WebP thumbnail of the image, or FileRefused when it is a bomb or not that image."""
    limit = int(settings.HARBOR_MEDIA_MAX_IMAGE_PIXELS)
    try:
        with warnings.catch_warnings():
            # Pillow warns past MAX_IMAGE_PIXELS and raises past twice that; both refuse here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                # Only the header is read so far: the size is known, nothing is decoded.
                if image.format != _PIL_FORMATS.get(content_type):
                    raise rejected(file_name, "image", "the image is not what its bytes say.")
                width, height = image.size
                if width * height > limit:
                    raise _bomb(file_name, width, height, limit)
                image.draft("RGB", THUMBNAIL_SIZE)  # JPEG decodes at a reduced scale
                image.thumbnail(THUMBNAIL_SIZE)
                converted = image.convert("RGBA" if _has_alpha(image) else "RGB")
                out = io.BytesIO()
                converted.save(out, format="WEBP", quality=80)
                return out.getvalue()
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise rejected(file_name, "decompression_bomb", "the image is too large to open.") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise rejected(file_name, "image", "the image cannot be read.") from exc


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info


def _bomb(file_name: str, width: int, height: int, limit: int) -> FileRefused:
    return rejected(
        file_name,
        "decompression_bomb",
        f"the image is {width}×{height} pixels, more than the {limit} allowed.",
    )
