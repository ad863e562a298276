"""What a link is, before anything is fetched: its normalised form, its real domain as ASCII
and as people read it, and the warnings the page shows beside it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import idna

from .addresses import NotAnAddress, parse_ip_host

URL_MAX = 2048
PREVIEW_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

NOT_HTTPS = "not_https"
PUNYCODE = "punycode"
MIXED_SCRIPT = "mixed_script"
IP_ADDRESS = "ip_address"
TEXT_MISMATCH = "text_mismatch"
USERINFO = "userinfo"
WARNINGS = (NOT_HTTPS, PUNYCODE, MIXED_SCRIPT, IP_ADDRESS, TEXT_MISMATCH, USERINFO)

# Characters a normalised path or query keeps as they are; the rest is percent-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_DOMAIN_IN_TEXT = re.compile(
    r"(?<![\w@.-])((?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63})(?![\w-])", re.UNICODE
)


class InvalidUrl(ValueError):
    """Not an http(s) URL this service can name, normalise and check."""


class UnsupportedScheme(InvalidUrl):
    """A well-formed URL of another scheme (ftp:, file:, javascript:): never fetched."""


@dataclass(frozen=True)
class LinkInfo:
    url: str
    normalized_url: str
    scheme: str
    host: str  # ASCII: IDNA-encoded names, canonical IP addresses ([...] for IPv6)
    port: int
    domain: str  # the host without IPv6 brackets, as ASCII
    display_domain: str  # the host as people read it (Unicode for IDNA names)
    is_ip: bool
    has_userinfo: bool
    warnings: tuple[str, ...]

    @property
    def previewable(self) -> bool:
        return not self.has_userinfo


def _ascii_host(raw: str) -> tuple[str, str, bool]:
    """(ASCII host, display host, is an IP address) for a URL's host."""
    if not raw:
        raise InvalidUrl("The URL names no host.")
    try:
        address = parse_ip_host(raw)
    except NotAnAddress as exc:
        raise InvalidUrl(str(exc)) from exc
    if address is not None:
        text = str(address)
        return (f"[{text}]" if address.version == 6 else text), text, True
    name = raw.rstrip(".").lower()
    if not name or len(name) > 253:
        raise InvalidUrl("The URL's host is not a valid name.")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        try:
            # Names IDNA 2008 refuses but browsers still open (underscores, emoji) get the
            # older encoding, so they are still warned about rather than silently dropped.
            ascii_name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidUrl("The URL's host is not a valid name.") from exc
    if not re.fullmatch(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*", ascii_name):
        raise InvalidUrl("The URL's host is not a valid name.")
    try:
        display = idna.decode(ascii_name)
    except idna.IDNAError:
        display = ascii_name
    return ascii_name, display, False


def _scripts(label: str) -> set[str]:
    scripts: set[str] = set()
    for char in label:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        scripts.add(name.split(" ", 1)[0] if name else "UNKNOWN")
    return scripts


def is_mixed_script(display_domain: str) -> bool:
    """A label that mixes scripts (Latin with Cyrillic, say): the mark of a look-alike."""
    return any(len(_scripts(label)) > 1 for label in display_domain.split("."))


def domains_in_text(text: str) -> list[str]:
    """Domain names a piece of text shows (``paypal.com`` in "Log in at paypal.com")."""
    found: list[str] = []
    for match in _DOMAIN_IN_TEXT.finditer(text):
        try:
            found.append(idna.encode(match.group(1).lower(), uts46=True).decode("ascii"))
        except idna.IDNAError:
            continue
    return found


def _same_site(a: str, b: str) -> bool:
    a, b = a.removeprefix("www."), b.removeprefix("www.")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def names_another_domain(text: str, domain: str) -> bool:
    """Whether the text shows a domain that is not the link's own (nor a parent of it)."""
    return any(not _same_site(shown, domain) for shown in domains_in_text(text))


def inspect_url(url: str, *, text: str | None = None) -> LinkInfo:
    """Normalise an http(s) URL and say what to warn about; InvalidUrl when it is none."""
    raw = url.strip()
    if not raw or len(raw) > URL_MAX:
        raise InvalidUrl(f"A URL is 1 to {URL_MAX} characters.")
    if re.search(r"[\x00-\x20\x7f]", raw):
        raise InvalidUrl("The URL contains spaces or control characters.")
    has_scheme = re.match(r"[a-z][a-z0-9+.-]*:(?!\d)", raw, re.IGNORECASE) is not None
    if not has_scheme and re.match(r"[\w.-]+(?:[:/?#]|$)", raw):
        raw = "http://" + raw  # As linkify reads "example.org/x".
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidUrl("The URL is malformed.") from exc
    scheme = parts.scheme.lower()
    if scheme not in PREVIEW_SCHEMES:
        raise UnsupportedScheme("Only http and https URLs are links here.")
    netloc = parts.netloc
    has_userinfo = "@" in netloc
    hostport = netloc.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        host_raw = hostport[: hostport.find("]") + 1] if "]" in hostport else hostport
    else:
        host_raw = hostport.rsplit(":", 1)[0] if ":" in hostport else hostport
    host, display, is_ip = _ascii_host(host_raw)
    effective_port = port if port is not None else DEFAULT_PORTS[scheme]
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    authority = host if effective_port == DEFAULT_PORTS[scheme] else f"{host}:{effective_port}"
    normalized = f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")
    if len(normalized) > URL_MAX:
        raise InvalidUrl(f"A URL is 1 to {URL_MAX} characters.")
    domain = host.strip("[]")
    warnings: list[str] = []
    if scheme != "https":
        warnings.append(NOT_HTTPS)
    if any(label.startswith("xn--") for label in domain.split(".")):
        warnings.append(PUNYCODE)
    if not is_ip and is_mixed_script(display):
        warnings.append(MIXED_SCRIPT)
    if is_ip:
        warnings.append(IP_ADDRESS)
    if text and not is_ip and names_another_domain(text, domain):
        warnings.append(TEXT_MISMATCH)
    if has_userinfo:
        warnings.append(USERINFO)
    return LinkInfo(
        url=url.strip(),
        normalized_url=normalized,
        scheme=scheme,
        host=host,
        port=effective_port,
        domain=domain,
        display_domain=display,
        is_ip=is_ip,
        has_userinfo=has_userinfo,
        warnings=tuple(warnings),
    )
