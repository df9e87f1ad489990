"""The login throttle slows guesses spread over many addresses, per account, without locking the
owner out (review M5), and counts one IPv6 subscriber's /64 as one address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devkit import seed
from tests.conftest import Database
from tests.dashboard.conftest import PASSWORD, clear_throttle, login


@pytest.fixture
def tess(dash_db: Database) -> Iterator[str]:
    """An account of this test's own (the throttle counts per account)."""
    seed.add_user(dash_db.owner_url, "tess", PASSWORD, "analyst")
    clear_throttle(dash_db)
    yield "tess"
    clear_throttle(dash_db)


def _from(dash_app: Any, address: str) -> Any:
    client = dash_app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_spread_guesses_slow_the_account_but_not_its_owner(dash_app: Any, tess: str) -> None:
    """Wrong passwords from ever new addresses pass freely only up to the account-wide allowance; then
    even a new address waits (429, Retry-After), while the owner from an address they logged in from
    before still gets in."""
    settings = dash_app.server.extensions["mycfa"].settings
    assert login(_from(dash_app, "10.20.0.1"), tess).status_code == 302  # the owner's usual address
    free = settings.login_account_max_failures
    codes = [
        login(_from(dash_app, f"10.21.{n // 250}.{n % 250 + 1}"), tess, "wrong password!").status_code
        for n in range(free + 3)
    ]
    assert codes == [401] * free + [429] * 3
    stranger = login(_from(dash_app, "10.22.0.1"), tess, PASSWORD)
    assert stranger.status_code == 429  # the right password from a new address waits too: slowed
    assert int(stranger.headers["Retry-After"]) >= 1
    assert login(_from(dash_app, "10.20.0.1"), tess).status_code == 302  # the owner, from home


def test_one_ipv6_subscriber_counts_as_one_address(dash_app: Any, tess: str) -> None:
    """The review's P07: 30 wrong passwords from 30 addresses of one IPv6 /64 are throttled after the
    per-address allowance, as if from one address."""
    free = dash_app.server.extensions["mycfa"].settings.login_max_failures
    codes = [
        login(_from(dash_app, f"2001:db8::{n + 1:x}"), tess, "wrong password!").status_code for n in range(30)
    ]
    assert codes == [401] * free + [429] * (30 - free)
    assert login(_from(dash_app, "2001:db8:0:1::1"), tess).status_code == 302  # the next /64 is not held
