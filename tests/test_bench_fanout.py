"""bench/fanout.py runs the relay's fan-out over real listeners, writers and Twisted
connections: it must keep working as that code changes, and deliver every write."""

from __future__ import annotations

from tests.benches import run_bench


def test_the_fan_out_bench_writes_every_broadcast_to_every_stream() -> None:
    summary = run_bench("fanout.py", "--streams", "40", "--broadcasts", "3")
    assert summary.startswith("bench fanout streams=40 broadcasts=3 ")
    assert " written=120 " in summary
    fields = dict(part.split("=", 1) for part in summary.split()[2:])
    assert float(fields["wall_us"]) > 0
