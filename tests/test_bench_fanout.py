"""bench/fanout.py runs the relay's fan-out over real listeners, writers and Twisted
connections: it must keep working as that code changes, and deliver every write."""

from __future__ import annotations

from tests.benches import fields, run_bench


def test_the_fan_out_bench_writes_every_broadcast_to_every_stream() -> None:
    summary = run_bench("fanout.py", "--streams", "40", "--broadcasts", "3")
    assert summary.startswith("bench fanout streams=40 broadcasts=3 ")
    assert " written=120 " in summary
    values = fields(summary)
    assert float(values["wall_us"]) > 0
