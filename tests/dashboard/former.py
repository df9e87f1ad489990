"""The dashboard's former implementations of computations rewritten for CPU, kept as test oracles.

Each rewrite must give what its predecessor gave on real-shaped data; the tests beside the rewrites
compare the two. Copied verbatim from the commit before each rewrite (named per function).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from dashboard import responses
from dashboard.analytics import evaluate, indicators, portfolio
from dashboard.analytics.errors import NotEnoughDataError
from dashboard.analytics.ets_fit import DampedETS
from dashboard.components import charts, company_data, glossary, picker, portfolio_views, tables
from dashboard.components.formats import Col


def records(frame: pd.DataFrame, *, digits: int = 4) -> list[dict[str, Any]]:
    """tables.records before the float columns were converted as one block (bac11a1)."""
    if frame.columns.has_duplicates:
        raise ValueError(f"records: duplicate column names {list(frame.columns[frame.columns.duplicated()])}")
    names = list(frame.columns)
    columns = [tables._cells(column, digits) for _, column in frame.items()]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] if names else []


def transpose_by_date(frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """tables.transpose_by_date before its dates were formatted in numpy (bac11a1)."""
    present = [f for f in fields if f in frame.columns]
    if frame.empty or not present:
        return pd.DataFrame()
    body = frame[present].sort_index(ascending=False).T
    body.columns = [d.strftime("%Y-%m-%d") for d in body.columns]
    body.insert(0, "field", body.index)
    return body.reset_index(drop=True)


def ets_forecast(model: DampedETS, params: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """DampedETS.forecast as forecast._fit_predict got it before (bac11a1): statsmodels' results on a
    Series endog and their get_prediction (mean, exact variance)."""
    n = len(model.endog)
    reference = ETSModel(pd.Series(model.endog), error="add", trend="add", damped_trend=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = reference.smooth(params).get_prediction(start=n, end=n + horizon - 1)
    assert pred.method == "exact"
    return np.asarray(pred.predicted_mean), np.asarray(pred.forecast_variance)


def price_view(
    full: pd.DataFrame, *, adjusted: bool, overlays: tuple[str, ...], span: str, oscillators: tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, pd.Series], list[tuple[Any, dict[str, pd.Series]]]]:
    """company_data.price_view of a price history, with its window cut by a mask and its indicator
    lines reindexed on it (bac11a1)."""
    ohlcv = indicators.ohlcv(full, adjusted=adjusted)
    days = company_data.RANGES.get(span)
    shown = ohlcv if days is None else ohlcv[ohlcv.index >= ohlcv.index[-1] - pd.Timedelta(days=days)]

    def lines(key: str) -> dict[str, pd.Series]:
        return {name: s.reindex(shown.index) for name, s in indicators.REGISTRY[key].compute(ohlcv).items()}

    overlay_lines = {name: s for key in overlays for name, s in lines(key).items()}
    return shown, overlay_lines, [(indicators.REGISTRY[key], lines(key)) for key in oscillators]


def one_class_each(symbols: Any, frame: pd.DataFrame) -> tuple[str, ...]:
    """picker.one_class_each before its pandas lookup per symbol became plain dicts (6b3e07e)."""
    issuers = frame.set_index("symbol")
    seen: set[str] = set()
    kept: list[str] = []
    for symbol in symbols:
        cik = issuers["cik"].get(symbol) if "cik" in issuers else None
        name = str(issuers["name"].get(symbol, symbol))
        issuer = str(cik) if isinstance(cik, str) and cik.strip("0") else picker.CLASS.sub("", name)
        if issuer not in seen:
            seen.add(issuer)
            kept.append(str(symbol))
    return tuple(kept)


def cells(column: pd.Series, digits: int) -> list[Any]:
    """tables._cells before object columns were converted by their value types (9757042)."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"
    if kind == "f":
        values = column.to_numpy()
        finite = np.isfinite(values)
        rounded: list[Any] = np.round(values, digits).tolist()
        if finite.all():
            return rounded
        return [v if ok else None for v, ok in zip(rounded, finite.tolist(), strict=True)]
    if kind in "iub":
        out: list[Any] = column.to_numpy().tolist()
        return out
    if kind == "M" or isinstance(column.dtype, pd.DatetimeTZDtype):
        return tables._timestamps(column)
    return [tables._cell(v, digits) for v in column.astype(object).tolist()]


