"""ClamAV through clamd's INSTREAM command, over a unix socket or TCP (``CLAMD_ADDRESS``)."""

from __future__ import annotations

import re
import socket
import struct
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..errors import ScannerUnavailable
from .base import MalwareScanner, ScanResult

CHUNK = 64 * 1024
_FOUND = re.compile(r"^stream: (?P<signature>.+) FOUND$")


def parse_address(address: str) -> str | tuple[str, int]:
    """A unix socket path, or (host, port) from ``host:port``."""
    address = address.strip()
    if address.startswith("/"):
        return address
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(
            f"CLAMD_ADDRESS must be host:port or a unix socket path, not {address!r}"
        )
    return host.strip("[]"), int(port)


class ClamdScanner(MalwareScanner):
    def __init__(self, address: str | None = None, timeout: float | None = None) -> None:
        self.address = parse_address(address or settings.CLAMD_ADDRESS)
        self.timeout = timeout if timeout is not None else settings.HARBOR_CLAMD_TIMEOUT_SECONDS

    def _connect(self) -> socket.socket:
        if isinstance(self.address, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.address)
            return sock
        return socket.create_connection(self.address, timeout=self.timeout)

    def scan(self, path: str | Path) -> ScanResult:
        try:
            with self._connect() as sock, open(path, "rb") as source:
                sock.sendall(b"zINSTREAM\0")
                while chunk := source.read(CHUNK):
                    sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                sock.sendall(struct.pack("!L", 0))
                reply = _read_reply(sock)
        except OSError as exc:
            raise ScannerUnavailable(
                "The malware scanner is not answering; try again shortly."
            ) from exc
        if reply == "stream: OK":
            return ScanResult(scanned=True)
        found = _FOUND.match(reply)
        if found:
            return ScanResult(scanned=True, signature=found.group("signature"))
        # "INSTREAM size limit exceeded. ERROR" and the like: not known clean, so not kept.
        raise ScannerUnavailable(f"The malware scanner could not scan the file ({reply}).")


def _read_reply(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        part = sock.recv(4096)
        if not part:
            break
        data += part
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()
