"""CSV exports cannot carry a spreadsheet formula (review L6); a password typed as the user name never
reaches the audit trail, its JSON lines or the logs (L2)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import psycopg
import pytest

from dashboard import audit_store
from dashboard.components import export
from devkit import seed
from tests.conftest import Cluster, Database, wait_for_replica
from tests.dashboard.conftest import audit_mark, audit_rows, clear_throttle, login

HOSTILE = ('=HYPERLINK("http://x","click")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR")


def test_exported_text_cells_cannot_start_a_formula(
    dash_app: Any, logged_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text cells starting with =, +, -, @, a tab or a carriage return are exported with a leading `'`
    (the spreadsheet shows them as text); numbers, negative ones included, stay numbers."""

    def hostile(_: Mapping[str, str]) -> pd.DataFrame:
        return pd.DataFrame({"name": [*HOSTILE, "Apple Inc."], "value": [-1.5, 2, 3, 4, 5, 6, -7]})

    monkeypatch.setitem(export._EXPORTERS, ("company", "hostile"), hostile)
    response = logged_in("ann").get("/export/company/hostile.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert [row["name"] for row in rows] == [f"'{text}" for text in HOSTILE] + ["Apple Inc."]
    assert [row["value"] for row in rows] == ["-1.5", "2.0", "3.0", "4.0", "5.0", "6.0", "-7.0"]


def test_export_hrefs_encode_the_query_once_as_each_href_would() -> None:
    """The links of several CSVs on one query are each one's own `export_href` (hostile text escaped)."""
    params = {"holdings": "AAPL:0.4, MSFT:0.3 & =JNJ", "rf": "4.0", "as_of": "2024-02-02", "pin": ""}
    names = ("stats", "closes-trail", "forward")
    assert export.export_hrefs("portfolio", names, params) == [
        export.export_href("portfolio", name, params) for name in names
    ]


def test_password_typed_as_user_name_is_never_recorded(dash_app: Any, dash_db: Database) -> None:
    """The review's P08: a password typed into the user-name field (a valid-looking name that is no
    account) appears in no audit row, no audit JSON line and no log line; a keyed hash stands in for
    it, the same for the same text, so repeated attempts still correlate. A real account's name is kept."""
    secret = "tr0ub4dor-and-3"
    stream, logs = io.StringIO(), io.StringIO()
    audit_store.audit_logger(stream)
    from dashboard.logs import configure_logging

    configure_logging("DEBUG", logs)
    since = audit_mark(dash_db)
    client = dash_app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.88"
    assert login(client, secret, "whatever password").status_code == 401
    assert login(client, secret, "another password").status_code == 401
    assert login(client, "ann", "wrong password!").status_code == 401
    assert dash_app.server.extensions["mycfa"].audit.flush(10)
    rows = [r for r in audit_rows(dash_db, since) if r["addr"] == "127.0.0.88"]
    assert secret not in json.dumps(rows, default=str)
    assert secret not in stream.getvalue()
    assert secret not in logs.getvalue()
    unknown = [r for r in rows if r["detail"].get("reason") == "unknown user"]
    assert len(unknown) == 2
    assert unknown[0]["username"] is None
    assert unknown[0]["detail"]["name_hmac"] == unknown[1]["detail"]["name_hmac"]
    assert [r["username"] for r in rows if r["detail"].get("reason") == "wrong password"] == ["ann"]
    audit_store.audit_logger(io.StringIO())
    configure_logging("INFO")
    clear_throttle(dash_db)


@pytest.fixture
def early_run(dash_db: Database, pg_cluster: Cluster) -> Iterator[int]:
    """A run of the ledger that ended on 2024-03-01, between AAPL's FY2023 filing and its restatement
    (seed.RESTATED_ON), and before FY2024 was filed; removed afterwards."""
    with psycopg.connect(dash_db.owner_url, autocommit=True) as conn:
        run = conn.execute(
            "INSERT INTO runs (job, state, started_at, heartbeat_at, finished_at, exit_code)"
            " VALUES ('fundamentals', 'succeeded', '2024-02-29', '2024-03-01', '2024-03-01', 0) RETURNING run_id"
        ).fetchone()[0]  # type: ignore[index]
    wait_for_replica(pg_cluster)
    try:
        yield int(run)
    finally:
        with psycopg.connect(dash_db.owner_url, autocommit=True) as conn:
            conn.execute("DELETE FROM runs WHERE run_id = %s", (run,))
        wait_for_replica(pg_cluster)


def test_company_exports_hold_the_figures_of_the_view_as_of_a_date_or_pinned(
    logged_in: Any, early_run: int
) -> None:
    """The Company page's ratio and statement CSVs hold what the view shows: as of a day before AAPL's
    restatement (seed: FY2023 revenue 2 % higher on RESTATED_ON), or pinned to a run that ended before
    it, the revenue as filed and the net margin on it; live, the restated ones."""
    client = logged_in("ann")
    day = seed.RESTATED_FISCAL_DATE.isoformat()
    run = early_run

    def row(export: str, query: str) -> pd.Series:
        response = client.get(f"/export/company/{export}.csv?symbol=AAPL&period=FY&kind=income{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        frame = pd.read_csv(io.StringIO(response.get_data(as_text=True)), index_col=0)
        frame.index = [str(i)[:10] for i in frame.index]
        return frame.loc[day]

    live_ratios, live_lines = row("ratios", ""), row("statements", "")
    for query in ("&as_of=2024-03-01", f"&pin={run}", f"&as_of=2024-12-31&pin={run}"):
        ratios, lines = row("ratios", query), row("statements", query)
        assert lines["revenue"] == pytest.approx(live_lines["revenue"] / 1.02, rel=1e-6), query
        assert lines["netIncome"] == pytest.approx(live_lines["netIncome"]), query
        assert ratios["net_margin"] == pytest.approx(live_ratios["net_margin"] * 1.02, rel=1e-6), query
    first = row("ratios", "&figures=first")
    assert first["net_margin"] == pytest.approx(live_ratios["net_margin"] * 1.02, rel=1e-6)
    unknown = client.get(f"/export/company/ratios.csv?symbol=AAPL&pin={run + 1000}")
    assert unknown.status_code == 400
    assert "not in the run ledger" in unknown.get_data(as_text=True)


def test_a_pinned_dcf_holds_what_the_store_held_when_its_run_ended(logged_in: Any, early_run: int) -> None:
    """The Valuation CSVs pinned to a run that ended on 2024-03-01 hold the DCF on the statements, close and
    share count of that day (equal to the as-of view of that day), not on FY2024, filed since; the
    multiples too; the page says it is pinned."""
    client = logged_in("ann")
    query = "symbol=KO&growth=6&years=5&terminal=2.5&rf=4&beta=1&erp=5.5&kd=5&tax=21"

    def csv_of(export: str, extra: str) -> str:
        response = client.get(f"/export/valuation/{export}.csv?{query}{extra}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return str(response.get_data(as_text=True))

    for name in ("projection", "grid"):
        pinned = csv_of(name, f"&pin={early_run}")
        assert pinned == csv_of(name, "&as_of=2024-03-01"), name
        assert pinned != csv_of(name, ""), name
    multiples = pd.read_csv(io.StringIO(csv_of("multiples", f"&pin={early_run}")))
    assert set(multiples["period_end"]) == {"2023-12-31"}
    same_day = pd.read_csv(io.StringIO(csv_of("multiples", "&as_of=2024-03-01")))
    pd.testing.assert_series_equal(multiples["value"], same_day["value"])


ASSUMED = {"growth": 6, "years": 5, "terminal": 2.5, "rf": 4, "beta": 1, "erp": 5.5, "kd": 5, "tax": 21}
DCF = urlencode(ASSUMED)


@pytest.mark.parametrize(
    ("export", "query", "message"),
    [
        ("projection-trail", f"symbol=JPM&{DCF}", "no firm DCF for JPM"),
        (
            "grid-trail",
            "symbol=KO&" + urlencode({**ASSUMED, "terminal": 9.9, "rf": 0, "erp": 0}),
            "must be below WACC",
        ),
        (
            "grid-trail",
            "symbol=KO&" + urlencode({**ASSUMED, "growth": "1e999"}),
            "FCF growth, explicit years (%)",
        ),
        ("multiples-trail", "symbol=KO&pin=99999999", "not in the run ledger"),
        ("multiples-trail", "symbol=%3Dcmd%7C", "enter a ticker such as AAPL"),
        ("projection-trail", f"symbol=KO&{DCF}&as_of=2024-13-45", "as-of date"),
    ],
)
def test_a_crafted_valuation_trail_request_answers_a_message_not_a_500(
    logged_in: Any, export: str, query: str, message: str
) -> None:
    """A bank's projection (the page shows none), a terminal growth above the WACC, an assumption out of
    range, an unknown run, a formula for a ticker or an impossible date: HTTP 400 and the reason."""
    response = logged_in("ann").get(f"/export/valuation/{export}.csv?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert message in response.get_data(as_text=True)


def test_valuation_csvs_with_provenance_hold_the_same_values_and_say_what_they_read(
    logged_in: Any, early_run: int
) -> None:
    """The projection, grid and multiples CSVs + provenance are the plain CSVs with `provenance_*` columns
    beside them, live, as of a date and pinned: every value "computed", from what (the projection from the
    base year's FCF and the WACC), the cash-flow statement's endpoint for the FCF they rest on, filed by
    the view's day (as of 2024-03-01 or pinned to a run that ended then: FY2023's, not FY2024's, filed
    since); a multiple names only the statements its lines are in (P/B: the balance sheet, not the income
    statement)."""
    client = logged_in("ann")

    def frame(export: str, query: str) -> pd.DataFrame:
        response = client.get(f"/export/valuation/{export}.csv?symbol=KO&{DCF}{query}")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return pd.read_csv(io.StringIO(response.get_data(as_text=True)))

    filed = {}
    for query in ("", "&as_of=2024-03-01", f"&pin={early_run}"):
        for name in ("projection", "grid", "multiples"):
            plain, trailed = frame(name, query), frame(f"{name}-trail", query)
            pd.testing.assert_frame_equal(trailed[plain.columns], plain)
            assert set(trailed["provenance_figures"]) == {"computed"}, (name, query)
        projection = frame("projection-trail", query)
        assert set(projection["provenance_computed_from"]) == {"fcf,wacc,growth,years,fade,terminal"}
        assert set(projection["provenance_cashflow_endpoint"]) == {
            "cash-flow-statement?symbol=KO&period=annual"
        }
        (filed[query],) = set(projection["provenance_cashflow_filing_date"])
        multiples = frame("multiples-trail", query).set_index("multiple")
        assert multiples.loc["pb", "provenance_computed_from"] == "price,shares,totalStockholdersEquity"
        assert pd.isna(multiples.loc["pb", "provenance_income_endpoint"])
        assert str(multiples.loc["pb", "provenance_balance_endpoint"]).startswith(
            "balance-sheet-statement?symbol=KO"
        )
        assert str(multiples.loc["pe", "provenance_income_endpoint"]).startswith("income-statement?symbol=KO")
    assert filed["&as_of=2024-03-01"] == filed[f"&pin={early_run}"] <= "2024-03-01" < filed[""], filed


def test_the_grid_csvs_label_wacc_and_growth_as_the_heatmap_shows_them(logged_in: Any) -> None:
    """The default grid's CSV and CSV + provenance label each WACC row and terminal-growth column with the
    fraction the heatmap shows as a percent to 2 dp (0.015, not 0.015000000000000001), around the inputs
    CSV's WACC."""
    client = logged_in("ann")

    def rows(export: str) -> list[list[str]]:
        response = client.get(f"/export/valuation/{export}.csv?symbol=KO&{DCF}")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))

    (wacc,) = [float(row[2]) for row in rows("inputs") if row[0] == "wacc"]
    shown = [f"{wacc + step:.2%}" for step in (-0.02, -0.01, 0.0, 0.01, 0.02)]  # the heatmap's rows
    for name in ("grid", "grid-trail"):
        header, *body = rows(name)
        assert header[:6] == ["wacc", "0.015", "0.02", "0.025", "0.03", "0.035"], name
        labels = [row[0] for row in body]
        assert [f"{float(label):.2%}" for label in labels] == shown, name
        assert all(len(label.partition(".")[2]) <= 4 for label in labels), labels


def test_the_valuation_csvs_name_the_unit_their_rates_and_amounts_are_in(logged_in: Any) -> None:
    """KO's inputs CSV and CSV + provenance carry each figure's raw value in the unit its row names: the
    WACC, cost of debt and tax rate as fractions (`fraction`: 5 % typed is 0.05, the WACC the projection
    discounts at), amounts in `USD` (the FCF the projection grows), shares in `shares`; the multiples'
    premium is a fraction by name (`premium_fraction`), as the projection's `fcf_growth_fraction`."""
    client = logged_in("ann")

    def frame(export: str) -> pd.DataFrame:
        response = client.get(f"/export/valuation/{export}.csv?symbol=KO&{DCF}")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return pd.read_csv(io.StringIO(response.get_data(as_text=True)))

    projection = frame("projection").set_index("year")
    for name in ("inputs", "inputs-trail"):
        inputs = frame(name).set_index("figure")
        unit, value = inputs["unit"].fillna(""), inputs["value"]
        assert {key: unit[key] for key in ("wacc", "kd", "tax")} == dict.fromkeys(
            ("wacc", "kd", "tax"), "fraction"
        )
        assert (value["kd"], value["tax"]) == (0.05, 0.21)  # typed as 5 and 21 (%)
        assert projection.loc[1, "discount_factor"] == pytest.approx(1 / (1 + value["wacc"]))
        assert unit["fcf"] == unit["per_share"] == unit["enterprise_value"] == "USD", name
        assert projection.loc[1, "fcf_usd"] == pytest.approx(value["fcf"] * 1.06)
        assert (unit["shares"], unit["beta"]) == ("shares", "ratio")
        assert value["per_share"] == pytest.approx(value["equity_value"] / value["shares"])
    multiples = frame("multiples")
    assert "premium" not in multiples.columns
    assert multiples["premium_fraction"].to_numpy() == pytest.approx(
        (multiples["value"] / multiples["sector_median"] - 1).to_numpy()
    )
