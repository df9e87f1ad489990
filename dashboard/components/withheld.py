"""Values withheld as implausible on the Company page's charts (#29, point 4): each plotted point that
reads a figure FMP sent an implausible value for is marked, says on hover what FMP sent and the rule, and
the chart carries a badge counting those values (docs/dashboard.md, "Point in time").

The store keeps the figure it held before (the refused row is in `withheld_values`), so a marked point
shows that earlier figure; a row refused as a whole (no field named, e.g. a balance sheet that does not
balance) marks every line of its statement in that period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd

from dashboard.components import statement_order, with_rows
from dashboard.data import queries
from dashboard.services import services

# A plotted series: the lines it reads in its own period, and the balances it averages with the previous
# period's (as `trails.RATIO_INPUTS` declares them for ratios; a statement line reads itself).
Inputs = Mapping[str, tuple[Sequence[str], Sequence[str]]]
COLOUR = "#b35c00"  # the statement table's outline of a withheld cell (assets/dashboard.css)
TRAILING_YEAR = pd.Timedelta(days=300)  # TTM sums the quarters ending within this of its date (~273 days)


def rows(symbol: str) -> pd.DataFrame:
    """The company's withheld rows (`queries.withheld_rows`), cached per symbol."""
    svc = services()
    return svc.cache.cached(
        "company-withheld",
        (symbol,),
        lambda: with_rows.read(
            "withheld", symbol, queries.WITHHELD_COLUMNS, lambda: queries.withheld_rows(svc.router, symbol)
        ),
    )


def statement_rows(symbol: str, kind: str | None, labels: Sequence[str]) -> pd.DataFrame:
    """The withheld statement rows of one kind (any, when None) and these period labels with a date."""
    found = rows(symbol)
    if found.empty:
        return found
    keep = (found["dataset"] == "statements") & found["period"].isin(list(labels)) & found["day"].notna()
    if kind is not None:
        keep &= found["kind"] == kind
    return found[keep.to_numpy()]


def detail(row: Mapping[str, Any]) -> str:
    """One withheld row as the badges list it: period, day, field = raw value: rule."""
    where = " ".join(str(row[k]) for k in ("period", "day") if row[k])
    sent = f"{row['field']} = {row['raw_value'] or '?'}" if row["field"] else "(the whole row)"
    return f"{where} {sent}: {row['rule']}".strip()


def note(row: Mapping[str, Any]) -> str:
    """One withheld row as a marked point says it on hover: what FMP sent, the rule, what is shown."""
    if row["field"]:
        sent = f"FMP sent {row['field']} = {row['raw_value'] or '?'}"
    else:
        sent = f"FMP's {row['period'] or ''} row of {row['day']} was refused".replace("  ", " ")
    return f"Withheld: {sent} ({row['rule']}); shown: the figure held before"


@dataclass(frozen=True, slots=True)
class Marks:
    """Per series the notes at each position of the plotted dates, and each withheld row read (badge)."""

    points: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    values: list[str] = field(default_factory=list)


def find(withheld: pd.DataFrame, inputs: Inputs, dates: pd.Index, *, trailing: bool = False) -> Marks:
    """The points of `inputs`' series over `dates` (ascending) that read a withheld row.

    A series reads its own lines at its date (with `trailing`, TTM: at each quarter of the trailing year)
    and its averaged balances at its date and the one before."""
    marks = Marks()
    if withheld.empty:  # most companies: to_dict of an empty frame alone cost ~0.4 ms
        return marks
    days = pd.DatetimeIndex(dates)
    for row in withheld.to_dict("records"):
        day = pd.Timestamp(row["day"])
        lines = {row["field"]} if row["field"] else set(statement_order.ORDER.get(str(row["kind"]), ()))
        own = (days >= day) & (days < day + TRAILING_YEAR) if trailing else days == day
        previous = np.append(False, days[:-1] == day) if len(days) else own
        text, read = note(row), False
        for series, (closing, averaged) in inputs.items():
            hit = (own if lines & set(closing) else False) | (
                (days == day) | previous if lines & set(averaged) else False
            )
            for at in np.flatnonzero(hit):
                marks.points.setdefault(series, {}).setdefault(int(at), []).append(text)
                read = True
        if read:
            marks.values.append(detail(row))
    return marks


