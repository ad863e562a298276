"""The machine's floor for a fan-out: one small write to each of N loopback TCP sockets.

    .venv/bin/python bench/sockets.py --sockets 1000
    .venv/bin/python bench/sockets.py --sockets 10000 --threads 2

No Django, no Daphne: a plain loop of ``socket.send`` over N connected sockets, a reader
process draining the other ends as bench/sse.py's client does, --rounds times. With
``--threads 2`` the sockets are split between two threads (``send`` releases the GIL), as
harbor_messaging/twisted_write.py's sender threads split a fan-out. What a broadcast to N
direct streams costs beyond this is the product's own. Prints one line ``bench sockets
...`` for scripts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import selectors
import socket
import sys
import threading
import time
from typing import Any

# About the size of a message:new event to a whole tenant, chunk framing included.
PAYLOAD = (
    b"1a4\r\nevent: message:new\nid: t-bench:123,u-5-bench:44\ndata: "
    + b'{"type":"message:new","data":{"messageId":123,"payload":{"message":{"subject":"'
    + b"x" * 300
    + b'"}}}}\n\n\r\n'
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=1000, help="connections")
    parser.add_argument("--threads", type=int, default=1, help="threads sending")
    parser.add_argument("--rounds", type=int, default=20, help="writes to every socket")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between rounds")
    return parser.parse_args(argv)


def reader(port: int, count: int, rounds: int, ready: Any) -> None:
    """Open ``count`` connections and read until every round has reached every one."""
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    ready.set()
    expected = count * rounds * len(PAYLOAD)
    got = 0
    deadline = time.monotonic() + 120 + rounds
    while got < expected and time.monotonic() < deadline:
        for key, _ in selector.select(1.0):
            got += len(key.fileobj.recv(65536))  # type: ignore[union-attr]
    os._exit(0 if got >= expected else 1)


def send_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.send(PAYLOAD)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.sockets + 64 > hard:  # each process holds one end of every connection
        print(f"bench sockets: --sockets needs {args.sockets + 64} descriptors, have {hard}")
        return 2
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    port = listener.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=reader, args=(port, args.sockets, args.rounds, ready))
    process.start()
    conns = [listener.accept()[0] for _ in range(args.sockets)]
    for conn in conns:
        conn.setblocking(False)
    ready.wait(60)
    time.sleep(0.5)
    shares = [conns[k :: args.threads] for k in range(args.threads)]
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        if args.threads == 1:
            send_all(conns)
        else:
            threads = [threading.Thread(target=send_all, args=(share,)) for share in shares]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(args.interval)
    process.join(60)
    times.sort()
    median = times[len(times) // 2]
    print(
        f"bench sockets sockets={args.sockets} threads={args.threads} rounds={args.rounds} "
        f"fanout_p50_ms={median:.1f} fanout_min_ms={times[0]:.1f} "
        f"fanout_max_ms={times[-1]:.1f} us_per_send={median * 1000 / args.sockets:.1f} "
        f"sends_per_s={round(args.sockets / median * 1000)} reader_ok={process.exitcode == 0}"
    )
    for conn in conns:
        conn.close()
    listener.close()
    return 0 if process.exitcode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
