"""bench/fanout.py runs the relay's fan-out over real listeners, writers and Twisted
connections: it must keep working as that code changes, and deliver every write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_fan_out_bench_writes_every_broadcast_to_every_stream() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fanout.py"), "--streams", "40", "--broadcasts", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith("bench fanout streams=40 broadcasts=3 ")
    assert " written=120 " in summary
    fields = dict(part.split("=", 1) for part in summary.split()[2:])
    assert float(fields["wall_us"]) > 0