def mark(figure: dict[str, Any], marks: Marks, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`figure` with its marked points: each one's hover gets the notes; a bar is outlined and hatched, a
    line's point ringed (a trace of its own, with the same hover). The rows read go to the layout's meta
    for `badge`. `names`: the series' trace names."""
    if not marks.values:
        return figure
    labels = names or {}
    ring: dict[str, list[Any]] = {"x": [], "y": [], "text": []}
    for trace in figure["data"]:
        series = next((s for s in marks.points if labels.get(s, s) == trace.get("name")), None)
        if series is None:
            continue
        notes = ["<br>".join(marks.points[series].get(i, [])) for i in range(len(trace["x"]))]
        trace["customdata"] = ["<br>" + n if n else "" for n in notes]
        trace["hovertemplate"] = trace.get("hovertemplate", "%{x}: %{y}") + "%{customdata}"
        hit = [bool(n) for n in notes]
        if trace.get("type") == "bar":
            trace["marker"] = {
                **trace.get("marker", {}),
                "line": {
                    "color": [COLOUR if h else "rgba(0,0,0,0)" for h in hit],
                    "width": [3 if h else 0 for h in hit],
                },
                "pattern": {"shape": ["/" if h else "" for h in hit], "fgcolor": COLOUR},
            }
            continue
        for i in np.flatnonzero(hit):
            y = float(trace["y"][i])
            if np.isfinite(y):
                ring["x"].append(trace["x"][i])
                ring["y"].append(y)
                ring["text"].append(f"{trace['name']}, {trace['x'][i]}<br>{notes[i]}")
    if ring["x"]:
        figure["data"].append(ring_trace(ring["x"], ring["y"], ring["text"]))
        figure["layout"]["showlegend"] = True
    figure["layout"]["meta"] = {**figure["layout"].get("meta", {}), "withheld": marks.values}
    return figure


def ring_trace(x: Sequence[Any], y: Sequence[float], text: Sequence[str], **axes: str) -> dict[str, Any]:
    """Open circles around withheld points, hovering their notes."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": list(x),
        "y": list(y),
        "text": list(text),
        "name": "withheld as implausible",
        "marker": {"symbol": "circle-open", "size": 16, "color": COLOUR, "line": {"width": 2.5}},
        "hovertemplate": "%{text}<extra></extra>",
        **axes,
    }


def mark_prices(figure: dict[str, Any], bars: pd.DataFrame, withheld: pd.DataFrame) -> dict[str, Any]:
    """The price chart with a ring on the bar holding each day FMP sent a withheld price row for (the bar
    shows the row held before, or the next day's when none was)."""
    if withheld.empty or bars.empty:
        return figure
    days = withheld[(withheld["dataset"] == "prices") & withheld["day"].notna()]
    x, y, text, values = [], [], [], []
    for row in days.to_dict("records"):
        day = pd.Timestamp(row["day"])
        at = int(bars.index.searchsorted(day))  # bars are dated on their period's last trading day
        if day < bars.index[0] or at == len(bars):
            continue
        x.append(f"{bars.index[at]:%Y-%m-%d}")
        y.append(float(bars["close"].iloc[at]))
        text.append(f"{row['day']}: {note(row)}")
        values.append(detail(row))
    if not x:
        return figure
    figure["data"].append(ring_trace(x, y, text, xaxis="x", yaxis="y"))
    figure["layout"]["meta"] = {**figure["layout"].get("meta", {}), "withheld": values}
    return figure


def badge(details: Sequence[str], id_: str) -> Any:
    """ "N values withheld as implausible", the first ten rows (period, day, field = raw value: rule) on
    hover; None for none."""
    if not details:
        return None
    return dbc.Badge(
        f"{len(details)} value{'s' if len(details) != 1 else ''} withheld as implausible",
        color="warning",
        text_color="dark",
        className="ms-2",
        title="; ".join(details[:10]),
        id=id_,
    )


def chart_badge(figure: Mapping[str, Any], id_: str) -> Any:
    """The badge of a chart `mark` or `mark_prices` marked (None when it marks nothing)."""
    return badge(figure.get("layout", {}).get("meta", {}).get("withheld", []), id_)
