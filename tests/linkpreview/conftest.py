"""Loopback web servers the link preview tests start themselves, each recording every
request it gets, and settings that open loopback to the fetcher only where a test says."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import io
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from linkpreview.backends import safe_requests
from tests.live import DaphneServer

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    handler: Handler | None = None
    delay: float = 0.0


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # A client that hangs up (the fetcher cutting a page off) is what tests do.


class PageServer:
    """An HTTP server on a loopback address; ``hits`` lists the paths it was asked for."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class RequestHandler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.hits.append(self.path)
                    server.requests.append({k.lower(): v for k, v in self.headers.items()})
                route = server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not found")
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.handler is not None:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
                        route.handler(self)
                    return
                self.send_response(route.status)
                headers = {"Content-Type": "text/html; charset=utf-8", **route.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(route.body)

        self.httpd = _Server((host, 0), RequestHandler)
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def page(self, path: str, html: str | bytes, **kwargs: Any) -> str:
        body = html.encode("utf-8") if isinstance(html, str) else html
        self.routes[path] = Route(body=body, **kwargs)
        return self.url(path)

    def handle(self, path: str, handler: Handler) -> str:
        self.routes[path] = Route(handler=handler)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, headers={"Location": location})
        return self.url(path)

    def start(self) -> PageServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def pages() -> Iterator[PageServer]:
    """The server the tests may fetch from (127.0.0.1)."""
    server = PageServer("127.0.0.1").start()
    yield server
    server.stop()


@pytest.fixture
def forbidden() -> Iterator[PageServer]:
    """A server at a loopback address the fetcher is never allowed (127.0.0.2): a stand-in
    for an internal service. Every test that uses it checks it was never asked."""
    server = PageServer("127.0.0.2").start()
    server.page("/secret", "<title>internal secret</title>")
    yield server
    server.stop()


@pytest.fixture
def open_loopback(settings: Any, pages: PageServer) -> Callable[..., None]:
    """open_loopback() lets the fetcher reach 127.0.0.0/8 (or the networks given) on the
    test servers' ports; tests that do not call it check that loopback stays refused."""

    def allow(networks: tuple[str, ...] = ("127.0.0.0/8",), *ports: int) -> None:
        settings.LINKPREVIEW_ALLOW_NETWORKS = list(networks)
        settings.LINKPREVIEW_PORTS = [80, 443, pages.port, *ports]

    return allow


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Names to answer for, in place of the resolver the fetcher uses: {name: [answers]},
    each answer a list of addresses; the last answer repeats. ``calls`` counts lookups."""
    import ipaddress

    table: dict[str, list[Any]] = {"calls": []}

    def resolve(host: str, port: int) -> list[Any]:
        table["calls"].append(host)
        answers = table.get(host)
        if not answers:
            raise OSError(f"no such name {host}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return [ipaddress.ip_address(a) for a in answer]

    monkeypatch.setattr(safe_requests, "resolve_host", resolve)
    return table


def gzip_bomb(megabytes: int) -> bytes:
    """A gzip body of ``megabytes`` MB of zeros (about a thousandth of that on the wire)."""
    chunk = b"\0" * (1024 * 1024)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as writer:
        for _ in range(megabytes):
            writer.write(chunk)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    server = PageServer("127.0.0.1").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def preview_daphne(django_db_setup: Any, django_db_blocker: Any, site: PageServer) -> Iterator[Any]:
    """A Daphne that runs its own preview worker and may fetch from the test's site."""
    server = DaphneServer(
        env={
            "LINKPREVIEW_ALLOW_NETWORKS": "127.0.0.0/8",
            "LINKPREVIEW_PORTS": f"80,443,{site.port}",
            "LINKPREVIEW_WORKER": "thread",
        }
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
