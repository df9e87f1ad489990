"""The client's address behind CloudFront and the ALB: the audit trail, the login throttle and the
session binding all use the right hop of `X-Forwarded-For`, never the leftmost (review H1, L3)."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.forwarded import client_address, parse_networks, throttle_key
from tests.conftest import Database
from tests.dashboard.conftest import PASSWORD, audit_mark, audit_rows, clear_throttle, login

# The test client's peer is 127.0.0.1, which the test settings trust as a proxy (the ALB's role).
EDGE = "130.176.9.9"  # a CloudFront edge: many users reach the origin through it
OTHER_EDGE = "130.176.9.10"


def via_edge(client: Any, viewer: str, edge: str = EDGE, spoofed: str | None = None) -> Any:
    """Send the client's requests as CloudFront + ALB would deliver them from `viewer`."""
    chain = [spoofed] if spoofed else []
    client.environ_base["HTTP_X_FORWARDED_FOR"] = ", ".join([*chain, viewer, edge])
    return client


def _audit_addresses(db: Database, since: int) -> list[tuple[str, str, str | None]]:
    return [(row["kind"], row["outcome"], row["addr"]) for row in audit_rows(db, since)]


def test_client_address_is_the_hop_our_proxies_wrote() -> None:
    """With two trusted proxies the client is the second entry from the right, whatever the client
    put on the left; an untrusted peer's header is ignored; a short chain gives its leftmost entry."""
    alb = parse_networks(["10.0.0.0/16"])
    chain = "6.6.6.6, 203.0.113.7, 130.176.9.9"
    assert client_address("10.0.1.5", chain, alb, 2) == "203.0.113.7"
    assert client_address("10.0.1.5", chain, alb, 1) == "130.176.9.9"
    assert client_address("192.0.2.1", chain, alb, 2) == "192.0.2.1"  # not from our ALB
    assert client_address("10.0.1.5", "203.0.113.7", alb, 2) == "203.0.113.7"
    assert client_address("10.0.1.5", "6.6.6.6, junk, 130.176.9.9", alb, 2) == "10.0.1.5"
    assert client_address("10.0.1.5", None, alb, 2) == "10.0.1.5"
    assert client_address("not an address", chain, alb, 2) is None


def test_throttle_key_groups_ipv6_by_64() -> None:
    """IPv6 addresses of one /64 count as one address for the throttle; IPv4 stays as is."""
    assert throttle_key("2001:db8::1") == throttle_key("2001:db8::1e") == "2001:db8::/64"
    assert throttle_key("2001:db8:0:1::1") != throttle_key("2001:db8::1")
    assert throttle_key("203.0.113.7") == "203.0.113.7"


def test_attacker_behind_an_edge_does_not_lock_out_a_victim_behind_it(
    dash_app: Any, dash_db: Database
) -> None:
    """An attacker's failures through a CloudFront edge slow only the attacker's address: the victim
    reaching the origin through the same edge logs in, and the audit trail names both real clients."""
    since = audit_mark(dash_db)
    limit = dash_app.server.extensions["mycfa"].settings.login_max_failures
    attacker = via_edge(dash_app.server.test_client(), "198.51.100.66", spoofed="203.0.113.7")
    codes = [login(attacker, "ann", "wrong password!").status_code for _ in range(limit + 1)]
    assert codes == [401] * limit + [429]
    victim = via_edge(dash_app.server.test_client(), "203.0.113.7")
    assert login(victim, "ann", PASSWORD).status_code == 302
    assert dash_app.server.extensions["mycfa"].audit.flush(10)
    addresses = {addr for kind, _, addr in _audit_addresses(dash_db, since) if kind == "login"}
    assert addresses == {"198.51.100.66", "203.0.113.7"}
    clear_throttle(dash_db)


def test_session_bound_to_real_client_not_leftmost_header(dash_app: Any, dash_db: Database) -> None:
    """A stolen cookie replayed from another address is refused even when the thief writes the
    victim's address on the left of X-Forwarded-For; the victim keeps the session across edges."""
    victim = via_edge(dash_app.server.test_client(), "203.0.113.8")
    assert login(victim, "ann").status_code == 302
    assert via_edge(victim, "203.0.113.8", edge=OTHER_EDGE).get("/_dash-layout").status_code == 200
    thief = dash_app.server.test_client()
    thief.set_cookie("mycfa_session", victim.get_cookie("mycfa_session").value)
    via_edge(thief, "198.51.100.66", spoofed="203.0.113.8")
    assert thief.get("/_dash-layout").status_code == 401
    clear_throttle(dash_db)


@pytest.mark.parametrize("hops", [1, 3])
def test_proxy_hops_setting_picks_the_hop(dash_db: Database, tmp_path: Any, hops: int) -> None:
    """MYCFA_DASH_PROXY_HOPS says how many proxies append to the header: the audit follows it."""
    from dashboard.app import create_app
    from tests.dashboard.conftest import make_settings

    app = create_app(make_settings(dash_db, proxy_hops=hops))
    since = audit_mark(dash_db)
    client = app.server.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.3, 192.0.2.2, 192.0.2.1"
    assert login(client, "ann").status_code == 302
    assert app.server.extensions["mycfa"].audit.flush(10)
    expected = {1: "192.0.2.1", 3: "192.0.2.3"}[hops]
    assert [addr for kind, _, addr in _audit_addresses(dash_db, since) if kind == "login"] == [expected]
    app.server.extensions["mycfa"].router.dispose()
    clear_throttle(dash_db)
