"""File names as users see them: no path, no control or bidi characters, a sane length."""

from __future__ import annotations

import re
import unicodedata

from .errors import FileRefused, rejected
from .models import NAME_MAX

# C0 and C1 controls, DEL, and the bidi embeddings, overrides and isolates that make a name
# read differently from how it is stored ("invoice\u202egpj.exe").
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def display_form(raw: str) -> str:
    """The name with forbidden characters shown as escapes, safe to echo in an error."""
    return _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", raw)[:NAME_MAX]


def clean_file_name(raw: str) -> str:
    """The last path segment, NFC, without control or bidi characters, trimmed to length.

    Django's multipart parser already drops paths and non-printable characters; this does
    the same for every name however it arrived. A name with nothing left is refused.
    """
    name = unicodedata.normalize("NFC", raw or "")
    # Browsers send C:\fakepath\x.pdf or a dropped folder's a/b/x.pdf: keep the last part.
    name = re.split(r"[/\\]", name)[-1]
    name = _FORBIDDEN.sub("", name).strip()
    if name in {"", ".", ".."}:
        raise rejected(
            display_form(raw) or "(no name)", "file_name", "the file has no usable name."
        )
    if len(name) > NAME_MAX:
        _stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        name = name[: NAME_MAX - len(keep) - 1].rstrip() + ("." + keep if keep else "")
        name = name[:NAME_MAX]
    return name


def ascii_fallback(name: str) -> str:
    """An ASCII stand-in for the name (for headers that want one)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"[^A-Za-z0-9._ -]", "_", folded).strip(" .")
    return folded or "download"


__all__ = ["FileRefused", "ascii_fallback", "clean_file_name", "display_form"]
