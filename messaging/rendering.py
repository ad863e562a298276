"""Message bodies as safe HTML: every character escaped, URLs made into links, nothing else."""

from __future__ import annotations

from typing import Any

import bleach
from bleach.linkifier import Linker

_ALLOWED_PROTOCOLS = ["http", "https", "mailto"]


def _link_attributes(attrs: dict[Any, str], new: bool = False) -> dict[Any, str] | None:
    href = attrs.get((None, "href"), "")
    scheme = href.split(":", 1)[0].lower() if ":" in href else ""
    if scheme not in _ALLOWED_PROTOCOLS:
        return None  # Leave it as text.
    attrs[(None, "rel")] = "noopener noreferrer nofollow"
    if scheme != "mailto":
        attrs[(None, "target")] = "_blank"
    return attrs


_linker = Linker(callbacks=[_link_attributes], skip_tags=["pre", "code"], parse_email=False)


def render_body_html(body: str) -> str:
    """Escape the whole body, then linkify; newlines become <br>."""
    escaped: str = bleach.clean(
        body, tags=set(), attributes={}, strip=False, protocols=_ALLOWED_PROTOCOLS
    )
    linked: str = _linker.linkify(escaped)
    return linked.replace("\n", "<br>\n")
