"""The SSRF guard (SafeFetcher) against real loopback servers: forbidden addresses in every
spelling, DNS that points inside, redirects that lead inside, and servers that never stop,
drip, bomb or answer with something other than HTML. Each is refused or cut off within
the deadline, and the forbidden server is never asked for anything."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import pytest

from linkpreview import addresses
from linkpreview.backends import safe_requests
from linkpreview.backends.base import IMAGE_TYPES, FetchError, get_fetcher

from .conftest import PageServer, gzip_bomb

HTML = "<html><head><title>Hello</title></head><body>hi</body></html>"

FORBIDDEN_HOSTS = [
    # loopback
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "0177.1",
    "017700000001",
    "127.255.255.254",
    "localhost",
    # "this network" and unspecified
    "0",
    "0.0.0.0",
    "0x0",
    # private
    "10.0.0.1",
    "012.0.0.1",
    "167772161",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "0xc0.0xa8.1.1",
    "3232235777",
    # link-local and the cloud metadata service
    "169.254.169.254",
    "0xa9fea9fe",
    "2852039166",
    "0251.0376.0251.0376",
    "169.254.43518",
    # carrier-grade NAT, multicast, reserved, broadcast, documentation, benchmarking
    "100.64.0.1",
    "100.127.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "192.88.99.1",
    # IPv6
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:a9fe:a9fe]",
    "[::ffff:169.254.169.254]",
    "[::ffff:10.0.0.1]",
    "[::127.0.0.1]",
    "[::a9fe:a9fe]",
    "[fe80::1]",
    "[fe80::a9fe:a9fe]",
    "[fc00::1]",
    "[fd12:3456:789a::1]",
    "[fec0::1]",
    "[ff02::1]",
    "[2001:db8::1]",
    "[2002:7f00:1::1]",  # 6to4 around 127.0.0.1
    "[2002:a9fe:a9fe::]",  # 6to4 around 169.254.169.254
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    "[64:ff9b::7f00:1]",  # NAT64 around 127.0.0.1
    "[64:ff9b::a9fe:a9fe]",  # NAT64 around 169.254.169.254
    "[64:ff9b:1::1]",
    "[100::1]",
]


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fails a test on any connection the fetcher would open."""
    attempts: list[Any] = []

    def refuse(address: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(address)
        raise AssertionError(f"the fetcher tried to connect to {address}")

    monkeypatch.setattr(safe_requests.urllib3_connection, "create_connection", refuse)
    return attempts


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_forbidden_addresses_are_refused_in_every_spelling_without_connecting(
    host: str, no_connections: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # "localhost" goes to the resolver; the real one answers loopback.
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(f"http://{host}/latest/meta-data/")
    assert caught.value.code in {"forbidden_address", "bad_url"}, caught.value.message
    assert no_connections == []


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("example.org", None),
    ],
)
def test_numeric_hosts_are_read_as_browsers_read_them(spelling: str, address: str | None) -> None:
    parsed = addresses.parse_ip_host(spelling)
    assert (str(parsed) if parsed else None) == address


@pytest.mark.parametrize("host", ["256.0.0.1", "1.2.3.4.5", "0x1ffffffff", "08.0.0.1"])
def test_numbers_that_are_no_address_are_refused(host: str, no_connections: list[Any]) -> None:
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(f"http://{host}/")
    assert caught.value.code in {"bad_url", "dns_failed"}
    assert no_connections == []


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1"],
)
def test_public_addresses_are_public(address: str) -> None:
    assert addresses.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/file",
        "file:///etc/passwd",
        "gopher://example.org/",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://user:pass@example.org/",
        "http://example.org:22/",
        "http://example.org:8080/",
        "http:///nohost",
    ],
)
def test_other_schemes_ports_and_credentials_are_refused(
    url: str, no_connections: list[Any]
) -> None:
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(url)
    assert caught.value.code in {"bad_url", "forbidden_port"}
    assert no_connections == []


def test_loopback_is_refused_unless_the_test_opens_it(
    pages: PageServer, settings: Any, open_loopback: Any
) -> None:
    url = pages.page("/hello", HTML)
    settings.LINKPREVIEW_PORTS = [80, 443, pages.port]
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(url)
    assert caught.value.code == "forbidden_address"
    assert pages.hits == []
    open_loopback()
    result = get_fetcher().fetch(url)
    assert result.status == 200
    assert b"<title>Hello</title>" in result.body
    assert pages.hits == ["/hello"]


