"""Servers that tests start on their own ports (never the machine's shared ones)."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx

from .live import free_port
from .processes import spawn, stop, wait_ready


class RedisServer:
    """A throwaway redis-server that keeps nothing on disk; restartable on the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        log = Path(tempfile.gettempdir()) / f"harbor-test-redis-{self.port}.log"
        self.process = spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            log,
        )

        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        wait_ready(
            self.process, ready, what="redis-server", log=log, timeout=timeout, interval=0.05
        )
        return self

    def stop(self) -> None:
        """Killed, not shut down: the restart tests want a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _HoldProbe(http.server.BaseHTTPRequestHandler):
    """Answers every request with a GRIP stream hold, as the stream view does."""

    def do_GET(self) -> None:
        body = b"held\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Grip-Hold", "stream")
        self.send_header("Grip-Channel", "pushpin-ready-probe")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ProbeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


_probe: _ProbeServer | None = None
_probe_lock = threading.Lock()


def hold_probe_port() -> int:
    """The port of this process's hold probe (started on first use, for the run)."""
    global _probe
    with _probe_lock:
        if _probe is None:
            _probe = _ProbeServer(("127.0.0.1", 0), _HoldProbe)
            threading.Thread(target=_probe.serve_forever, name="pushpin-probe", daemon=True).start()
        return int(_probe.server_address[1])


class PushpinServer:
    """A Pushpin of the test's own, in front of one upstream, on its own ports and run dir."""

    SIG_KEY = "harbor-test-grip-key"
    # Routed to the hold probe rather than the upstream (see start).
    PROBE_PATH = "/__pushpin-ready"

    def __init__(self, upstream_port: int, workdir: Path) -> None:
        self.upstream_port = upstream_port
        self.workdir = workdir
        self.http_port = free_port()
        self.publish_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.zurl: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return (
            shutil.which("pushpin") is not None
            and shutil.which("zurl") is not None
            and Path("/etc/pushpin/pushpin.conf").exists()
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grip_url(self) -> str:
        return f"http://127.0.0.1:{self.publish_port}?iss=pushpin&key={self.SIG_KEY}"

    def _config(self) -> Path:
        run = self.workdir / "run"
        log = self.workdir / "log"
        run.mkdir(parents=True, exist_ok=True)
        log.mkdir(parents=True, exist_ok=True)
        (self.workdir / "routes").write_text(
            f"*,path_beg={self.PROBE_PATH} 127.0.0.1:{hold_probe_port()}\n"
            f"* 127.0.0.1:{self.upstream_port}\n"
        )
        ipc = f"ipc://{run}/pp-"
        replace = {
            "rundir": str(run),
            "ipc_prefix": f"t{self.http_port}-",
            "http_port": str(self.http_port),
            "logdir": str(log),
            "routesfile": str(self.workdir / "routes"),
            "sig_key": self.SIG_KEY,
            "push_in_spec": ipc + "push-in",
            "push_in_sub_specs": ipc + "push-in-sub",
            "push_in_http_port": str(self.publish_port),
            "command_spec": ipc + "command",
            "updates_check": "off",
        }
        lines = []
        for line in Path("/etc/pushpin/pushpin.conf").read_text().splitlines():
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.lstrip().startswith("#") and key in replace:
                line = f"{key}={replace[key]}"
            lines.append(line)
            if line.strip() == "[proxy]":
                # Pushpin reaches its upstream through zurl; ours, not the system's.
                lines.append(f"zurl_out_specs={ipc}zurl-in")
                lines.append(f"zurl_out_stream_specs={ipc}zurl-in-stream")
                lines.append(f"zurl_in_specs={ipc}zurl-out")
        config = self.workdir / "pushpin.conf"
        config.write_text("\n".join(lines) + "\n")
        (self.workdir / "zurl.conf").write_text(
            "[General]\n"
            f"in_spec={ipc}zurl-in\n"
            f"in_stream_spec={ipc}zurl-in-stream\n"
            f"out_spec={ipc}zurl-out\n"
            f"in_req_spec={ipc}zurl-req\n"
            "defpolicy=allow\nmax_open_requests=2000\nbuffer_size=200000\ntimeout=600\n"
        )
        return config

    def start(self, timeout: float = 20.0) -> PushpinServer:
        config = self._config()
        self.zurl = spawn(
            ["zurl", f"--config={self.workdir / 'zurl.conf'}"], self.workdir / "zurl.out"
        )
        self.process = spawn(
            [
                "pushpin",
                "--config",
                str(config),
                "--merge-output",
                "--port",
                f"127.0.0.1:{self.http_port}",
            ],
            self.workdir / "pushpin.out",
        )

        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", self.publish_port), timeout=0.5):
                pass
            # Its port answers before its proxy and zurl are ready, and its proxy before its
            # handler takes holds: in CI a stream opened right after start got a 500
            # (pushpin-proxy answers "Accept service unavailable" with one), and here one
            # never got its headers. Wait for a round trip to the upstream and for a held
            # stream's first bytes.
            try:
                if httpx.get(self.url + "/healthz", timeout=2.0).status_code != 200:
                    return False
                probe = self.url + self.PROBE_PATH
                with httpx.stream("GET", probe, timeout=httpx.Timeout(2.0, read=1.0)) as held:
                    if held.status_code != 200:
                        return False
                    return next(held.iter_raw(), b"").startswith(b"held")
            except httpx.HTTPError:
                return False

        try:
            wait_ready(
                self.process,
                ready,
                what="pushpin",
                log=self.workdir / "pushpin.out",
                timeout=timeout,
            )
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        stop(self.process)
        stop(self.zurl)
        self.process = None
        self.zurl = None
