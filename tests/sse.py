"""A real SSE client for tests: reads a stream in a thread, as a browser's EventSource would."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import connect_sse

# Stream bookkeeping that is not a message event.
CONTROL = {"stream-open", "keep-alive", "message"}
# An idle stream's keep-alive on the wire: API.md's comment, then the event the page's
# silence check counts.
KEEP_ALIVE = ":keep-alive\n\nevent: keep-alive\ndata:\n\n"


def read_keep_alives(
    client: httpx.Client, path: str, *, count: int, within: float
) -> tuple[httpx.Headers, str]:
    """Open ``path`` and read until ``count`` keep-alives came, failing after ``within``
    seconds; the response's headers and the text read."""
    timeout = httpx.Timeout(within + 2, read=within + 2)
    with client.stream("GET", path, timeout=timeout) as response:
        assert response.status_code == 200
        seen = ""
        started = time.monotonic()
        for chunk in response.iter_text():
            seen += chunk
            if seen.count(KEEP_ALIVE) >= count:
                break
            assert time.monotonic() - started < within, seen[-300:]
        assert time.monotonic() - started < within
        return response.headers, seen


@dataclass
class Received:
    id: str
    event: str
    data: Any


class SSEStream:
    def __init__(
        self, client: httpx.Client, path: str, *, last_event_id: str | None = None
    ) -> None:
        self.client = client
        self.path = path
        self.last_event_id = last_event_id
        self.queue: queue.Queue[Received] = queue.Queue()
        self.status: int | None = None
        self.opened = threading.Event()
        self.closed = threading.Event()
        self.error: BaseException | None = None
        self._response: httpx.Response | None = None
        self._socket: socket.socket | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout: float = 10.0) -> SSEStream:
        self._thread.start()
        if not self.opened.wait(timeout):
            raise AssertionError(f"stream {self.path} did not open")
        return self

    def _run(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        try:
            with connect_sse(
                self.client,
                "GET",
                self.path,
                headers=headers,
                timeout=httpx.Timeout(10.0, read=60.0),
            ) as source:
                self._response = source.response
                network = source.response.extensions.get("network_stream")
                self._socket = network.get_extra_info("socket") if network is not None else None
                self.status = source.response.status_code
                if self.status != 200:
                    self.opened.set()
                    return
                for sse in source.iter_sse():
                    if sse.event == "stream-open":
                        self.opened.set()
                        continue
                    if sse.event in CONTROL:
                        continue
                    data: Any = sse.data
                    with contextlib.suppress(ValueError):
                        data = json.loads(sse.data) if sse.data else None
                    self.queue.put(Received(sse.id, sse.event, data))
        except (httpx.HTTPError, RuntimeError) as exc:
            if not self._stop:
                self.error = exc
        finally:
            self.opened.set()
            self.closed.set()

    def take(self, n: int, timeout: float = 10.0) -> list[Received]:
        out: list[Received] = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"got {len(out)} of {n} events: {[(r.event, r.id) for r in out]}"
                )
            try:
                out.append(self.queue.get(timeout=remaining))
            except queue.Empty:
                continue
        return out

    def quiet(self, seconds: float = 1.0) -> list[Received]:
        """Whatever arrives within ``seconds`` (for asserting that nothing does)."""
        time.sleep(seconds)
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out

    def close(self) -> None:
        self._stop = True
        if self._socket is not None:
            # Unblocks the reading thread at once, as a closed browser tab would.
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        if self._response is not None:
            with contextlib.suppress(Exception):
                self._response.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SSEStream:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