def test_ports_other_than_80_and_443_are_refused_unless_configured(
    pages: PageServer, settings: Any
) -> None:
    url = pages.page("/hello", HTML)
    settings.LINKPREVIEW_ALLOW_NETWORKS = ["127.0.0.0/8"]
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(url)
    assert caught.value.code == "forbidden_port"
    assert pages.hits == []


def test_the_fetcher_says_who_it_is_and_asks_for_html(
    pages: PageServer, open_loopback: Any
) -> None:
    open_loopback()
    get_fetcher().fetch(pages.page("/hello", HTML))
    (request,) = pages.requests
    assert request["user-agent"].startswith("HarborMessaging-LinkPreview/")
    assert request["accept"].startswith("text/html")
    assert request["accept-encoding"] == "gzip, deflate"


def test_a_name_that_resolves_to_a_forbidden_address_is_refused(
    pages: PageServer, forbidden: PageServer, open_loopback: Any, fake_dns: dict[str, Any]
) -> None:
    open_loopback(("127.0.0.1/32",), forbidden.port)
    fake_dns["inside.example"] = [["127.0.0.2"]]
    fake_dns["metadata.example"] = [["169.254.169.254"]]
    fake_dns["mixed.example"] = [["93.184.215.14", "10.0.0.7"]]  # every address is checked
    fake_dns["v6.example"] = [["::ffff:127.0.0.2"]]
    for name in ("inside.example", "metadata.example", "mixed.example", "v6.example"):
        with pytest.raises(FetchError) as caught:
            get_fetcher().fetch(forbidden.url("/secret", host=name))
        assert caught.value.code == "forbidden_address", name
    assert forbidden.hits == []


def test_the_connection_goes_to_the_checked_address_whatever_dns_says_next(
    pages: PageServer, forbidden: PageServer, open_loopback: Any, fake_dns: dict[str, Any]
) -> None:
    open_loopback(("127.0.0.1/32",))
    pages.page("/page", HTML)
    forbidden.page("/page", "<title>inside</title>")
    # DNS rebinding: the first answer passes the check, a later one points inside.
    fake_dns["rebind.example"] = [["127.0.0.1"], ["127.0.0.2"]]
    result = get_fetcher().fetch(f"http://rebind.example:{pages.port}/page")
    assert b"Hello" in result.body
    assert fake_dns["calls"] == ["rebind.example"]
    assert forbidden.hits == []
    # The name still reaches the server as the Host header.
    assert pages.requests[0]["host"] == f"rebind.example:{pages.port}"


def test_a_redirect_to_a_forbidden_place_is_refused_before_it_is_followed(
    pages: PageServer, forbidden: PageServer, open_loopback: Any, fake_dns: dict[str, Any]
) -> None:
    open_loopback(("127.0.0.1/32",), forbidden.port)
    fake_dns["inside.example"] = [["127.0.0.2"]]
    targets = [
        forbidden.url("/secret"),
        forbidden.url("/secret", host="inside.example"),
        f"http://2130706434:{forbidden.port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
        "file:///etc/passwd",
    ]
    for index, target in enumerate(targets):
        url = pages.redirect(f"/go{index}", target, status=301 if index % 2 else 302)
        with pytest.raises(FetchError) as caught:
            get_fetcher().fetch(url)
        assert caught.value.code in {"forbidden_address", "bad_url"}, target
    assert forbidden.hits == []
    assert pages.hits == [f"/go{i}" for i in range(len(targets))]


def test_redirects_are_followed_five_times_at_most(pages: PageServer, open_loopback: Any) -> None:
    open_loopback()
    pages.page("/end", HTML)
    for hop in range(6):
        pages.redirect(f"/r{hop}", f"/r{hop + 1}" if hop < 5 else "/end")
    assert b"Hello" in get_fetcher().fetch(pages.url("/r1")).body  # five redirects
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(pages.url("/r0"))  # six
    assert caught.value.code == "too_many_redirects"


