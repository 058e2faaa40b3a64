"""Which addresses a source may lead the fetcher to.

A source configured on a public name is never led, by a redirect or an article link, to a
loopback, link-local, private or otherwise reserved address: the check is made on each
address a name resolves to, at the moment of connecting, so a name that resolves to
127.0.0.1 (or starts to, between two requests) does not pass. A source configured on such
an address itself (an intranet server, the demo on 127.0.0.1) is trusted with them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")


class AddressRefused(OSError):
    """A connection not made: the address is not a public one."""


def reserved(ip: str) -> str | None:
    """What kind of non-public address ``ip`` is ("loopback", "private"…), or None for a
    public one."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return "unparsable"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved",
                 "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "reserved"


def internal_source(url: str) -> bool:
    """A source configured on a non-public address or a local name: it may be led to
    other such addresses (an intranet, the demo)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:  # a name: public unless it is a local one, whatever it resolves to
        return host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host
    return reserved(host) is not None
