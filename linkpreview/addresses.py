"""Which network addresses a preview may be fetched from: public unicast ones only, however
the URL spells them (decimal, octal, hex, short IPv4 forms, IPv6 with IPv4 inside)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Written out rather than left to ipaddress.is_global alone, whose lists change between
# Python versions (multicast, for one, counts as "global" there).
DENIED_IPV4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 included
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.31.196.0/24",  # AS112
        "192.52.193.0/24",  # AMT
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # private
        "192.175.48.0/24",  # AS112 direct delegation
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast included
    )
)
DENIED_IPV6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/128",  # unspecified
        "::1/128",  # loopback
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped: allowed only through its IPv4 address
        "::ffff:0:0:0/96",  # IPv4-translated
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) among them
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


class NotAnAddress(ValueError):
    """A host that looks like a number but is no valid address (browsers refuse it too)."""


def _ipv4_part(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def parse_ip_host(host: str) -> IPAddress | None:
    """The address a URL's host spells, or None when the host is a name.

    Accepts every form a browser or ``inet_aton`` reads as IPv4 (``127.0.0.1``,
    ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) and IPv6 in brackets or not.
    """
    value = host.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if ":" in value:
        try:
            return ipaddress.IPv6Address(value)
        except ValueError as exc:
            raise NotAnAddress(f"{host!r} is not a valid IPv6 address") from exc
    value = value.rstrip(".")
    parts = value.split(".")
    if not parts[-1] or not _IPV4_PART.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or not all(_IPV4_PART.fullmatch(part) for part in parts):
        # A last label that is a number makes the host an IPv4 address to a browser.
        raise NotAnAddress(f"{host!r} is not a valid IPv4 address")
    numbers = [_ipv4_part(part) for part in parts]
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        raise NotAnAddress(f"{host!r} is out of the IPv4 range")
    value_int = last
    for index, number in enumerate(leading):
        value_int += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value_int)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries: mapped, compatible, 6to4, Teredo, NAT64."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in NAT64 or address in IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: IPAddress) -> bool:
    """Whether the address is public unicast, with nothing non-public inside it."""
    if isinstance(address, ipaddress.IPv4Address):
        return (
            address.is_global
            and not address.is_multicast
            and not any(address in net for net in DENIED_IPV4)
        )
    if address.scope_id:
        return False
    if not address.is_global or address.is_multicast:
        return False
    if any(address in net for net in DENIED_IPV6):
        return False
    return all(is_public(inner) for inner in embedded_ipv4(address))


def parse_networks(spec: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs from a comma list (``127.0.0.0/8,::1/128``) or an iterable of them."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def is_allowed(address: IPAddress, allow_networks: Iterable[IPNetwork] = ()) -> bool:
    """Public, or inside a network opened on purpose (``LINKPREVIEW_ALLOW_NETWORKS``)."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    for network in allow_networks:
        if any(c.version == network.version and c in network for c in candidates):
            return True
    return is_public(address)