def test_a_server_that_never_stops_sending_is_cut_off_at_the_byte_limit(
    pages: PageServer, open_loopback: Any, settings: Any
) -> None:
    open_loopback()
    settings.LINKPREVIEW_TIMEOUT_SECONDS = 5

    def endless(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        handler.wfile.write(b"<html><head><title>Forever</title></head><body>")
        while True:
            handler.wfile.write(b"<p>more</p>" * 1000)

    started = time.monotonic()
    result = get_fetcher().fetch(pages.handle("/endless", endless))
    assert result.truncated
    assert len(result.body) <= settings.LINKPREVIEW_MAX_BYTES
    assert time.monotonic() - started < 5


def test_a_server_that_drips_a_byte_a_second_is_cut_off_at_the_deadline(
    pages: PageServer, open_loopback: Any, settings: Any
) -> None:
    open_loopback()
    settings.LINKPREVIEW_TIMEOUT_SECONDS = 2

    def drip_body(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(60):
            handler.wfile.write(b"<")
            handler.wfile.flush()
            time.sleep(1)

    def drip_headers(handler: Any) -> None:
        for char in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60:
            handler.wfile.write(bytes([char]))
            handler.wfile.flush()
            time.sleep(0.5)

    for path, handler in (("/drip", drip_body), ("/slow-headers", drip_headers)):
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            get_fetcher().fetch(pages.handle(path, handler))
        elapsed = time.monotonic() - started
        assert caught.value.code == "timeout", path
        assert elapsed < 2 + 1.5, (path, elapsed)


def test_a_gzip_bomb_is_cut_off_at_the_limit_after_decompression(
    pages: PageServer, open_loopback: Any, settings: Any
) -> None:
    open_loopback()
    bomb = gzip_bomb(200)  # 200 MB of zeros in about 200 KB
    assert len(bomb) < 1024 * 1024
    pages.page("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    started = time.monotonic()
    result = get_fetcher().fetch(pages.url("/bomb"))
    assert result.truncated
    assert len(result.body) <= settings.LINKPREVIEW_MAX_BYTES
    assert time.monotonic() - started < 5


def test_gzip_pages_are_read_decompressed(pages: PageServer, open_loopback: Any) -> None:
    import gzip

    open_loopback()
    pages.page("/gz", gzip.compress(HTML.encode()), headers={"Content-Encoding": "gzip"})
    assert get_fetcher().fetch(pages.url("/gz")).body == HTML.encode()


@pytest.mark.parametrize(
    "content_type",
    ["application/pdf", "application/octet-stream", "image/svg+xml", "text/plain", "", "video/mp4"],
)
def test_answers_that_are_not_html_are_not_read(
    pages: PageServer, open_loopback: Any, content_type: str
) -> None:
    open_loopback()
    pages.page("/file", b"%PDF-1.7 " * 1000, headers={"Content-Type": content_type})
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(pages.url("/file"))
    assert caught.value.code == "unsupported_type"


def test_an_image_fetch_asks_for_images_only(pages: PageServer, open_loopback: Any) -> None:
    open_loopback()
    pages.page("/page", HTML)
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(pages.url("/page"), accept=IMAGE_TYPES)
    assert caught.value.code == "unsupported_type"


def test_error_statuses_are_failures(pages: PageServer, open_loopback: Any) -> None:
    open_loopback()
    pages.page("/gone", HTML, status=410)
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(pages.url("/gone"))
    assert caught.value.code == "http_error"


def test_an_address_that_refuses_makes_way_for_the_next_checked_one(
    pages: PageServer, open_loopback: Any, fake_dns: dict[str, Any]
) -> None:
    open_loopback(("127.0.0.0/8",))
    pages.page("/dual", HTML)
    fake_dns["dual.example"] = [["127.0.0.3", "127.0.0.1"]]  # nothing listens on .3
    result = get_fetcher().fetch(f"http://dual.example:{pages.port}/dual")
    assert b"Hello" in result.body
    fake_dns["dead.example"] = [["127.0.0.3"]]
    with pytest.raises(FetchError) as caught:
        get_fetcher().fetch(f"http://dead.example:{pages.port}/dual")
    assert caught.value.code == "connection_failed"
