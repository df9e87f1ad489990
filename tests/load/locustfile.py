"""Locust users for `scripts/loadtest`: log in, read the app's callback map, replay Company and Compare callbacks."""

from __future__ import annotations

import os
import random
import re
import time
from typing import Any, cast

from locust import FastHttpUser, between, events, task

from tests.dashboard import callbacks

SYMBOLS = os.environ.get("LOADTEST_SYMBOLS", "AAPL,MSFT").split(",")
USER = os.environ.get("LOADTEST_USER", "loadtest")
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "")
SPANS = ["1Y", "5Y", "10Y"]
LOGIN_TRIES = 60
OVERLAYS = [[], ["sma_50"], ["sma_50", "sma_200"], ["bbands"]]


_logged_in = 0


@events.test_start.add_listener
def _reset_counter(**_: Any) -> None:
    global _logged_in
    _logged_in = 0


class Analyst(FastHttpUser):
    """One logged-in analyst clicking through the Company and Compare pages."""

    wait_time = between(0.5, 2.0)

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

    def _callback(self, output_id: str, values: dict[str, Any], name: str) -> None:
        body = callbacks.body(callbacks.find(self.deps, output_id), values)
        with self.client.post(
            "/_dash-update-component", json=body, name=name, headers=self.csrf_headers, catch_response=True
        ) as response:
            if response.status_code != 200 or '"response"' not in (response.text or ""):
                response.failure(f"status {response.status_code}")

    @task(1)
    def page_view(self) -> None:
        """Opening a page builds its layout (and writes one audit row when auditing is on)."""
        body = callbacks.page_body(self.deps, random.choice(["/", "/compare"]))
        with self.client.post(
            "/_dash-update-component",
            json=body,
            name="page view (layout)",
            headers=self.csrf_headers,
            catch_response=True,
        ) as response:
            if response.status_code != 200 or "_pages_content" not in (response.text or ""):
                response.failure(f"status {response.status_code}")

    @task(4)
    def company_price(self) -> None:
        self._callback(
            "company-price-graph",
            {
                "company-symbol": random.choice(SYMBOLS),
                "company-adjusted": random.choice(["adj", "raw"]),
                "company-overlays": random.choice(OVERLAYS),
                "company-range": random.choice(SPANS),
            },
            "company: price chart",
        )

    @task(2)
    def company_profile(self) -> None:
        self._callback(
            "company-profile", {"company-symbol": random.choice(SYMBOLS)}, "company: profile + freshness"
        )

    @task(2)
    def company_statements(self) -> None:
        self._callback(
            "company-statement-table",
            {
                "company-symbol": random.choice(SYMBOLS),
                "company-period": random.choice(["FY", "Q", "TTM"]),
                "company-kind": random.choice(["income", "balance", "cashflow"]),
            },
            "company: statements + ratios",
        )

    @task(3)
    def compare(self) -> None:
        self._callback(
            "compare-table",
            {
                "compare-symbols": random.sample(SYMBOLS, random.randint(2, 5)),
                "compare-span": random.choice(["1Y", "3Y", "5Y"]),
            },
            "compare: ratios + normalised prices",
        )


class AllPagesAnalyst(Analyst):
    """An analyst on every page: Company and Compare as above, plus Valuation, Forecast, Portfolio,
    Screener and Status (`scripts/loadtest --all-pages` names this class and logs in as an admin)."""

    @task(2)
    def valuation(self) -> None:
        assumptions = callbacks.VALUATION_DEFAULTS  # the page's own defaults
        self._callback(
            "valuation-summary",
            {
                "valuation-symbol": random.choice(SYMBOLS),
                **{f"valuation-{k}": v for k, v in assumptions.items()},
            },
            "valuation: DCF + multiples",
        )

    @task(2)
    def forecast(self) -> None:
        self._callback(
            "forecast-graph",
            {
                "forecast-symbol": random.choice(SYMBOLS),
                "forecast-series": random.choice(["revenue", "netIncome", "freeCashFlow", "price"]),
                "forecast-frequency": random.choice(["FY", "Q"]),
                "forecast-method": random.choice(["ets", "loglinear"]),
            },
            "forecast: fit + intervals",
        )

    @task(1)
    def portfolio(self) -> None:
        chosen = random.sample(SYMBOLS, random.randint(2, 6))
        holdings = ", ".join(f"{s}:{1 / len(chosen):.3f}" for s in chosen)
        self._callback(
            "portfolio-stats",
            {"portfolio-run": 1, "portfolio-holdings": holdings, "portfolio-rf": 4.0},
            "portfolio: stats + optimiser",
        )

    @task(1)
    def screener(self) -> None:
        self._callback(
            "screener-results",
            {
                "screener-sectors": [],
                "screener-metric": random.choice(["roe", "pe", "net_margin"]),
                "screener-min": None,
                "screener-max": None,
                "screener-sort": random.choice(["market_cap", "roe"]),
                "screener-order": random.choice(["asc", "desc"]),
            },
            "screener: universe table",
        )

    @task(1)
    def status(self) -> None:
        self._callback("status-runs", {"status-interval": 1}, "status: nodes + runs")
