"""Locust users for `scripts/loadtest`: log in, read the app's callback map, replay devkit/loadmix.py's clicks."""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable
from typing import Any, cast

from locust import FastHttpUser, TaskSet, between, events

from devkit import loadmix as mix

SYMBOLS = os.environ.get("LOADTEST_SYMBOLS", "AAPL,MSFT").split(",")
USER = os.environ.get("LOADTEST_USER", "loadtest")
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "")
LOGIN_TRIES = 60


_logged_in = 0


@events.test_start.add_listener
def _reset_counter(**_: Any) -> None:
    global _logged_in
    _logged_in = 0


def _tasks(all_pages: bool) -> list[TaskSet | Callable[..., Any]]:
    """Locust's task list for one user class: each click of the mix, repeated as its weight."""
    chosen: list[TaskSet | Callable[..., Any]] = []
    for click in mix.CLICKS:
        if click.all_pages == all_pages:

            def send(user: Analyst, click: mix.Click = click) -> None:
                user.send(click)

            send.__name__ = click.key
            chosen += [send] * click.weight
    return chosen


class Analyst(FastHttpUser):
    """One logged-in analyst clicking through the Company and Compare pages (a page view builds a
    layout and writes one audit row when auditing is on)."""

    wait_time = between(0.5, 2.0)
    tasks = _tasks(all_pages=False)

    def on_start(self) -> None:
        # Every simulated user logs in as the same account from the same address, so the login
        # throttle (attempts in flight count until they succeed) asks some to wait: they do, and retry.
        for _ in range(LOGIN_TRIES):
            page = self.client.get("/login", name="/login [GET]").text or ""
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token, "no CSRF token on the login page"
            response = self.client.post(
                "/login",
                data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
                name="/login [POST]",
                allow_redirects=False,
            )
            if response.status_code != 429:
                break
            retry_after = response.headers.get("Retry-After") if response.headers else None
            time.sleep(float(str(retry_after or 1)) + random.random())
        assert response.status_code == 302, f"login failed: {response.status_code}"
        csrf = [cookie.value for cookie in self.client.cookiejar if cookie.name == "mycfa_csrf"]
        assert csrf, "no CSRF cookie after login"
        self.csrf_headers = {"X-CSRF-Token": csrf[0] or ""}
        # a JSON list of callback specs (locust types .json() as a dict)
        self.deps: list[dict[str, Any]] = cast(
            list[dict[str, Any]], self.client.get("/_dash-dependencies").json()
        )
        global _logged_in
        _logged_in += 1
        target = self.environment.parsed_options.num_users if self.environment.parsed_options else 0
        if _logged_in == target:
            # Every user is logged in: measure from here, at full concurrency (logins are argon2-bound).
            self.environment.stats.reset_all()

    def send(self, click: mix.Click) -> None:
        """One click of the mix: its body from the app's callback map, checked for the answer it expects."""
        with self.client.post(
            "/_dash-update-component",
            json=click.body(self.deps, SYMBOLS),
            name=click.name,
            headers=self.csrf_headers,
            catch_response=True,
        ) as response:
            if response.status_code != 200 or not click.answered(response.text or ""):
                response.failure(f"status {response.status_code}")


class AllPagesAnalyst(Analyst):
    """An analyst on every page: Company and Compare as above, plus Valuation, Forecast, Portfolio,
    Screener and Status (`scripts/loadtest --all-pages` names this class and logs in as an admin)."""

    tasks = _tasks(all_pages=True)
