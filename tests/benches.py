"""Running a script of bench/ as its user would, for the tests that keep it working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *options: str) -> str:
    """Run ``bench/<script>`` with ``options``; its summary line (it must succeed)."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *options],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()[-1]


def fields(summary: str) -> dict[str, str]:
    """A summary line's ``key=value`` fields."""
    return dict(part.split("=", 1) for part in summary.split() if "=" in part)