def multiples_vs_sector(symbol: str, as_of: str | None = None, pin: int | None = None) -> Any:
    """valuation_multiples.multiples_vs_sector before it was built from the row's arrays (0949e2a)."""
    import math

    from dashboard.analytics import valuation
    from dashboard.analytics.fundamentals import safe_div
    from dashboard.components import pins, universe_data
    from dashboard.components.inputs import company_field
    from dashboard.components.valuation_multiples import own_multiples
    from serving import basis as period_basis

    own = own_multiples(symbol, as_of, pin)
    names = list(valuation.MULTIPLES)
    values = own.loc[symbol, names].astype(float)
    nm = {name: bool(mask.iloc[0]) for name, mask in period_basis.not_meaningful(own).items()}
    sector = company_field(symbol, "sector")
    medians = pd.Series(math.nan, index=names)
    counts = pd.Series(math.nan, index=names)
    if as_of is None and pin is None:
        by_sector, covered = universe_data.basis_medians("ttm")
        if isinstance(sector, str) and sector in by_sector.index:
            medians = by_sector.loc[sector, names].astype(float)
            counts = covered.loc[sector, names].astype(float)
    out = pd.DataFrame(
        {
            "value": values,
            "not_meaningful": [nm.get(n, False) for n in names],
            "sector_median": medians,
            "companies": counts,
            "premium": safe_div(values, medians) - 1.0,
        },
        index=pd.Index(names, name="multiple"),
    )
    row = own.iloc[0]
    meta = {
        "sector": sector if isinstance(sector, str) else None,
        "basis": row.get("basis"),
        "period_end": row.get("period_end"),
        "stale": bool(row.get("stale")),
        "as_of": pins.last_day(as_of, pin),
    }
    return out.reset_index(), meta


def frontier_figure(frontier: pd.DataFrame, points: pd.DataFrame) -> dict[str, Any]:
    """portfolio_views.frontier_figure before its points were read from the columns' lists (this commit)."""
    if frontier.empty:
        return charts.empty_figure("No frontier for these holdings.")
    figure = charts.scatter(
        frontier,
        "volatility",
        "expected_return",
        "Efficient frontier (annualised, from daily returns)",
        x_title="Volatility",
        y_title="Expected return",
        percent=True,
        name="Efficient frontier",
    )
    # Each portfolio its own marker and legend entry: text labels of portfolios lying close collide.
    mixes = points[points["kind"] == "portfolio"]
    for (_, row), marker in zip(
        mixes.iterrows(), itertools.cycle(portfolio_views.PORTFOLIO_MARKERS), strict=False
    ):
        figure["data"].append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [row["volatility"]],
                "y": [row["expected_return"]],
                "name": row["name"],
                "marker": {"symbol": marker, "size": 12},
                "hovertemplate": f"{row['name']}<br>Volatility %{{x:.1%}}<br>Expected return %{{y:.1%}}<extra></extra>",
            }
        )
    assets = points[points["kind"] == "asset"]
    figure["data"].append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": assets["volatility"].tolist(),
            "y": assets["expected_return"].tolist(),
            "text": assets["name"].tolist(),
            "textposition": "top center",
            "marker": {"symbol": "circle-open", "size": 8},
            "name": "Single assets",
            "hovertemplate": "%{text}<br>Volatility %{x:.1%}<br>Expected return %{y:.1%}<extra></extra>",
        }
    )
    figure["layout"]["showlegend"] = True
    return figure


def percent_tick(values: pd.Series) -> str:
    """charts.percent_tick before its span was taken on the array (this commit)."""
    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    span = float(finite.max() - finite.min()) * 100 if len(finite) > 1 else 0.0
    if span <= 0:
        return ".1~%"
    step = span / 10  # plotly draws up to about ten ticks on a tall axis
    return f".{min(max(0, -math.floor(math.log10(step))), 4)}~%"


def metric_history(
    router: Any, symbol: str, basis: str, columns: tuple[str, ...], *, first: bool = False
) -> pd.DataFrame:
    """company_data.history's frame before it was built from the rows' float matrix (834669f): the rows
    as a frame (`queries.metric_history`), indexed by their fiscal dates and cut to `columns`."""
    from dashboard.data import queries

    rows = queries.metric_history(router, symbol, basis, columns, first=first)
    if first and rows.empty:
        rows = queries.metric_history(router, symbol, basis, columns)
    dates = rows["fiscal_date"].tolist()
    days: np.ndarray | list[Any] = (
        np.array(dates, dtype="datetime64[D]").astype("datetime64[us]") if dates else []
    )
    index = pd.DatetimeIndex(days, name="date")
    return rows.set_index(index)[list(columns)]


def to_json(value: Any) -> str:
    """responses.to_json before the ASCII escapes were replaced in the encoded bytes (this commit)."""
    text = orjson.dumps(value, default=responses._default, option=responses.OPTIONS).decode()
    for raw, escaped in responses.ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def grid(
    id_: str,
    frame: pd.DataFrame | None = None,
    *,
    height: int = 480,
    columns: Mapping[str, Col] | None = None,
    row_kind: str | None = None,
    hidden: Sequence[str] = (),
    fit: bool = False,
    row_tips: str | None = None,
    fit_width: bool = False,
) -> Any:
    """tables.grid before its tips and extra fields were added to the rows instead of assigned (this
    commit)."""
    frame = frame if frame is not None else pd.DataFrame()
    if row_tips is not None and not frame.empty:
        frame = frame.assign(**{tables.TIP: [glossary.define(str(v)) for v in frame[row_tips]]})
        hidden = (*hidden, tables.TIP)
    defs = tables.column_defs(frame, columns=columns, row_kind=row_kind, hidden=hidden)
    if row_tips is not None and defs:
        defs[0]["tooltipField"] = tables.TIP
    if fit_width and defs:
        defs[0]["width"] = 2 * tables.FIT_WIDTH
    return tables._grid(id_, tables.records(frame), defs, len(frame), height, fit, fit_width)


