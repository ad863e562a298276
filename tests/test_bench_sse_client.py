"""bench/sse.py's client: which kernel receive time stands for an event's arrival."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from typing import Any

from tests.benches import ROOT, fields, run_bench

EVENT = b'event: message:new\nid: t-bench:5\ndata: {"type":"message:new","messageId":5}\n\n'
KEEP_ALIVE = b":keep-alive\n\nevent: keep-alive\ndata:\n\n"


def _client() -> tuple[Any, Any]:
    spec = importlib.util.spec_from_file_location("bench_sse", ROOT / "bench" / "sse.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_sse"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    target = module.Target("127.0.0.1", [1], "/", b"message:new", [])

    async def made() -> Any:  # the client's semaphore wants a running loop on 3.11's asyncio
        return module.Client(target, range(1), 1, 1)

    client = asyncio.run(made())
    return client, client.subs[0]


def test_an_event_read_alone_takes_the_kernels_time() -> None:
    client, sub = _client()
    client._feed(sub, None, b"", EVENT, now=10.0, kernel=1000.5)
    assert sub.received == {5: 10.0}
    assert sub.at_socket == {5: 1000.5}


def test_a_read_that_took_in_a_keep_alive_after_the_event_gives_no_socket_time() -> None:
    # The kernel's time is the read's last segment's: here the keep-alive's, which came
    # later, as when the client holds its reads (--client-hold).
    client, sub = _client()
    client._feed(sub, None, b"", EVENT + KEEP_ALIVE, now=10.0, kernel=1000.9)
    assert sub.received == {5: 10.0}
    assert sub.at_socket == {}


def test_a_held_client_reads_after_the_hold_and_times_arrivals_by_the_kernel() -> None:
    """``--client-hold``: the client processes sleep from each POST for the hold, so every
    event is read after it, while the kernel's receive times still give the arrivals
    (against the bare server, which answers in a few milliseconds)."""
    summary = run_bench(
        "sse.py",
        *("--mode", "bare", "--subscribers", "20", "--broadcasts", "3"),
        *("--interval", "1.0", "--client-hold", "0.8"),
    )
    values = fields(summary)
    assert summary.startswith("bench sse mode=bare ")
    assert values["errors"] == "0" and values["broadcasts"] == "3"
    assert values["client_hold_s"] == "0.8"
    # Read only once the hold is over (it runs from each POST's planned time, and a POST
    # that starts late shortens it by as much)...
    assert float(values["p50_ms"]) >= 600.0
    # ...but each arrived long before, as the socket's own receive time says.
    assert float(values["socket_p99_ms"]) < 400.0


def test_idle_gives_the_servers_cpu_while_the_streams_wait() -> None:
    """``--idle``: once every stream is open, the servers' CPU over the idle seconds, as a
    percent of one core (a Daphne with 20 waiting streams does next to nothing)."""
    summary = run_bench(
        "sse.py",
        *("--mode", "direct", "--subscribers", "20", "--broadcasts", "1"),
        *("--idle", "2.0"),
    )
    values = fields(summary)
    assert summary.startswith("bench sse mode=direct ")
    assert values["errors"] == "0"
    assert 0.0 <= float(values["idle_cpu_pct"]) < 25.0
