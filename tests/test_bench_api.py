"""bench/api.py as its user runs it: on SQLite, small, its summary line readable; and
--keep then --reuse, measuring again on the database the first run left."""

from __future__ import annotations

from pathlib import Path

from tests.benches import ROOT, fields, run_bench

SMALL = [
    "--messages", "300", "--members", "48", "--sends", "20", "--rounds", "1",
    "--send-workers", "2", "--worker-sends", "5", "--worker-warmup", "3",
    "--broadcast-members", "20", "--tenant-sends", "2", "--tenant-send-members", "10",
]  # fmt: skip


def test_the_summary_line_holds_every_measure_and_reuse_measures_again() -> None:
    database = ROOT / "var" / "bench" / "bench-300.sqlite3"
    try:
        first = fields(run_bench("api.py", *SMALL, "--keep"))
        assert first["messages"] == "300"
        assert first["inbox_queries"] == "3" and first["unread_queries"] == "1"
        for key in ("sends_per_s", "workers_sends_per_s", "tenant_send_p50_ms"):
            assert float(first[key]) > 0, key
        assert float(first["broadcast_20_published_s"]) <= float(first["broadcast_20_s"])
        assert database.exists()
        again = fields(run_bench("api.py", *SMALL, "--reuse"))
        # The same database: no seed, no broadcast or tenant sends (their tenants exist).
        assert float(again["workers_sends_per_s"]) > 0
        assert "broadcast_20_s" not in again and "tenant_send_p50_ms" not in again
        assert database.exists()
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(database) + suffix).unlink(missing_ok=True)
