"""What plotly.js (the version the dashboard serves) draws from our figures' encodings, in the system
Chromium: no app and no database, the figures built here."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from dashboard import responses
from dashboard.components import charts
from tests.dashboard import former
from tests.dashboard.test_browser import chromium

pytestmark = pytest.mark.e2e

# Each trace's points as plotly computed them (x in ms on the date axis, y), the gaps left out; and the
# axes' ranges it chose.
DRAWN = """async ([grid, dated]) => {
  const plotted = async figure => {
    const div = document.createElement("div");
    div.style.width = "900px";
    div.style.height = "420px";
    document.body.appendChild(div);
    await Plotly.newPlot(div, figure.data, figure.layout);
    const points = div.calcdata.map(trace => trace
      .filter(p => Number.isFinite(p.x) && Number.isFinite(p.y)).map(p => [p.x, p.y]));
    const axes = [div._fullLayout.xaxis.type, div._fullLayout.xaxis.range, div._fullLayout.yaxis.range];
    return {points, axes};
  };
  return [await plotted(grid), await plotted(dated)];
}"""


def _figures(frame: pd.DataFrame, **options: Any) -> list[Any]:
    """The figure on a grid of days and the former one with dated lists, as the browser receives them."""
    grid = charts.lines(frame, "t", day_grid=True, **options)
    assert "x0" in grid["data"][0]
    return [orjson.loads(responses.to_json(f)) for f in (grid, former.lines(frame, "t", **options))]


def test_a_day_grid_draws_the_points_of_the_dated_lists() -> None:
    """plotly.js computes the same points (dates and values) and the same axes from a line figure sent on
    a grid of days as from the former dated lists, whatever the browser's time zone: business days over
    36 years with holidays left out, several lines, and a short series drawn with markers."""
    rng = np.random.default_rng(3)
    days = pd.bdate_range("1990-01-02", "2026-11-30")
    days = days.delete(rng.choice(len(days), 300, replace=False))
    growth = pd.DataFrame(
        {f"mix {i}": 10_000 * np.cumprod(1 + rng.normal(3e-4, 0.012, len(days))) for i in range(3)},
        index=days,
    )
    drawdown = pd.DataFrame({"drawdown": -np.abs(rng.normal(0, 0.1, 40))}, index=days[:40])
    cases = [(growth, _figures(growth, hover=",.0f")), (drawdown, _figures(drawdown, percent=True))]
    with chromium() as browser:
        for timezone in ("UTC", "America/New_York", "Asia/Tokyo"):
            context = browser.new_context(timezone_id=timezone)
            tab = context.new_page()
            tab.add_script_tag(content=get_plotlyjs())
            for frame, figures in cases:
                grid, dated = tab.evaluate(DRAWN, figures)
                assert grid == dated, timezone
                assert [len(points) for points in grid["points"]] == [len(frame)] * frame.shape[1]
            context.close()
