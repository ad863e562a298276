"""The scanner interface: one method, scan(path)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ScanResult:
    # False when the scanner does not scan at all (no CLAMD_ADDRESS).
    scanned: bool
    # The signature found, or None for a clean file.
    signature: str | None = None

    @property
    def infected(self) -> bool:
        return self.signature is not None


class MalwareScanner:
    """Subclasses write ``scan(path)``: a ScanResult, or ScannerUnavailable when it cannot."""

    def scan(self, path: str | Path) -> ScanResult:
        raise NotImplementedError("MalwareScanner subclasses must write scan(path)")
