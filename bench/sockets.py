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
import ctypes
import mmap
import multiprocessing
import os
import resource
import selectors
import socket
import struct
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
    parser.add_argument("--way", choices=["send", "uring"], default="send", help="how to send")
    parser.add_argument(
        "--reader-sleep", type=float, default=0.0, help="seconds the reader sleeps before reads"
    )
    args = parser.parse_args(argv)
    if not 0.0 <= args.reader_sleep < args.interval:
        parser.error("--reader-sleep must be at least 0 and less than --interval")
    return args


# io_uring's system calls (x86-64 and arm64 alike), opcode and flags (linux/io_uring.h).
IO_URING_SETUP, IO_URING_ENTER = 425, 426
IORING_OP_SEND = 26
IORING_ENTER_GETEVENTS = 1
IORING_FEAT_SINGLE_MMAP = 1
IORING_OFF_SQES = 0x10000000
MSG_DONTWAIT = 0x40
# struct io_uring_sqe, 64 bytes: opcode, flags, ioprio, fd, off, addr, len, msg_flags,
# user_data, buf_index, personality, splice_fd_in, addr3, pad.
SQE = struct.Struct("=BBHiQQIIQHHiQQ")
CQE = struct.Struct("=QiI")  # user_data, res, flags
U32 = struct.Struct("=I")


class Ring:
    """One io_uring, for one thread: ``send_all`` makes every send in one system call."""

    def __init__(self, entries: int = 4096) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long
        params = (ctypes.c_ubyte * 120)()  # struct io_uring_params
        fd = self.libc.syscall(IO_URING_SETUP, entries, params)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "io_uring_setup")
        self.fd = fd
        raw = bytes(params)
        self.entries, cq_entries, _, _, _, features = struct.unpack_from("=6I", raw, 0)
        # io_sqring_offsets and io_cqring_offsets: where each field is in the ring.
        sq = struct.unpack_from("=8IQ", raw, 40)  # head tail mask entries flags dropped array
        cq = struct.unpack_from("=8IQ", raw, 80)  # head tail mask entries overflow cqes flags
        if not features & IORING_FEAT_SINGLE_MMAP:
            raise OSError("io_uring without IORING_FEAT_SINGLE_MMAP")
        size = max(sq[6] + self.entries * 4, cq[5] + cq_entries * 16)
        shared, both = mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
        self.ring = mmap.mmap(fd, size, shared, both, offset=0)
        self.sqes = mmap.mmap(fd, self.entries * 64, shared, both, offset=IORING_OFF_SQES)
        self.sq_tail, self.cq_head, self.cq_tail, self.cqes = sq[1], cq[0], cq[1], cq[5]
        self.sq_mask = U32.unpack_from(self.ring, sq[2])[0]
        self.cq_mask = U32.unpack_from(self.ring, cq[2])[0]
        for index in range(self.entries):  # submission slot i is queue entry i
            U32.pack_into(self.ring, sq[6] + 4 * index, index)
        self.in_enter = 0.0

    def send_all(self, items: list[tuple[int, bytes]]) -> list[int]:
        """``send`` each (descriptor, bytes); each one's result (bytes sent, or -errno)."""
        results = [0] * len(items)
        ring, pack = self.ring, SQE.pack_into
        for start in range(0, len(items), self.entries):
            chunk = items[start : start + self.entries]
            tail = U32.unpack_from(ring, self.sq_tail)[0]
            for k, (fd, data) in enumerate(chunk):
                # The bytes object's own buffer; it lives in ``items`` until the call returns.
                address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0
                slot = ((tail + k) & self.sq_mask) * 64
                pack(self.sqes, slot, IORING_OP_SEND, 0, 0, fd, 0, address, len(data),
                     MSG_DONTWAIT, start + k, 0, 0, 0, 0, 0)  # fmt: skip
            U32.pack_into(ring, self.sq_tail, tail + len(chunk))
            entered = time.perf_counter()
            done = self.libc.syscall(
                IO_URING_ENTER, self.fd, len(chunk), len(chunk), IORING_ENTER_GETEVENTS, None, 0
            )
            self.in_enter += time.perf_counter() - entered
            if done < 0:
                raise OSError(ctypes.get_errno(), "io_uring_enter")
            head, end = (
                U32.unpack_from(ring, self.cq_head)[0],
                U32.unpack_from(ring, self.cq_tail)[0],
            )
            while head != end:
                user_data, result, _ = CQE.unpack_from(ring, self.cqes + (head & self.cq_mask) * 16)
                results[user_data] = result
                head += 1
            U32.pack_into(ring, self.cq_head, head)
        return results


def reader(port: int, count: int, rounds: int, ready: Any, sleep: float) -> None:
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
        if sleep:
            time.sleep(sleep)
        for key, _ in selector.select(1.0):
            got += len(key.fileobj.recv(65536))  # type: ignore[union-attr]
    os._exit(0 if got >= expected else 1)


def send_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.send(PAYLOAD)


def uring_all(ring: Ring, socks: list[socket.socket]) -> None:
    results = ring.send_all([(sock.fileno(), PAYLOAD) for sock in socks])
    short = sum(1 for result in results if result != len(PAYLOAD))
    if short:  # the reader keeps up: every send should take all its bytes
        raise RuntimeError(f"{short} of {len(results)} io_uring sends were short or failed")


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
    process = context.Process(
        target=reader, args=(port, args.sockets, args.rounds, ready, args.reader_sleep)
    )
    process.start()
    conns = [listener.accept()[0] for _ in range(args.sockets)]
    for conn in conns:
        conn.setblocking(False)
    ready.wait(60)
    time.sleep(0.5)
    shares = [conns[k :: args.threads] for k in range(args.threads)]
    rings = [Ring() for _ in shares] if args.way == "uring" else []
    jobs: list[tuple[Any, tuple[Any, ...]]] = (
        [(uring_all, (ring, share)) for ring, share in zip(rings, shares, strict=True)]
        if rings
        else [(send_all, (share,)) for share in shares]
    )
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        if args.threads == 1:
            jobs[0][0](*jobs[0][1])
        else:
            threads = [threading.Thread(target=job, args=job_args) for job, job_args in jobs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(args.interval)
    process.join(60)
    times.sort()
    median = times[len(times) // 2]
    way = f"way={args.way} reader_sleep={args.reader_sleep} "
    if rings:
        # Of each thread's time in the rounds, the part inside io_uring_enter.
        entered = sum(r.in_enter for r in rings) / (sum(times) / 1000 * len(rings))
        way += f"enter_share={entered:.2f} "
    print(
        f"bench sockets sockets={args.sockets} threads={args.threads} rounds={args.rounds} {way}"
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
