"""Malware scanners, chosen by the dotted path in ``HARBOR_MALWARE_SCANNER``."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .base import MalwareScanner, ScanResult

_scanner: MalwareScanner | None = None
_scanner_path: str | None = None


def get_scanner() -> MalwareScanner:
    """The configured scanner, loaded on first use."""
    global _scanner, _scanner_path
    path = settings.HARBOR_MALWARE_SCANNER
    if _scanner is None or _scanner_path != path:
        _scanner = import_string(path)()
        _scanner_path = path
    assert _scanner is not None
    return _scanner


__all__ = ["MalwareScanner", "ScanResult", "get_scanner"]
