"""The floor for bench/sse.py: a bare asyncio SSE server, no framework, no database.

    .venv/bin/python bench/sse.py --subscribers 10000 --mode bare

It answers what the bench's stock mode asks: ``GET /events/<channel>/`` opens a chunked
event stream (a ``stream-open`` event first), ``POST /send`` answers 201 ``{"id": n}`` and
then writes one event ``message`` to every open stream, the same bytes to each, in one
loop of ``transport.write`` (asyncio sends at once and buffers only what the kernel did
not take); ``GET /healthz`` answers 200. No authentication, no storage, no per-stream id:
what is left is the event loop, the system calls and the client, on the same machine and
cores as the product's run, so the two read side by side.

    .venv/bin/python bench/bare.py --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from typing import Any

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def chunk(body: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(body), body)


class Server:
    def __init__(self) -> None:
        self.streams: set[asyncio.Transport] = set()
        self.sent = 0

    def broadcast(self, data: dict[str, Any]) -> None:
        event = chunk(b"event: message\ndata: %b\n\n" % json.dumps(data).encode())
        for transport in list(self.streams):
            transport.write(event)


class Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server.streams.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.handle(head[0], body)

    def handle(self, request_line: str, body: bytes) -> None:
        assert self.transport is not None
        method, path, _ = [*request_line.split(" "), "", ""][:3]
        if method == "GET" and path.startswith("/events/"):
            self.transport.write(HEAD + chunk(b"event: stream-open\ndata: {}\n\n"))
            self.server.streams.add(self.transport)
        elif method == "POST" and path == "/send":
            self.server.sent += 1
            sent = json.loads(body or b"{}")
            message_id = self.server.sent
            self.respond(201, {"id": message_id})
            self.server.broadcast(
                {
                    "messageId": message_id,
                    "subject": sent.get("subject", ""),
                    "body": sent.get("body", ""),
                }
            )
        elif method == "GET" and path == "/healthz":
            self.respond(200, {"status": "ok"})
        else:
            self.respond(404, {"error": "not found"})

    def respond(self, status: int, data: dict[str, Any]) -> None:
        assert self.transport is not None
        body = json.dumps(data).encode()
        reason = {200: "OK", 201: "Created", 404: "Not Found"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %b\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%b"
            % (status, reason.encode(), len(body), body)
        )


async def serve(host: str, port: int) -> None:
    server = Server()
    loop = asyncio.get_running_loop()
    listening = await loop.create_server(lambda: Connection(server), host, port, backlog=4096)
    gc.freeze()
    async with listening:
        await listening.serve_forever()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
