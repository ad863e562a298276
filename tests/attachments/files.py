"""Files for the attachment tests, made here: images, a PDF, EICAR, a bomb, an executable."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

from PIL import Image

# The EICAR test file: harmless, and every scanner's test signature (its MD5 is in the .hdb
# file the clamd tests write).
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_MD5 = "44d88612fea8a8f36de82e1278abb02f"


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (10, 88, 166)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def pdf(extra: bytes = b"") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n" + extra + b"\n%%EOF\n"
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack("!I", len(data))
        + kind
        + data
        + struct.pack("!I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims 10 gigapixels: decoding it would take gigabytes."""
    header = struct.pack("!IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = zlib.compress(b"\0" * (1 + width // 8) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", row) + _chunk(b"IEND", b"")
    )


def executable() -> bytes:
    """A real ELF executable's bytes (this machine's /bin/true)."""
    return Path(shutil.which("true") or "/bin/true").read_bytes()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>\n"
)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n"
