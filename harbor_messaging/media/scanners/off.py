"""No scanning: what runs when CLAMD_ADDRESS is unset. Files are kept as not scanned."""

from __future__ import annotations

from pathlib import Path

from .base import MalwareScanner, ScanResult


class NoScanner(MalwareScanner):
    def scan(self, path: str | Path) -> ScanResult:
        return ScanResult(scanned=False)
