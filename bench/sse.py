"""Benchmark of the event stream: N subscribers on one tenant, a broadcast every second.

    .venv/bin/python bench/sse.py --subscribers 1000 --broadcasts 10
    .venv/bin/python bench/sse.py --subscribers 10000 --mode direct
    .venv/bin/python bench/sse.py --subscribers 1000 --mode all \\
        --database-url postgres://postgres@127.0.0.1:5432

Modes: ``direct`` (the product on Daphne), ``pushpin`` (the product behind a Pushpin and
zurl of the bench's own, GRIP_URL set; ``--pushpins N`` for N of them in front of the one
Daphne, GRIP_URL listing them all), ``stock`` (django-eventstream 5.3.4 out of the box,
the tiny project in bench/stock/), ``bare`` (bench/bare.py: an asyncio server with no
framework and no database, writing the same bytes to every stream: the floor of what
any server reaches with this client on this machine), ``all`` (direct, pushpin and
stock, one after another).

The client runs in processes of its own, at most 12,000 streams each
(``--client-processes``), since a process needs a descriptor per stream; its connections
come from 127.0.0.1, .2, ... (5,000 per address), as one address reaches ~28k ports.

For the product it seeds one tenant with N subscribers in bulk (users, memberships and
Django sessions written directly, so no subscriber logs in), starts Daphne on a free
loopback port, opens N SSE connections with a small asyncio client, waits until every one
has had ``stream-open``, and takes Daphne's RSS before and after (memory per idle stream).
Then a tenant admin, logged in through the real form, POSTs /api/messaging/send to "all"
every --interval seconds; each subscriber records when the ``message:new`` arrived.
Latency is POST start → the event's arrival at that subscriber, twice over: when the
client read it (``p50_ms``, ``p99_ms``), and when the subscriber's socket received it, by
the kernel's own receive timestamp (``socket_p50_ms``, ``socket_p99_ms``, SO_TIMESTAMPNS).
The second leaves out the client's own queue: one client process reads every stream one
after another on a core the server also uses, where each real subscriber has a machine of
its own. With ``--client-hold S`` the client leaves every socket unread for S seconds
from each POST (its process sleeps), so the server has both cores while it fans out; then
only the socket figures mean anything (the read ones are S and more). Every subscriber
must get every broadcast exactly once; anything else is counted
in errors. Each mode prints one
line ``bench sse mode=...`` for scripts.

Its databases are its own: SQLite files under var/bench/sse/, or on PostgreSQL a database
it creates (``harbor_bench_sse``) through the ``postgres`` maintenance database and drops
afterwards. Every server it starts is its own, on free loopback ports, and is stopped at
the end; every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench" / "sse"
TENANT_SLUG = "bench"
ADMIN_USERNAME = "bench-admin"
ADMIN_PASSWORD = "bench-admin-password-7Qx"
SECRET_KEY = "harbor-bench-sse-only-secret-key-0123456789abcdef"
MESSAGE_ID = re.compile(rb'"messageId":\s*(\d+)')
# Connections per source address: one address reaches ~28k ephemeral ports; stay well below.
PER_ADDRESS = 5000
# Streams per client process: a process needs a descriptor per stream, and where the hard
# RLIMIT_NOFILE cannot be raised (20,000 in this sandbox) one process cannot hold 20,000.
PER_CLIENT = 12_000
# Linux's SO_TIMESTAMPNS (asm-generic/socket.h; its control message has the same number),
# which Python's socket module does not name: recvmsg then carries the time the kernel
# received the bytes, a struct timespec of CLOCK_REALTIME.
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("qq")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000, help="SSE connections")
    parser.add_argument("--broadcasts", type=int, default=10, help="messages sent to all")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between sends")
    parser.add_argument(
        "--mode",
        choices=["direct", "pushpin", "stock", "bare", "all"],
        default="all",
        help="set-up",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="postgres://user@host:port (the server only); default: SQLite under var/bench/sse/",
    )
    parser.add_argument("--pg-database", default="harbor_bench_sse", help="database to create")
    parser.add_argument("--open-concurrency", type=int, default=64, help="opens in flight")
    parser.add_argument(
        "--open-timeout", type=float, default=0.0, help="seconds to open all (default by N)"
    )
    parser.add_argument(
        "--pushpin-message-rate",
        type=int,
        default=0,
        help="override Pushpin's [handler] message_rate (default: the packaged config's)",
    )
    parser.add_argument(
        "--pushpin-settle-timeout",
        type=float,
        default=240.0,
        help="seconds to wait for Pushpin's recover request per held stream",
    )
    parser.add_argument(
        "--deliver-timeout",
        type=float,
        default=30.0,
        help="seconds after the last broadcast for every subscriber to have every one",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="direct mode: Daphne processes sharing the streams over Redis (one per core)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/0",
        help="Redis for --processes > 1 (the bench's own key prefix; nothing is flushed)",
    )
    parser.add_argument(
        "--pushpins",
        type=int,
        default=1,
        help="pushpin mode: Pushpins in front of the one Daphne (GRIP_URL lists them all); "
        "subscriber i connects to Pushpin i mod N",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=0,
        help=f"processes the SSE client is spread over (default: one per {PER_CLIENT:,} "
        "subscribers, as a process holds one descriptor per stream)",
    )
    parser.add_argument(
        "--client-hold",
        type=float,
        default=0.0,
        help="seconds the client leaves its sockets unread from each broadcast's POST "
        "(0: read at once); the kernel's receive times still give each arrival, and the "
        "server has both cores while it fans out",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=0.0,
        help="seconds the streams sit idle once open, before the broadcasts: the servers' "
        "CPU over them is printed as idle_cpu_pct (percent of one core; keep-alives and "
        "housekeeping)",
    )
    args = parser.parse_args(argv)
    if args.idle < 0:
        parser.error("--idle must be at least 0")
    if not 0.0 <= args.client_hold < args.interval:
        parser.error("--client-hold must be at least 0 and less than --interval")
    if args.database_url and urlsplit(args.database_url).scheme not in {
        "postgres",
        "postgresql",
    }:
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if not args.pg_database.startswith("harbor_bench"):
        parser.error("--pg-database must start with harbor_bench, so no other database is hit")
    if not 1 <= args.subscribers <= 50_000 or not 1 <= args.broadcasts <= 1000:
        parser.error("--subscribers must be 1..50000 and --broadcasts 1..1000")
    if not 1 <= args.pushpins <= 8 or not 0 <= args.client_processes <= 16:
        parser.error("--pushpins must be 1..8 and --client-processes 0..16")
    if not args.client_processes:
        args.client_processes = math.ceil(args.subscribers / PER_CLIENT)
    if not args.open_timeout:
        args.open_timeout = max(60.0, args.subscribers / 40)
    return args


# -- the machine -----------------------------------------------------------------------------


# Descriptors for the client's sockets and, inherited, Pushpin's and Daphne's: 20,000
# streams through Pushpin need 20,000 in the client and as many again in Pushpin.
WANT_NOFILE = 100_000


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < WANT_NOFILE:
        # Only root may raise the hard limit (up to fs.nr_open); others keep theirs.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (WANT_NOFILE, WANT_NOFILE))
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_field(pid: int, name: str) -> int:
    """A number from /proc/<pid>/status (VmRSS in kB, Threads), 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def stat_fields(pid: int | str) -> list[str]:
    """/proc/<pid>/stat after the command's name (stat(5)'s fields from the 3rd on); [] when
    the process is gone. (bench/api.py's backend_cpu_seconds reads the same: the benches are
    scripts of their own and share no module.)"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (utime and stime); 0 when it is gone."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def group_rss_kb(pgid: int) -> int:
    """The VmRSS of every process in a process group (Pushpin runs several)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat_fields(entry.name)
            if fields and int(fields[2]) == pgid:
                total += status_field(int(entry.name), "VmRSS")
    return total


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = status_or_meminfo()
    return (
        f"nproc={os.cpu_count()} cpu={cpu!r} mem_gib={mem_kb / 1024 / 1024:.1f} "
        f"kernel={os.uname().release} python={sys.version.split()[0]}"
    )


