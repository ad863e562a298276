"""A loopback TCP relay in front of a test server that can make its event streams go silent.

``silence_streams()`` stops passing anything on the connections that carried a request for
an event stream, in both directions, and keeps them open: what a proxy that dropped the
stream, or a half-open connection, looks like to a browser. New connections pass as before.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

STREAM_REQUEST = b"GET /api/messaging/stream/"


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.stream = False  # has carried a stream request
        self.silent = False

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class SilencingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.pairs: list[_Pair] = []
        self.lock = threading.Lock()
        self.stream_requests = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> SilencingProxy:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.running = False
        self.listener.close()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            pair.close()
        self.thread.join(timeout=5)

    def silence_streams(self) -> int:
        """Silence every stream connection open now; how many."""
        with self.lock:
            streams = [pair for pair in self.pairs if pair.stream and not pair.silent]
            for pair in streams:
                pair.silent = True
        return len(streams)

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = _Pair(client, upstream)
            with self.lock:
                self.pairs.append(pair)
            for source, sink, requests in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(pair, source, sink, requests), daemon=True
                ).start()

    def _pump(
        self, pair: _Pair, source: socket.socket, sink: socket.socket, requests: bool
    ) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if requests and STREAM_REQUEST in data:
                    with self.lock:
                        pair.stream = True
                        self.stream_requests += 1
                if not pair.silent:
                    sink.sendall(data)
                # A silenced connection reads on and passes nothing: neither side is told.
        except OSError:
            pass
        finally:
            pair.close()
            with self.lock:
                if pair in self.pairs:
                    self.pairs.remove(pair)