def statistics_grid(id_: str, stats: pd.DataFrame, columns: dict[str, Col], fit_width: bool) -> Any:
    """portfolio_views._statistics before its kind column became a row field (this commit)."""
    shown = stats.assign(kind=[portfolio_views.UNIT_KINDS[u] for u in stats["unit"]])
    return grid(
        id_,
        shown,
        columns=columns,
        row_kind="kind",
        hidden=("unit",),
        row_tips="statistic",
        fit_width=fit_width,
    )


def correlation_figure(corr: pd.DataFrame) -> dict[str, Any]:
    """portfolio_views.correlation_figure before the heatmap was given the matrix as it is (this commit)."""
    return charts.heatmap(
        corr.where(np.isfinite(corr)),
        "Correlation of daily returns",
        colorscale=portfolio_views.CORRELATION_SCALE,
        zmin=-1.0,
        zmax=1.0,
        zmid=0.0,
        value_title="Correlation",
        height=380,
    )


def optimised_weights(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """portfolio_analysis.analyse's optimised weights before they were read from the columns' lists (this
    commit)."""
    from dashboard.components.portfolio_analysis import OPTIMISERS

    indexed = table.set_index("symbol")
    return {key: {str(s): float(w) for s, w in indexed[key].items()} for key in OPTIMISERS if key in indexed}


def forecast_series(symbol: str, frequency: str) -> dict[str, pd.Series]:
    """The Forecast page's stored series before they were read off the frame's array (4d9aabf): each
    column of `company_data.history`'s frame looked up, renamed and its NaN dropped."""
    from dashboard.pages.forecast import STORED_SERIES

    stored = company_data.history(symbol, frequency, tuple(STORED_SERIES))
    assert stored is not None

    def present(column: pd.Series, name: str) -> pd.Series:
        values = column.to_numpy(dtype=float)
        kept = ~np.isnan(values)
        return pd.Series(values[kept], index=column.index[kept], name=name)

    return {
        name: present(stored[column], name) if not stored.empty else pd.Series(dtype=float)
        for column, name in STORED_SERIES.items()
    }


def lines(
    frame: pd.DataFrame,
    title: str,
    *,
    percent: bool = False,
    yaxis: str = "",
    names: Mapping[str, str] | None = None,
    hover: str = ",.1f",
) -> dict[str, Any]:
    """charts.lines before daily dates could be sent as a grid of days (this commit)."""
    mode = "lines+markers" if len(frame) < 60 else "lines"
    value = ".1%" if percent else hover
    date_hover = "%{x|%Y-%m-%d}" if isinstance(frame.index, pd.DatetimeIndex) else "%{x}"
    data = charts._column_traces(
        frame, names, type="scatter", mode=mode, hovertemplate=f"{date_hover}: %{{y:{value}}}"
    )
    return charts._figure(
        data, title, yaxis=charts.axis(yaxis, tickformat=".0%" if percent else ",~r"), xaxis=charts.axis()
    )


def ols(y: np.ndarray, x: np.ndarray) -> Any:
    """evaluate._ols before the benchmark's design matrix was built once per benchmark (this commit)."""
    if len(y) < portfolio.MIN_RETURNS + 1:
        raise NotEnoughDataError("fewer than three periods shared with the benchmark")
    if not portfolio._dispersed(float(x.std()), x):
        return evaluate.Regression(np.nan, np.nan, len(y))
    design = np.column_stack([np.ones(len(x)), x])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    total = float(((y - y.mean()) ** 2).sum())
    residual = float(((y - design @ coef) ** 2).sum())
    return evaluate.Regression(float(coef[1]), 1.0 - residual / total if total > 0 else np.nan, len(y))


def shared_fits(shared: Any, mine: np.ndarray) -> tuple[float, float, float]:
    """evaluate._Shared.fits before the benchmark's design matrices were built once (this commit)."""
    y, x, weekly_x = mine[shared.finite], shared.benchmark[shared.finite], shared.weekly
    return evaluate._fit_or_nan(
        lambda weekly: ols(evaluate._compound(shared.weeks, y), weekly_x) if weekly else ols(y, x)
    )


def weights_table(
    optimised: Mapping[str, Mapping[str, Any]], weights: Mapping[str, float], symbols: pd.Index
) -> pd.DataFrame:
    """portfolio.report's weights table before it was built from arrays (this commit)."""
    table = pd.DataFrame({k: v for k, v in optimised.items() if "error" not in v}).fillna(0.0)
    table.insert(0, "chosen", pd.Series(portfolio.normalise_weights(weights, symbols)))
    return table.rename_axis("symbol").reset_index()