def status_or_meminfo() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


# -- servers ---------------------------------------------------------------------------------


class Process:
    """A server in its own process group, with its output in a log file."""

    def __init__(
        self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str], log: Path
    ) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_http(self, url: str, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {url}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)


def start_daphne(
    name: str, port: int, app: str, *, cwd: Path, env: dict[str, str], timeout: float = 30.0
) -> Process:
    server = Process(
        name,
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
        cwd=cwd,
        env=env,
        log=BENCH_DIR / f"{name}-{port}.log",
    )
    try:
        server.wait_http(f"http://127.0.0.1:{port}/healthz", timeout)
    except BaseException:
        server.stop()
        raise
    return server


def harbor_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("REDIS_URL", "GRIP_URL", "HARBOR_EVENT_PUBLISHER"):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "harbor_messaging.settings",
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_DEBUG": "0",
            "HARBOR_SECURE_COOKIES": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HARBOR_DATA_DIR": str(BENCH_DIR),
            "HARBOR_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # The bench opens thousands of streams for thousands of users in seconds, from a
            # few loopback addresses: far past the per-IP and per-tenant open limits meant
            # for real traffic (600 and 3,000 a minute), which would answer most of them 429.
            "HARBOR_RATE_STREAM_IP": "1000000/60",
            "HARBOR_RATE_STREAM_TENANT": "1000000/60",
            "HARBOR_RATE_SEND_USER": "100000/60",
            "HARBOR_RATE_SEND_IP": "100000/60",
            "HARBOR_RATE_SEND_TENANT": "100000/60",
        }
    )
    env.update(extra)
    return env


def start_pushpin(upstream_port: int, message_rate: int, number: int = 1) -> Any:
    """The tests' PushpinServer (its own ports, run dir and zurl), optionally re-rated."""
    sys.path.insert(0, str(ROOT))
    from tests.services import PushpinServer

    class BenchPushpin(PushpinServer):  # type: ignore[misc]
        def _config(self) -> Path:
            config: Path = super()._config()
            if message_rate:
                lines = [
                    f"message_rate={message_rate}" if line.startswith("message_rate=") else line
                    for line in config.read_text().splitlines()
                ]
                config.write_text("\n".join(lines) + "\n")
            return config

    if not PushpinServer.available():
        raise RuntimeError("pushpin and zurl are not installed (apt-get install pushpin zurl)")
    workdir = BENCH_DIR / f"pushpin-{upstream_port}-{number}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return BenchPushpin(upstream_port, workdir)


# -- the product's database and world ---------------------------------------------------------


