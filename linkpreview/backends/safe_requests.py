"""SafeFetcher: the SSRF guard, written once, in front of every request a preview makes.

http and https only, on allowed ports; the host resolved here and every address it has
checked; the connection pinned to the checked address (the Host header, TLS SNI and the
certificate check still use the name); each redirect checked again, at most five; one
deadline for the whole fetch, enforced by closing the socket; a byte limit that counts
decompressed bytes; an honest User-Agent; no proxies or .netrc from the environment.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Collection
from typing import Any
from urllib.parse import urljoin

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection

from ..addresses import IPAddress, is_allowed, parse_networks
from ..inspection import InvalidUrl, LinkInfo, inspect_url
from .base import HTML_TYPES, Fetcher, FetchError, FetchResult, media_type_matches

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
CHUNK = 16 * 1024
# Certificates are checked against the system's (certifi's) roots; tests point this at the
# authority that signed their own loopback server's certificate.
CA_BUNDLE: str | bool = True
_resolver_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="dns")


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to (tests patch this to play DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if isinstance(sockaddr[0], str) and "%" in sockaddr[0]:
            # A scoped (link-local) answer: refused by the check, so keep its scope visible.
            address = ipaddress.IPv6Address(sockaddr[0])
        if address not in out:
            out.append(address)
    return out


class _Deadline:
    """One time limit for a whole fetch: when it passes, every socket the fetch opened is
    shut down, which ends a read blocked on a server that drips a byte at a time."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0 or self.expired:
            raise FetchError("timeout", "The page took too long to answer.")
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            # A duplicate of the socket: shutting it down ends the connection even once the
            # original has been wrapped for TLS.
            copy = sock.dup()
            self._sockets.append(copy)
            expired = self.expired
        if expired:
            self._shutdown(copy)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shutdown(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()


class _PinnedConnectionMixin:
    """Dials the address the guard checked, whatever DNS would answer now."""

    pinned_address: str = ""
    deadline: _Deadline | None = None
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        if not self.pinned_address or self.deadline is None:
            raise FetchError("internal", "A pinned connection has no address.")
        timeout = self.timeout
        if isinstance(timeout, int | float):
            timeout = min(float(timeout), self.deadline.remaining())
        try:
            sock = urllib3_connection.create_connection(
                (self.pinned_address, self.port),
                timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except OSError as exc:
            raise FetchError("connection_failed", f"Could not connect: {exc}") from exc
        self.deadline.watch(sock)
        return sock


def _pinned_adapter(address: IPAddress, deadline: _Deadline) -> HTTPAdapter:
    attrs = {"pinned_address": str(address), "deadline": deadline}
    http_conn = type("PinnedHTTPConnection", (_PinnedConnectionMixin, HTTPConnection), attrs)
    https_conn = type("PinnedHTTPSConnection", (_PinnedConnectionMixin, HTTPSConnection), attrs)
    http_pool = type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
    adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=1)
    adapter.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}
    return adapter


