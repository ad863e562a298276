"""The fan-out's own cost a delivery, in one process: no client, no HTTP, no database.

    .venv/bin/python bench/fanout.py --streams 10000 --broadcasts 20

``bench/sse.py`` measures what a subscriber sees, with its client reading every stream
on the same two cores, and moves by a fifth from run to run on these machines. This
measures only the code a broadcast runs for each stream on the event loop: the relay's
``_deliver_on_loop`` over real ``StreamListener`` objects, each with the direct writer
Daphne's streams get (``stream_asgi.DirectWriter``) on a real Twisted TCP connection
object with ``twisted_write``'s patch, writing to loopback TCP connections whose other
ends, in a child process, just hold the bytes (a broadcast's event is ~300 bytes: nothing
needs reading for ``--broadcasts`` well under a socket's buffer). Daphne's request is a
stand-in with the fields the writer reads.

It prints one summary line: a delivery's share of the event loop thread's CPU
(``time.thread_time``), of it what is not the ``send`` calls that thread made itself (the
framing: what stands between the listener and the socket), and the wall time, each the
median over the broadcasts, and the least framing of any broadcast. ``--scatter-kb`` puts
other objects between one stream's and the next, as a served stream's request, session
and task do in Daphne (~20 KB a stream), and ``--order`` takes the streams in the relay's
order (by address) or in the set order the relay used before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "harbor_messaging.settings")
    os.environ.setdefault("HARBOR_DATA_DIR", str(ROOT / "var" / "bench" / "fanout"))
    # Nothing is signed or served: the key only lets the settings load with DEBUG off.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-fanout-" + "k" * 40)
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()


class _Reactor:
    """What a Twisted connection asks of its reactor when a write is buffered."""

    def addWriter(self, writer: Any) -> None:
        pass

    def removeWriter(self, writer: Any) -> None:
        pass


def _request(transport: Any) -> Any:
    """The fields of Daphne's request (twisted.web's Request) that the writer reads."""
    from twisted.internet.defer import Deferred

    def notify_finish() -> Deferred[None]:
        return Deferred()

    return SimpleNamespace(
        finished=False,
        _disconnected=False,
        startedWriting=1,
        channel=SimpleNamespace(transport=transport),
        chunked=1,
        sentLength=0,
        notifyFinish=notify_finish,
        handle_reply=lambda message: None,
    )


# The child: accepts the connections and keeps them, reading nothing, until told to end.
_HOLDER = """
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
server = socket.create_server(("127.0.0.1", 0), backlog=4096)
print(server.getsockname()[1], flush=True)
held = []
count = int(sys.argv[1])
while len(held) < count:
    held.append(server.accept()[0])
print(sum(1 for _ in held), flush=True)
sys.stdin.read()
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=10000)
    parser.add_argument("--broadcasts", type=int, default=20)
    parser.add_argument("--sender-threads", type=int, default=None)
    parser.add_argument(
        "--order",
        choices=["address", "set"],
        default="address",
        help="address: the order the relay hands the streams over in (sorted by address); "
        "set: the listener manager's set order, which the relay passed on before",
    )
    parser.add_argument(
        "--scatter-kb",
        type=int,
        default=0,
        help="other objects made between one stream's and the next (a served stream holds ~20 KB)",
    )
    args = parser.parse_args(argv)

    _setup_django()
    from daphne.server import Server
    from django.conf import settings
    from twisted.internet import tcp

    from harbor_messaging import twisted_write
    from messaging import relay
    from messaging.stream import StreamListener
    from messaging.stream_asgi import body_writer
    from messaging.stream_storage import stream_event

    if args.sender_threads is not None:
        settings.HARBOR_STREAM_SEND_THREADS = args.sender_threads
    twisted_write.install()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.streams + 100:
        parser.error(f"--streams {args.streams} needs {args.streams + 100} descriptors")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(args.streams)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    port = int(holder.stdout.readline())

    # Daphne's send is partial(server.handle_reply, request): body_writer asks no more of it.
    server = Server.__new__(Server)
    loop = asyncio.new_event_loop()
    reactor = _Reactor()
    tenant, sockets, listeners = "t-acme", [], []
    ballast: list[Any] = []
    for number in range(args.streams):
        # Objects of the sizes a request, a session and a task leave behind, kept alive.
        ballast.extend(
            [{"k": size, "v": "x" * size}, [size] * 8, ("t", size)]
            for size in range(16, 16 + args.scatter_kb * 1024 // 180)
        )
        ours = socket.create_connection(("127.0.0.1", port))
        ours.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ours.setblocking(False)
        sockets.append(ours)
        connection = tcp.Connection(ours, None, reactor)  # type: ignore[arg-type]
        connection.connected = 1
        user = 1000 + number
        writer = body_writer(partial(server.handle_reply, _request(connection)))
        listener = StreamListener(user, {tenant, f"u-{user}-acme"}, writer)
        listener.loop = loop
        listener.wait_live({tenant: "0", f"u-{user}-acme": "3"})
        listeners.append(listener)
    # As the relay hands them over (by address), or as the manager's set gives them.
    by_set = args.order == "set"
    fanout = tuple(set(listeners)) if by_set else tuple(sorted(listeners, key=id))
    assert int(holder.stdout.readline()) == args.streams

    # The sends the event loop's thread makes itself, timed apart from the rest.
    own_send = [0.0]
    send_all = twisted_write._send_all
    loop_thread = threading.get_ident()

    def timed_send_all(items: list[tuple[Any, bytes]]) -> list[tuple[Any, bytes]]:
        if threading.get_ident() != loop_thread:
            return send_all(items)
        started = time.thread_time()
        try:
            return send_all(items)
        finally:
            own_send[0] += time.thread_time() - started

    twisted_write._send_all = timed_send_all

    data = '{"messageId": 1, "subject": "Hello", "body": "' + "x" * 160 + '"}'
    cpu, framing, wall = [], [], []
    before = relay.deliveries["written"]
    for number in range(1, args.broadcasts + 1):
        event = stream_event(tenant, "message:new", data, number, None, number)
        own_send[0] = 0.0
        started_cpu, started_wall = time.thread_time(), time.perf_counter()
        relay._deliver_on_loop([(tenant, event, fanout)], loop)
        used = time.thread_time() - started_cpu
        wall.append((time.perf_counter() - started_wall) / len(fanout) * 1e6)
        cpu.append(used / len(fanout) * 1e6)
        framing.append((used - own_send[0]) / len(fanout) * 1e6)
    written = relay.deliveries["written"] - before
    twisted_write._send_all = send_all
    for ours in sockets:
        ours.close()
    holder.stdin.close()
    holder.wait()

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    print(
        f"bench fanout streams={args.streams} broadcasts={args.broadcasts} "
        f"sender_threads={settings.HARBOR_STREAM_SEND_THREADS} scatter_kb={args.scatter_kb} "
        f"order={args.order} written={written} "
        f"loop_cpu_us={med(cpu)} framing_cpu_us={med(framing)} wall_us={med(wall)} "
        f"best_framing_cpu_us={round(min(framing), 2)}"
    )
    return 0 if written == args.streams * args.broadcasts else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