def _server_url(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    # The server's own options (?pool=, ?conn_max_age=) are Django's, not libpq's.
    admin = urlunsplit(urlsplit(_server_url(url, "postgres"))._replace(query=""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


@contextlib.contextmanager
def own_database(args: argparse.Namespace) -> Iterator[str]:
    """Create the product's bench database, yield its URL, and remove it afterwards."""
    if args.database_url:
        name = args.pg_database
        _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        _pg_admin(args.database_url, f"CREATE DATABASE {_quote(name)}")
        try:
            yield _server_url(args.database_url, name)
        finally:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            if not args.keep:
                _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        return
    path = BENCH_DIR / "harbor.sqlite3"
    _remove_sqlite(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not args.keep:
            _remove_sqlite(path)


def setup_django(database_url: str) -> None:
    os.environ.update(harbor_env({"DATABASE_URL": database_url}))
    for name in ("REDIS_URL", "GRIP_URL", "HARBOR_EVENT_PUBLISHER"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(subscribers: int) -> list[str]:
    """One tenant, one tenant admin, N subscribers with a session each; the session keys."""
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone

    from harbor_messaging.tenants.models import Membership, Tenant

    backend = "django.contrib.auth.backends.ModelBackend"
    with transaction.atomic():
        tenant = Tenant.objects.create(slug=TENANT_SLUG, name="Bench Harbour")
        admin = User.objects.create(
            username=ADMIN_USERNAME, password=make_password(ADMIN_PASSWORD), first_name="Admin"
        )
        Membership.objects.create(user=admin, tenant=tenant, role=Membership.Role.TENANT_ADMIN)
        User.objects.bulk_create(
            [
                User(username=f"sub{i:05d}", first_name=f"Sub{i}", password="!")
                for i in range(subscribers)
            ],
            batch_size=2000,
        )
        users = list(User.objects.filter(username__startswith="sub").order_by("id"))
        Membership.objects.bulk_create(
            [Membership(user=u, tenant=tenant) for u in users], batch_size=2000
        )
        store = SessionStore()
        expire = timezone.now() + timedelta(days=1)
        sessions = [
            Session(
                session_key=secrets.token_hex(16),
                session_data=store.encode(
                    {
                        "_auth_user_id": str(u.pk),
                        "_auth_user_backend": backend,
                        "_auth_user_hash": u.get_session_auth_hash(),
                    }
                ),
                expire_date=expire,
            )
            for u in users
        ]
        Session.objects.bulk_create(sessions, batch_size=2000)
    return [s.session_key for s in sessions]


# -- the SSE client --------------------------------------------------------------------------


class ChunkedDecoder:
    """HTTP/1.1 chunked transfer coding, decoded incrementally."""

    def __init__(self) -> None:
        self.buf = b""
        self.left = 0  # bytes of chunk data still to come
        self.crlf = False  # the CRLF after a chunk's data is still to come
        self.done = False

    def feed(self, data: bytes) -> bytes:
        self.buf += data
        out = []
        while not self.done:
            if self.left:
                take = self.buf[: self.left]
                self.buf = self.buf[len(take) :]
                self.left -= len(take)
                out.append(take)
                if self.left:
                    break
                continue
            if self.crlf:
                if len(self.buf) < 2:
                    break
                self.buf = self.buf[2:]
                self.crlf = False
            end = self.buf.find(b"\r\n")
            if end < 0:
                break
            size = int(self.buf[:end].split(b";", 1)[0], 16)
            self.buf = self.buf[end + 2 :]
            if size == 0:
                self.done = True
                break
            self.left = size
            self.crlf = True
        return b"".join(out)


@dataclass
class Subscriber:
    index: int
    opened: bool = False
    closed: bool = False
    error: str = ""
    received: dict[int, float] = field(default_factory=dict)
    # The same arrivals by the kernel's receive timestamp (time.time()'s clock).
    at_socket: dict[int, float] = field(default_factory=dict)
    duplicates: int = 0
    unexpected: list[str] = field(default_factory=list)
    # Once open: bytes as they came, with the time the client read them and the kernel's
    # receive timestamp (None if it gave none), parsed off the hot path.
    pending: list[tuple[float, float | None, bytes]] = field(default_factory=list)


class Arrivals:
    """An open stream's reading side: note each chunk's arrival times and nothing else.

    A reader task per stream (asyncio streams) costs a task wake-up and the parsing per
    chunk on the client's core while a broadcast is arriving; with thousands of streams
    that was the client, not the server, setting the last arrival. Chunks are parsed by
    Client.parse_pending a few milliseconds later, with the times they arrived.

    It reads the socket itself, with recvmsg, for the kernel's receive timestamp that
    asyncio's transports do not pass on: the stream's descriptor is duplicated and
    asyncio's transport closed (which closes only its own descriptor, sends no FIN), so
    the stream has one descriptor again, this one's.
    """

    def __init__(self, client: Client, sub: Subscriber, sock: socket.socket) -> None:
        self.client = client
        self.sub = sub
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.ancillary = socket.CMSG_SPACE(TIMESPEC.size)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(65536, self.ancillary)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        kernel = None
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                seconds, nanoseconds = TIMESPEC.unpack_from(raw)
                kernel = seconds + nanoseconds / 1e9
        self.data_received(data, kernel)

    def data_received(self, data: bytes, kernel: float | None = None) -> None:
        if not self.sub.pending:
            self.client.dirty.append(self.sub)
        self.sub.pending.append((time.monotonic(), kernel, data))

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass
class Target:
    host: str
    ports: list[int]  # subscriber i connects to ports[i % len(ports)]
    path: str
    event: bytes  # the event name that carries a broadcast
    cookies: list[str]  # per subscriber, "" for none


class Client:
    """Raw asyncio SSE connections (subscribers ``indices`` of ``total``); records when each
    broadcast reached each one."""

    def __init__(self, target: Target, indices: range, total: int, concurrency: int) -> None:
        self.target = target
        self.subs = [Subscriber(i) for i in indices]
        self.opened = 0
        self.open_gate = asyncio.Semaphore(concurrency)
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.stopping = False
        self.dirty: list[Subscriber] = []
        self.parsers: dict[int, tuple[ChunkedDecoder | None, list[bytes]]] = {}
        addresses = max(1, math.ceil(total / PER_ADDRESS))
        self.sources = [f"127.0.0.{1 + i}" for i in range(addresses)]

    @property
    def failed(self) -> int:
        return sum(1 for s in self.subs if s.closed and not s.opened)

    def start(self) -> None:
        for sub in self.subs:
            self.tasks.append(asyncio.create_task(self._run(sub)))
        self.tasks.append(asyncio.create_task(self._parse_loop()))

    def parse_pending(self) -> None:
        dirty, self.dirty = self.dirty, []
        for sub in dirty:
            decoder, buf = self.parsers[sub.index]
            chunks, sub.pending = sub.pending, []
            for now, kernel, data in chunks:
                buf[0] = self._feed(sub, decoder, buf[0], data, now, kernel)

    async def _parse_loop(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.parse_pending()

    def _request(self, sub: Subscriber) -> bytes:
        t = self.target
        cookie = t.cookies[sub.index] if t.cookies else ""
        lines = [
            f"GET {t.path} HTTP/1.1",
            f"Host: 127.0.0.1:{t.ports[sub.index % len(t.ports)]}",
            "Accept: text/event-stream",
            "Cache-Control: no-cache",
        ]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _mark_open(self, sub: Subscriber) -> None:
        if not sub.opened:
            sub.opened = True
            self.opened += 1

    def _events(self, sub: Subscriber, block: bytes, now: float, kernel: float | None) -> None:
        event = b"message"
        data = b""
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                event = line[6:].strip()
            elif line.startswith(b"data:"):
                data += line[5:]
        if not data and event == b"message":
            return  # a comment (keep-alive, padding)
        if event == self.target.event:
            match = MESSAGE_ID.search(data)
            if match is None:
                sub.unexpected.append("no messageId")
                return
            message_id = int(match.group(1))
            if message_id in sub.received:
                sub.duplicates += 1
            else:
                sub.received[message_id] = now
                if kernel is not None:
                    sub.at_socket[message_id] = kernel
        elif event == b"stream-open":
            self._mark_open(sub)
        elif event != b"keep-alive":
            sub.unexpected.append(event.decode(errors="replace"))

    async def _run(self, sub: Subscriber) -> None:
        t = self.target
        source = self.sources[sub.index % len(self.sources)]
        writer: asyncio.StreamWriter | None = None
        arrivals: Arrivals | None = None
        try:
            async with self.open_gate:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        t.host, t.ports[sub.index % len(t.ports)], local_addr=(source, 0)
                    ),
                    30,
                )
                self.writers.append(writer)
                writer.write(self._request(sub))
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
                status = int(head.split(b" ", 2)[1])
                if status != 200:
                    sub.error = f"status {status}"
                    return
                chunked = b"transfer-encoding: chunked" in head.lower()
                decoder = ChunkedDecoder() if chunked else None
                buf = b""
                deadline = time.monotonic() + 60
                # Hold the gate until the stream has opened, so opens come at a steady pace.
                while not sub.opened and time.monotonic() < deadline:
                    data = await asyncio.wait_for(reader.read(65536), 60)
                    if not data:
                        break
                    buf = self._feed(sub, decoder, buf, data)
            if not sub.opened:
                sub.error = "no stream-open"
                return
            # From here on Arrivals reads the socket (no reader task wake-ups).
            self.parsers[sub.index] = (decoder, [buf])
            transport = writer.transport
            transport.pause_reading()
            # What came with the stream-open and was not read yet.
            left = bytes(getattr(reader, "_buffer", b""))
            gone = transport.is_closing() or reader.at_eof()
            own = socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))
            own.setblocking(False)
            transport.abort()  # its descriptor only: the connection stays, on ``own``
            arrivals = Arrivals(self, sub, own)
            if left:
                arrivals.data_received(left)
            if gone:
                arrivals.close()
            await arrivals.closed
            self.parse_pending()
            if not self.stopping:
                sub.error = "closed by server"
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            if not self.stopping:
                sub.error = f"{type(exc).__name__}: {exc}"[:120]
        finally:
            sub.closed = True
            if arrivals is not None:
                arrivals.close()
            if writer is not None:
                writer.close()

    def _feed(
        self,
        sub: Subscriber,
        decoder: ChunkedDecoder | None,
        buf: bytes,
        data: bytes,
        now: float | None = None,
        kernel: float | None = None,
    ) -> bytes:
        now = time.monotonic() if now is None else now
        if kernel is not None and b"keep-alive" in data:
            # The kernel's time is the last segment's the read took in: a keep-alive that
            # came after the event in the same read (as when the client holds its reads)
            # would stand for the event's arrival. Such reads give no socket time.
            kernel = None
        buf += decoder.feed(data) if decoder is not None else data
        while True:
            end = buf.find(b"\n\n")
            if end < 0:
                return buf
            self._events(sub, buf[:end], now, kernel)
            buf = buf[end + 2 :]

    async def stop(self) -> None:
        self.stopping = True
        for writer in self.writers:
            writer.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 30)


def client_process(conn: Any, target: Target, indices: range, total: int, concurrency: int) -> None:
    """One client process: open its streams, report progress, and on ("expect", ids,
    timeout) wait for those broadcasts and send back its subscribers."""
    gc.disable()  # the client's own collections would show up as latency; bounded run
    asyncio.run(_client_process(conn, target, indices, total, concurrency))


async def _client_process(
    conn: Any, target: Target, indices: range, total: int, concurrency: int
) -> None:
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def readable() -> None:
        try:
            commands.put_nowait(conn.recv())
        except EOFError:  # the bench has gone: stop
            loop.remove_reader(conn.fileno())
            commands.put_nowait(("stop",))

    loop.add_reader(conn.fileno(), readable)
    client = Client(target, indices, total, concurrency)
    client.start()
    sent = (0, 0)
    try:
        while True:
            if (client.opened, client.failed) != sent:  # only news: the pipe never fills
                sent = (client.opened, client.failed)
                conn.send(("progress", *sent))
            try:
                command = await asyncio.wait_for(commands.get(), 1.0)
            except TimeoutError:
                continue
            if command[0] == "stop":
                return
            if command[0] == "hold":  # leave every socket unread from each start, for hold s
                for start in command[1]:
                    loop.call_at(start - 0.02, time.sleep, command[2] + 0.02)
                continue
            ids, timeout = set(command[1]), command[2]
            live = [s for s in client.subs if s.opened]
            wait_until = time.monotonic() + timeout
            while time.monotonic() < wait_until:
                if all(ids <= s.received.keys() or s.closed for s in live):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # a duplicate would arrive about now
            client.parse_pending()
            conn.send(("subscribers", client.subs))
            return
    finally:
        await client.stop()
        loop.remove_reader(conn.fileno())


class ClientPool:
    """The SSE client spread over processes, each holding a contiguous share of the streams.

    Arrival times are time.monotonic(), one clock (CLOCK_MONOTONIC) for every process, so
    the bench compares them with its own send times.
    """

    def __init__(self, target: Target, total: int, processes: int, concurrency: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.total = total
        self.conns: list[Any] = []
        self.workers: list[Any] = []
        self.progress: list[tuple[int, int]] = []
        bounds = [round(total * k / processes) for k in range(processes + 1)]
        for k in range(processes):
            ours, theirs = context.Pipe()
            share = max(1, concurrency // processes)
            worker = context.Process(
                target=client_process,
                args=(theirs, target, range(bounds[k], bounds[k + 1]), total, share),
                daemon=True,
            )
            worker.start()
            theirs.close()
            self.conns.append(ours)
            self.workers.append(worker)
            self.progress.append((0, 0))

    def _drain(self) -> None:
        for k, conn in enumerate(self.conns):
            with contextlib.suppress(EOFError, OSError):
                while conn.poll():
                    message = conn.recv()
                    if message[0] == "progress":
                        self.progress[k] = (message[1], message[2])

    @property
    def opened(self) -> int:
        self._drain()
        return sum(opened for opened, _ in self.progress)

    @property
    def failed(self) -> int:
        self._drain()
        return sum(failed for _, failed in self.progress)

    def hold(self, starts: list[float], seconds: float) -> None:
        """Have every client process leave its sockets unread for ``seconds`` from each of
        ``starts`` (time.monotonic()): the process sleeps, so it takes no core then."""
        for conn in self.conns:
            conn.send(("hold", starts, seconds))

    async def subscribers(self, ids: list[int], timeout: float) -> list[Subscriber]:
        """Every subscriber, once each has had ``ids`` (or closed, or ``timeout`` passed)."""
        for conn in self.conns:
            conn.send(("expect", ids, timeout))
        subs: list[Subscriber] = []
        deadline = time.monotonic() + timeout + 60
        for conn in self.conns:
            while True:
                if time.monotonic() > deadline:
                    raise RuntimeError("a client process did not report its subscribers")
                if conn.poll():
                    message = conn.recv()
                    if message[0] == "subscribers":
                        subs.extend(message[1])
                        break
                else:
                    await asyncio.sleep(0.1)
        return subs

    def stop(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError, BrokenPipeError):
                conn.send(("stop",))
        for worker in self.workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=5)
        for conn in self.conns:
            conn.close()


# -- one run ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Setup:
    mode: str
    base_url: str  # where the client connects (Daphne, or Pushpin)
    stream_path: str
    event: bytes
    cookies: list[str]
    server_pids: list[int]  # the Python processes whose memory is measured (summed)
    proxy_pgids: list[int] = field(default_factory=list)  # each Pushpin's process group
    stream_ports: list[int] = field(default_factory=list)  # where subscribers connect
    send_path: str = "/api/messaging/send"
    admin: bool = True
    # Pushpins' logs: after a stream is held, Pushpin asks the upstream once more for it
    # (a "recover" request, about ten a second each); the bench waits for those to finish.
    recover_logs: list[Path] = field(default_factory=list)


async def login_admin(base_url: str) -> Any:
    import httpx

    client = httpx.AsyncClient(base_url=base_url, timeout=60.0)
    page = await client.get("/accounts/login/")
    token = page.cookies.get("csrftoken") or client.cookies.get("csrftoken")
    response = await client.post(
        "/accounts/login/",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": base_url + "/accounts/login/"},
    )
    if response.status_code != 302:
        raise RuntimeError(f"admin login failed: {response.status_code} {response.text[:200]}")
    client.headers["X-CSRFToken"] = client.cookies.get("csrftoken") or ""
    return client


def recovered(log: Path) -> int:
    try:
        return log.read_bytes().count(b"recover=true")
    except OSError:
        return 0


async def wait_recovered(logs: list[Path], opened: int, args: argparse.Namespace) -> float:
    """Wait (bounded) until the Pushpins have made their recover request per held stream."""
    started = time.monotonic()
    reported = started
    count = 0
    while time.monotonic() - started < args.pushpin_settle_timeout:
        count = sum(recovered(log) for log in logs)
        if count >= opened:
            break
        if time.monotonic() - reported >= 10:
            reported = time.monotonic()
            print(f"  pushpin recovered {count}/{opened} streams", flush=True)
        await asyncio.sleep(1.0)
    waited = time.monotonic() - started
    print(f"  pushpin recovered {count}/{opened} streams after {waited:.0f}s", flush=True)
    return round(waited, 1)


async def measure(setup: Setup, args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    n = args.subscribers
    host, port = urlsplit(setup.base_url).hostname or "127.0.0.1", urlsplit(setup.base_url).port
    assert port is not None
    sender = (
        await login_admin(setup.base_url)
        if setup.admin
        else httpx.AsyncClient(base_url=setup.base_url, timeout=60.0)
    )
    body = {"recipientIds": "all", "tenantId": TENANT_SLUG, "subject": "Bench", "body": "warm-up"}

    # (message id, start, end, start by time.time(): the clock of the sockets' timestamps)
    async def send(text: str) -> tuple[int, float, float, float]:
        started, wall = time.monotonic(), time.time()
        response = await sender.post(setup.send_path, json=dict(body, body=text))
        ended = time.monotonic()
        if response.status_code != 201:
            raise RuntimeError(f"send failed: {response.status_code} {response.text[:200]}")
        return int(response.json()["id"]), started, ended, wall

    ports = setup.stream_ports or [port]
    target = Target(host, ports, setup.stream_path, setup.event, setup.cookies)
    result: dict[str, Any] = {"mode": setup.mode, "subscribers": n}
    client: ClientPool | None = None
    gc.disable()  # the client's own collections would show up as latency; bounded run
    try:
        await send("warm-up")  # first-call costs (channel rows, caches) before anything counts
        await asyncio.sleep(1.0)
        rss_before = sum(status_field(pid, "VmRSS") for pid in setup.server_pids)
        proxy_before = sum(group_rss_kb(pgid) for pgid in setup.proxy_pgids)
        threads_before = sum(status_field(pid, "Threads") for pid in setup.server_pids)
        opening = time.monotonic()
        client = ClientPool(target, n, args.client_processes, args.open_concurrency)
        deadline = opening + args.open_timeout
        reported = opening
        while time.monotonic() < deadline:
            failed = client.failed
            if client.opened + failed >= n:
                break
            await asyncio.sleep(0.2)
            if time.monotonic() - reported >= 10:
                reported = time.monotonic()
                print(
                    f"  opened {client.opened}/{n} after {reported - opening:.0f}s "
                    f"(failed {failed})",
                    flush=True,
                )
        open_seconds = time.monotonic() - opening
        result.update(opened=client.opened, open_s=round(open_seconds, 1))
        # Let the server settle before its memory is read: its full garbage collection
        # after a burst of opens runs 2 s after the last open (harbor_messaging/gcwatch.py).
        await asyncio.sleep(6.0)
        if setup.recover_logs:
            result["settle_s"] = await wait_recovered(setup.recover_logs, client.opened, args)
        rss_after = sum(status_field(pid, "VmRSS") for pid in setup.server_pids)
        proxy_after = sum(group_rss_kb(pgid) for pgid in setup.proxy_pgids)
        opened = max(1, client.opened)
        result.update(
            rss_before_mb=round(rss_before / 1024, 1),
            rss_after_mb=round(rss_after / 1024, 1),
            rss_per_stream_kb=round((rss_after - rss_before) / opened, 2),
            threads_before=threads_before,
            threads=sum(status_field(pid, "Threads") for pid in setup.server_pids),
        )
        if setup.proxy_pgids:
            result["proxy_rss_per_stream_kb"] = round((proxy_after - proxy_before) / opened, 2)
        print(
            f"  {client.opened}/{n} open in {open_seconds:.1f}s; server RSS "
            f"{rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MB, threads "
            f"{result['threads_before']} -> {result['threads']}",
            flush=True,
        )

        if args.idle:
            # The servers' own CPU while every stream waits: keep-alives, housekeeping.
            cpu_before = sum(cpu_seconds(pid) for pid in setup.server_pids)
            idle_from = time.monotonic()
            await asyncio.sleep(args.idle)
            idle_cpu = sum(cpu_seconds(pid) for pid in setup.server_pids) - cpu_before
            result["idle_cpu_pct"] = round(100 * idle_cpu / (time.monotonic() - idle_from), 2)

        sends: list[tuple[int, float, float, float]] = []
        send_errors = 0
        first = time.monotonic() + 0.5
        if args.client_hold:
            client.hold(
                [first + i * args.interval for i in range(args.broadcasts)], args.client_hold
            )
            result["client_hold_s"] = args.client_hold
        for i in range(args.broadcasts):
            await asyncio.sleep(max(0.0, first + i * args.interval - time.monotonic()))
            try:
                sends.append(await send(f"broadcast {i + 1} of {args.broadcasts}"))
            except (RuntimeError, httpx.HTTPError) as exc:
                send_errors += 1
                print(f"  send {i + 1}: {exc}", flush=True)
        ids = {mid for mid, _, _, _ in sends}
        subs = await client.subscribers(sorted(ids), args.deliver_timeout)
        # From every stream open to the last broadcast's delivery: how long all were held.
        result["held_s"] = round(time.monotonic() - opening - open_seconds, 1)
        live = [s for s in subs if s.opened]

        latencies: list[float] = []
        socket_latencies: list[float] = []
        busy = socket_busy = 0.0
        for number, (mid, started, ended, wall) in enumerate(sends, 1):
            arrivals = [s.received[mid] for s in live if mid in s.received]
            latencies.extend((t - started) * 1000 for t in arrivals)
            at_socket = [s.at_socket[mid] for s in live if mid in s.at_socket]
            socket_latencies.extend((t - wall) * 1000 for t in at_socket)
            if at_socket:
                socket_busy += max(at_socket) - wall
            if arrivals:
                busy += max(arrivals) - started
                print(
                    f"  broadcast {number}: send {(ended - started) * 1000:.0f} ms, first "
                    f"{(min(arrivals) - started) * 1000:.0f} ms, last "
                    f"{(max(arrivals) - started) * 1000:.0f} ms, {len(arrivals)} arrived"
                    + (
                        f"; at the sockets {(min(at_socket) - wall) * 1000:.0f} to "
                        f"{(max(at_socket) - wall) * 1000:.0f} ms"
                        if at_socket
                        else ""
                    ),
                    flush=True,
                )
        expected = len(ids) * len(live)
        got = sum(len(ids & s.received.keys()) for s in live)
        failed_opens = n - len(live)
        dropped = sum(1 for s in live if s.closed)
        duplicates = sum(s.duplicates for s in live)
        unexpected = sum(len(s.unexpected) for s in live)
        stray = sum(len(s.received.keys() - ids) for s in live)
        errors = failed_opens + dropped + (expected - got) + duplicates + unexpected + send_errors
        reasons: dict[str, int] = {}
        for s in subs:
            if s.error:
                reasons[s.error] = reasons.get(s.error, 0) + 1
        result.update(
            broadcasts=len(sends),
            p50_ms=round(percentile(latencies, 0.5), 1),
            p99_ms=round(percentile(latencies, 0.99), 1),
            max_ms=round(max(latencies, default=float("nan")), 1),
            deliveries=got,
            # Fan-out rate while a broadcast is on its way: deliveries over the summed time
            # from each POST's start to its last subscriber's arrival.
            deliveries_per_s=round(got / busy) if busy else 0,
            # The same at the subscribers' sockets (nan where the kernel gave no timestamps).
            socket_p50_ms=round(percentile(socket_latencies, 0.5), 1),
            socket_p99_ms=round(percentile(socket_latencies, 0.99), 1),
            socket_max_ms=round(max(socket_latencies, default=float("nan")), 1),
            socket_deliveries_per_s=round(len(socket_latencies) / socket_busy)
            if socket_busy
            else 0,
            send_p50_ms=round(percentile([(e - s) * 1000 for _, s, e, _ in sends], 0.5), 1),
            failed_opens=failed_opens,
            dropped=dropped,
            missed=expected - got,
            duplicates=duplicates,
            unexpected=unexpected,
            stray=stray,
            send_errors=send_errors,
            errors=errors,
        )
        if reasons:
            print(f"  client errors: {dict(sorted(reasons.items())[:8])}", flush=True)
        kinds = {k for s in live for k in s.unexpected}
        if kinds:
            print(f"  unexpected events: {sorted(kinds)[:8]}", flush=True)
    finally:
        if client is not None:
            client.stop()
        await sender.aclose()
        gc.enable()
    return result


def summary(result: dict[str, Any]) -> str:
    keys = [
        "mode",
        "processes",
        "pushpins",
        "client_processes",
        "subscribers",
        "opened",
        "open_s",
        "settle_s",
        "held_s",
        "broadcasts",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "deliveries_per_s",
        "socket_p50_ms",
        "socket_p99_ms",
        "socket_max_ms",
        "socket_deliveries_per_s",
        "send_p50_ms",
        "client_hold_s",
        "idle_cpu_pct",
        "rss_per_stream_kb",
        "proxy_rss_per_stream_kb",
        "rss_before_mb",
        "rss_after_mb",
        "threads",
        "failed_opens",
        "dropped",
        "missed",
        "duplicates",
        "unexpected",
        "send_errors",
        "errors",
    ]
    return "bench sse " + " ".join(f"{k}={result[k]}" for k in keys if k in result)


def run_harbor(mode: str, args: argparse.Namespace, database_url: str, keys: list[str]) -> str:
    processes = args.processes if mode == "direct" else 1
    ports = [free_port() for _ in range(processes)]
    pushpins = (
        [
            start_pushpin(ports[0], args.pushpin_message_rate, number + 1)
            for number in range(args.pushpins)
        ]
        if mode == "pushpin"
        else []
    )
    extra = {"DATABASE_URL": database_url}
    if pushpins:
        # Every event is published to each Pushpin, as in a deployment of several.
        extra["GRIP_URL"] = ",".join(pushpin.grip_url for pushpin in pushpins)
    if processes > 1:
        # The processes relay events to each other's streams through Redis, as in a
        # deployment of one Daphne per core; keys under a prefix of this run's own.
        prefix = f"harbor-bench-{os.getpid()}"
        extra.update(REDIS_URL=args.redis_url, HARBOR_REDIS_PREFIX=prefix)
    daphnes: list[Process] = []
    try:
        for number, port in enumerate(ports):
            daphnes.append(
                start_daphne(
                    f"daphne-{mode}" + (f"-{number + 1}" if processes > 1 else ""),
                    port,
                    "harbor_messaging.asgi:application",
                    cwd=ROOT,
                    env=harbor_env(extra),
                )
            )
        base = f"http://127.0.0.1:{ports[0]}"
        for pushpin in pushpins:
            pushpin.start()
        if pushpins:
            base = pushpins[0].url
        setup = Setup(
            mode=mode,
            base_url=base,
            stream_path=f"/api/messaging/stream/{TENANT_SLUG}/",
            event=b"message:new",
            cookies=[f"sessionid={k}" for k in keys],
            server_pids=[d.pid for d in daphnes],
            stream_ports=[p.http_port for p in pushpins] or ports,
            proxy_pgids=[p.process.pid for p in pushpins],
            recover_logs=[p.workdir / "pushpin.out" for p in pushpins],
        )
        result = asyncio.run(measure(setup, args))
        result["processes"] = processes
        if pushpins:
            result["pushpins"] = len(pushpins)
        result["client_processes"] = args.client_processes
    finally:
        for pushpin in pushpins:
            pushpin.stop()
        for daphne in daphnes:
            daphne.stop()
    return summary(result)


def _plain_setup(mode: str, port: int, pid: int) -> Setup:
    """The stock and bare servers: one channel at /events/tenant/, an open POST /send."""
    return Setup(
        mode=mode,
        base_url=f"http://127.0.0.1:{port}",
        stream_path="/events/tenant/",
        event=b"message",
        cookies=[],
        server_pids=[pid],
        send_path="/send",
        admin=False,
    )


def run_stock(args: argparse.Namespace) -> str:
    path = BENCH_DIR / "stock.sqlite3"
    _remove_sqlite(path)
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "GRIP_URL"):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "stock.settings",
            "STOCK_DATABASE_PATH": str(path),
            "PYTHONPATH": str(ROOT / "bench"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
        cwd=ROOT / "bench",
        env=env,
        check=True,
        timeout=120,
    )
    port = free_port()
    daphne: Process | None = None
    try:
        daphne = start_daphne(
            "daphne-stock", port, "stock.asgi:application", cwd=ROOT / "bench", env=env
        )
        result = asyncio.run(measure(_plain_setup("stock", port, daphne.pid), args))
    finally:
        if daphne is not None:
            daphne.stop()
        if not args.keep:
            _remove_sqlite(path)
    return summary(result)


def run_bare(args: argparse.Namespace) -> str:
    port = free_port()
    server = Process(
        "bare",
        [sys.executable, str(ROOT / "bench" / "bare.py"), "--port", str(port)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        log=BENCH_DIR / f"bare-{port}.log",
    )
    try:
        server.wait_http(f"http://127.0.0.1:{port}/healthz", 30.0)
        result = asyncio.run(measure(_plain_setup("bare", port, server.pid), args))
    finally:
        server.stop()
    return summary(result)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    nofile = raise_nofile()
    print(f"bench sse machine {machine()} nofile={nofile}", flush=True)
    modes = ["direct", "pushpin", "stock"] if args.mode == "all" else [args.mode]
    lines: list[str] = []
    harbor_modes = [m for m in modes if m in {"direct", "pushpin"}]
    if harbor_modes:
        with own_database(args) as database_url:
            setup_django(database_url)
            started = time.monotonic()
            keys = seed(args.subscribers)
            from django.db import connections

            connections.close_all()
            print(
                f"  seeded {args.subscribers} subscribers in {time.monotonic() - started:.1f}s",
                flush=True,
            )
            gc.collect()
            gc.freeze()  # the client's own pauses should not be the figures
            for mode in harbor_modes:
                print(f"bench sse mode={mode}: starting", flush=True)
                lines.append(run_harbor(mode, args, database_url, keys))
                print(lines[-1], flush=True)
    if "stock" in modes:
        print("bench sse mode=stock: starting", flush=True)
        lines.append(run_stock(args))
        print(lines[-1], flush=True)
    if "bare" in modes:
        print("bench sse mode=bare: starting", flush=True)
        lines.append(run_bare(args))
        print(lines[-1], flush=True)
    return 0 if all(" errors=0" in line for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