class _Decoder:
    """gzip/deflate undone in steps, never more than the limit at once (a gzip bomb stops
    at the limit instead of filling memory)."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in {"", "identity"}:
            self._zlib = None
        elif encoding in {"gzip", "x-gzip"}:
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise FetchError("unsupported_encoding", f"Content-Encoding {encoding!r}.")

    def feed(self, data: bytes, room: int) -> tuple[bytes, bool]:
        """Up to ``room`` bytes decoded from data, and whether more was left over."""
        if self._zlib is None:
            return data[:room], len(data) > room
        try:
            out = self._zlib.decompress(data, room)
        except zlib.error as exc:
            raise FetchError("bad_encoding", "The compressed body is corrupt.") from exc
        return out, bool(self._zlib.unconsumed_tail)


class SafeFetcher(Fetcher):
    """The requests-based fetcher, with the guard of this module's docstring."""

    def __init__(self) -> None:
        self.allow_networks = parse_networks(settings.LINKPREVIEW_ALLOW_NETWORKS)
        self.ports = frozenset(int(p) for p in settings.LINKPREVIEW_PORTS)
        self.max_redirects = int(settings.LINKPREVIEW_MAX_REDIRECTS)
        self.timeout = float(settings.LINKPREVIEW_TIMEOUT_SECONDS)
        self.max_bytes = int(settings.LINKPREVIEW_MAX_BYTES)
        self.user_agent = str(settings.LINKPREVIEW_USER_AGENT)

    # -- the checks ------------------------------------------------------------------------

    def check_url(self, url: str) -> LinkInfo:
        """The URL as it will be requested, or FetchError for one that may not be."""
        try:
            info = inspect_url(url)
        except InvalidUrl as exc:
            raise FetchError("bad_url", str(exc)) from exc
        if info.has_userinfo:
            raise FetchError("bad_url", "URLs with a user name or password are not fetched.")
        if info.port not in self.ports:
            raise FetchError("forbidden_port", f"Port {info.port} is not fetched from.")
        return info

    def addresses_for(self, info: LinkInfo, deadline: _Deadline) -> list[IPAddress]:
        """The host's addresses, each of them checked; FetchError if any is not allowed."""
        literal = None if not info.is_ip else ipaddress.ip_address(info.domain)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            future = _resolver_pool.submit(resolve_host, info.host, info.port)
            try:
                addresses = future.result(timeout=deadline.remaining())
            except concurrent.futures.TimeoutError as exc:
                raise FetchError("timeout", "The name took too long to resolve.") from exc
            except (OSError, UnicodeError, ValueError) as exc:
                raise FetchError("dns_failed", f"{info.host} does not resolve.") from exc
        if not addresses:
            raise FetchError("dns_failed", f"{info.host} does not resolve.")
        for address in addresses:
            if not is_allowed(address, self.allow_networks):
                raise FetchError(
                    "forbidden_address", f"{info.host} is not a public address ({address})."
                )
        return addresses

    # -- the fetch -------------------------------------------------------------------------

    def fetch(
        self, url: str, *, accept: Collection[str] = HTML_TYPES, max_bytes: int | None = None
    ) -> FetchResult:
        limit = min(max_bytes or self.max_bytes, self.max_bytes)
        deadline = _Deadline(self.timeout)
        try:
            return self._follow(url, accept=accept, limit=limit, deadline=deadline)
        except FetchError:
            if deadline.expired:
                raise FetchError("timeout", "The page took too long to answer.") from None
            raise
        except (requests.RequestException, OSError, ValueError) as exc:
            if deadline.expired:
                raise FetchError("timeout", "The page took too long to answer.") from exc
            raise FetchError("connection_failed", f"The fetch failed: {exc}") from exc
        finally:
            deadline.close()

    def _follow(
        self, url: str, *, accept: Collection[str], limit: int, deadline: _Deadline
    ) -> FetchResult:
        current = url
        for _hop in range(self.max_redirects + 1):
            info = self.check_url(current)
            addresses = self.addresses_for(info, deadline)
            response = self._get(info, addresses, accept=accept, deadline=deadline)
            with response:
                location = response.headers.get("Location")
                if response.status_code in REDIRECT_STATUSES and location:
                    current = urljoin(info.normalized_url, location)
                    continue
                return self._read(info, response, accept=accept, limit=limit, deadline=deadline)
        raise FetchError("too_many_redirects", f"More than {self.max_redirects} redirects.")

    def _get(
        self,
        info: LinkInfo,
        addresses: list[IPAddress],
        *,
        accept: Collection[str],
        deadline: _Deadline,
    ) -> requests.Response:
        """GET over a connection to the first checked address that answers."""
        for index, address in enumerate(addresses):
            session = requests.Session()
            session.trust_env = False  # No proxy or .netrc may route around the pin.
            adapter = _pinned_adapter(address, deadline)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            left = deadline.remaining()
            try:
                return session.get(
                    info.normalized_url,
                    headers={
                        "User-Agent": self.user_agent,
                        "Accept": ", ".join(accept) + ", */*;q=0.1",
                        "Accept-Encoding": "gzip, deflate",
                    },
                    stream=True,
                    allow_redirects=False,
                    verify=CA_BUNDLE,
                    timeout=(min(left, 5.0), left),
                )
            except FetchError as exc:
                session.close()
                # Dual-stack names: an address that refuses makes way for the next one.
                if exc.code != "connection_failed" or index == len(addresses) - 1:
                    raise
        raise FetchError("connection_failed", f"{info.host} has no address to connect to.")

    def _read(
        self,
        info: LinkInfo,
        response: requests.Response,
        *,
        accept: Collection[str],
        limit: int,
        deadline: _Deadline,
    ) -> FetchResult:
        if not 200 <= response.status_code < 300:
            raise FetchError("http_error", f"The server answered {response.status_code}.")
        raw_type = response.headers.get("Content-Type", "")
        media_type, _, params = raw_type.partition(";")
        media_type = media_type.strip().lower()
        if not media_type_matches(media_type, accept):
            raise FetchError("unsupported_type", f"{media_type or 'no type'} is not fetched.")
        charset = None
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip("\"'")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit * 4:
            raise FetchError("too_large", "The answer is larger than the limit.")
        decoder = _Decoder(response.headers.get("Content-Encoding", ""))
        body = bytearray()
        raw_read = 0
        truncated = False
        while True:
            deadline.remaining()
            chunk = response.raw.read(CHUNK, decode_content=False)
            if not chunk:
                break
            raw_read += len(chunk)
            decoded, more = decoder.feed(chunk, limit - len(body))
            body.extend(decoded)
            if more or len(body) >= limit or raw_read >= limit:
                truncated = True
                break
        if deadline.expired:
            raise FetchError("timeout", "The page took too long to answer.")
        return FetchResult(
            url=info.normalized_url,
            status=response.status_code,
            content_type=media_type,
            charset=charset,
            body=bytes(body),
            truncated=truncated,
            headers=dict(response.headers),
        )
