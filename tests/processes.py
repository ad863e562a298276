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


def spawn(args: list[str], log: Path, **options: Any) -> subprocess.Popen[bytes]:
    """Start ``args`` in a new session, appending its output to ``log``."""
    return subprocess.Popen(
        args,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **options,
    )


def _tail(log: Path, chars: int = 2000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


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
