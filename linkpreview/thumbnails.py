"""Preview images made safe to serve: checked by Pillow (decompression bombs refused), cut
down and re-encoded as JPEG, so nothing of the original file's bytes reaches a browser."""

from __future__ import annotations

import io
import warnings

from django.conf import settings
from PIL import Image, UnidentifiedImageError

THUMBNAIL_BOX = (640, 640)
FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
CONTENT_TYPE = "image/jpeg"


class ThumbnailError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def max_pixels() -> int:
    return int(getattr(settings, "HARBOR_MEDIA_MAX_IMAGE_PIXELS", 50_000_000))


def make_thumbnail(data: bytes) -> bytes:
    """JPEG bytes of the image, at most 640 px a side; ThumbnailError for anything else."""
    limit = max_pixels()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in FORMATS:
                    raise ThumbnailError("unsupported_image")
                width, height = image.size
                # Judged from the header, before a single pixel is decoded.
                if width <= 0 or height <= 0 or width * height > limit:
                    raise ThumbnailError("image_too_large")
                image.draft("RGB", THUMBNAIL_BOX)
                image.thumbnail(THUMBNAIL_BOX)
                if image.mode in {"RGBA", "LA"} or (
                    image.mode == "P" and "transparency" in image.info
                ):
                    rgba = image.convert("RGBA")
                    flat = Image.new("RGB", rgba.size, (255, 255, 255))
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                else:
                    flat = image.convert("RGB")
                out = io.BytesIO()
                flat.save(out, "JPEG", quality=82, optimize=True)
                return out.getvalue()
        except ThumbnailError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ThumbnailError("image_too_large") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ThumbnailError("bad_image") from exc
