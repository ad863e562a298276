"""bench/sockets.py, the machine's floor for a fan-out: both ways of sending must deliver
every round to every socket."""

from __future__ import annotations

import importlib.util

import pytest

from tests.benches import ROOT, run_bench


def _bench_module() -> object:
    spec = importlib.util.spec_from_file_location("bench_sockets", ROOT / "bench" / "sockets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _io_uring_available() -> bool:
    try:
        _bench_module().Ring(8)  # type: ignore[attr-defined]
    except OSError:  # an old kernel, io_uring_disabled, or a seccomp filter
        return False
    return True


@pytest.mark.parametrize("way", ["send", "uring"])
def test_every_round_reaches_every_socket(way: str) -> None:
    if way == "uring" and not _io_uring_available():
        pytest.skip("io_uring is not available here")
    options = ["--sockets", "40", "--rounds", "3", "--interval", "0.05", "--threads", "2"]
    options += ["--way", way, "--reader-sleep", "0.01"]
    summary = run_bench("sockets.py", *options)
    assert summary.startswith(f"bench sockets sockets=40 threads=2 rounds=3 way={way} ")
    assert summary.endswith(" reader_ok=True")
    if way == "uring":
        assert " enter_share=" in summary


def test_io_uring_answers_a_full_socket_at_once() -> None:
    """MSG_DONTWAIT: a send to a socket whose buffer is full is -EAGAIN, not a wait (which
    would hold a fan-out until that one client read)."""
    if not _io_uring_available():
        pytest.skip("io_uring is not available here")
    import errno
    import socket

    ring = _bench_module().Ring(8)  # type: ignore[attr-defined]
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        assert ring.send_all([(ours.fileno(), b"hello")]) == [5]
        assert theirs.recv(16) == b"hello"
        try:
            while True:
                ours.send(b"x" * 65536)
        except BlockingIOError:
            pass
        assert ring.send_all([(ours.fileno(), b"late")] * 2) == [-errno.EAGAIN] * 2
