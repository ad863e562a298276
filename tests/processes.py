"""Starting and stopping the servers tests run themselves: one way for all of them.

Each server gets a process group of its own, so stopping it stops what it started too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Every server log a test's processes wrote to, and where in it they started: a failed
# test's report shows what its servers said (conftest.py), which is all CI keeps of them.
spawned_logs: list[tuple[str, Path, int]] = []


def spawn(args: list[str], log: Path, **options: Any) -> subprocess.Popen[bytes]:
    """Start ``args`` in a new session, appending its output to ``log``."""
    try:
        offset = log.stat().st_size
    except OSError:
        offset = 0
    spawned_logs.append((Path(args[0]).name + " " + " ".join(args[1:])[:80], log, offset))
    return subprocess.Popen(
        args,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **options,
    )


def written_since(log: Path, offset: int, chars: int = 6000) -> str:
    """What ``log`` got after ``offset`` (the last ``chars`` characters of it)."""
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return text[-chars:]


def _tail(log: Path, chars: int = 2000) -> str:
    return written_since(log, 0, chars)


def wait_ready(
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    what: str,
    log: Path,
    timeout: float,
    interval: float = 0.1,
) -> None:
    """Poll ``ready()`` (its OSErrors count as not yet) until it holds; stop and raise if the
    process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early; see {log}:\n{_tail(log)}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(interval)
    stop(process)
    raise RuntimeError(f"{what} did not get ready in {timeout:g} s; see {log}:\n{_tail(log)}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
