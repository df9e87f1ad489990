"""The client's address behind our proxies: `X-Forwarded-For` read from the right, one hop per proxy.

In AWS a request passes CloudFront, which appends the viewer's address, then the ALB, which appends
CloudFront's: the app sees `X-Forwarded-For: <whatever the client sent>, <viewer>, <CloudFront>` from
the ALB. With `hops` trusted proxies the client is the `hops`-th entry from the right; everything to
its left was written by the client and is never believed (the leftmost entry, which Flask-Login and
most examples use, is the attacker's choice). The header is read at all only when the TCP peer is one
of our proxies (the ALB's subnets), so a client that reaches the app directly cannot choose its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_GROUP_PREFIX = 64  # one IPv6 subscriber holds a whole /64: the throttle counts it as one address


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def client_address(
    remote: str | None, forwarded_for: str | None, trusted: Sequence[Network], hops: int
) -> str | None:
    """The client's address: the TCP peer, or, when the peer is a trusted proxy, the `hops`-th
    `X-Forwarded-For` entry from the right (the last one a proxy of ours wrote).

    A chain shorter than `hops` (a request that skipped a proxy) gives its leftmost entry, which a
    proxy of ours still wrote; a malformed entry where the client should be gives the peer.
    """
    try:
        peer = ipaddress.ip_address(remote or "")
    except ValueError:
        return None
    if hops < 1 or not forwarded_for or not any(peer in net for net in trusted):
        return str(peer)
    entries = [entry.strip() for entry in forwarded_for.split(",")]
    entry = entries[-hops] if len(entries) >= hops else entries[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return str(peer)


def throttle_key(address: str) -> str:
    """The address as the login throttle counts it: IPv4 as is, IPv6 by its /64 (one subscriber can
    pick any of 2^64 addresses, so counting each would never slow them)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_GROUP_PREFIX}", strict=False))
    return str(parsed)
