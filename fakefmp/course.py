"""A company's course over the decades, by fiscal quarter: revenue, net margin, share count, value per share.

Revenue grows at the outline's rate for the last 15 years and its early rate before (after
today's figure, halfway between its own rate and its sector's: no company compounds at 25 % a year
for ever), through the recessions of 2001, 2008-09 and 2020 (and its sector's own shocks), with
slow business cycles of its own; margins drift from the sector's typical one to today's; the share count drifts with the
buybacks or issuance. The value per share is trend earnings per share times a multiple that moves
from the sector's P/E (decades ago) to the company's own (today): the price model adds the market's
swings around it, so prices follow earnings. Everything is drawn on one fixed grid (1989-2040), so
a company's past does not change when "today" moves.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from fakefmp.draws import symbol_rng
from fakefmp.market import MODEL_END
from fakefmp.outline import BANK_MARGIN, DISTRESS_SIZE, Outline

GRID_FIRST_YEAR = 1989
# Recessions as (first quarter end, last quarter end, depth): revenue falls by depth x the sector's
# cyclicality, margins by five times that (so deep ones bring losses to cyclical companies).
RECESSIONS = (
    (date(2001, 4, 1), date(2002, 6, 30), 0.05),
    (date(2008, 10, 1), date(2009, 12, 31), 0.10),
    (date(2020, 4, 1), date(2020, 9, 30), 0.09),
)
SECTOR_SHOCKS = {
    "Energy": ((date(2015, 4, 1), date(2016, 12, 31), 0.25), (date(2020, 4, 1), date(2020, 12, 31), 0.2)),
    "Financial Services": ((date(2008, 7, 1), date(2009, 9, 30), 0.18),),
    "Technology": ((date(2001, 4, 1), date(2002, 12, 31), 0.12),),
}
MARGIN_YEARS = 20.0  # today's margin fades into the sector's typical one over this many years back
LOSS_YEARS = 4.0  # ... or over these, for a company losing money today (its trouble is recent)
MULTIPLE_YEARS = 10.0  # the company's own P/E fades into its sector's over about this many years back


@dataclass(frozen=True, slots=True)
class Course:
    """Quarterly arrays on the fixed grid, oldest first."""

    ends: tuple[date, ...]
    ends_iso: tuple[str, ...]
    ordinals: np.ndarray  # the quarter ends' ordinals
    t: np.ndarray  # years from the anchor
    revenue: np.ndarray  # USD a quarter, with the cycles (statements add their own noise)
    trend: np.ndarray  # USD a quarter, without them
    margin: np.ndarray  # net margin, with the cycles
    depth: np.ndarray  # how deep in recession each quarter is
    wobble: np.ndarray  # the company's own slow cycle (log)
    shares: np.ndarray  # as counted after every split (the anchor's basis)
    value: np.ndarray  # log value per share (the anchor's basis); log(price) at the anchor
    eps: np.ndarray  # trend earnings per share a year (the anchor's basis), what dividends follow

    def index_of(self, end: date) -> int:
        """The grid index of a quarter end."""
        return self.ends.index(end)


def month_end(year: int, month: int) -> date:
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, calendar.monthrange(year, month)[1])


def quarter_ends(fye_month: int, first_year: int, last_year: int) -> list[date]:
    """Every fiscal quarter's end from `first_year` to `last_year` (fiscal years end in `fye_month`)."""
    return [month_end(y, fye_month - 3 * (3 - q)) for y in range(first_year, last_year + 1) for q in range(4)]


def _depth(ends: tuple[date, ...], episodes: tuple[tuple[date, date, float], ...]) -> np.ndarray:
    """Per quarter, how deep in recession it ends (0 = not at all)."""
    return np.array([sum(d for lo, hi, d in episodes if lo <= end <= hi) for end in ends])


@dataclass(frozen=True, slots=True)
class Grid:
    """The fixed quarterly grid of one fiscal-year end: quarter ends, as ISO strings and as ordinals."""

    ends: tuple[date, ...]
    ends_iso: tuple[str, ...]
    ordinals: np.ndarray


@lru_cache(maxsize=12)
def grid(fye_month: int) -> Grid:
    ends = tuple(quarter_ends(fye_month, GRID_FIRST_YEAR, MODEL_END.year))
    ordinals = np.array([end.toordinal() for end in ends], dtype=np.float64)
    ordinals.flags.writeable = False
    return Grid(ends, tuple(end.isoformat() for end in ends), ordinals)


@lru_cache(maxsize=64)
def _recessions(fye_month: int, sector_name: str, cyclical: float) -> np.ndarray:
    ends = grid(fye_month).ends
    depth: np.ndarray = cyclical * _depth(ends, RECESSIONS) + _depth(ends, SECTOR_SHOCKS.get(sector_name, ()))
    depth.flags.writeable = False
    return depth


@lru_cache(maxsize=1024)
def course(seed: int, outline: Outline) -> Course:
    """The course of the company of `outline` under `seed` (cached: prices and statements share it)."""
    rng = symbol_rng(seed, outline.symbol, "course")
    sector = outline.sector
    quarters = grid(outline.fye_month)
    ends = quarters.ends
    q = len(ends)
    t = (quarters.ordinals - outline.anchor.toordinal()) / 365.25

    # revenue: the trend through today's figure, the recessions and the company's own slow cycle
    x = t - outline.revenue_t
    knee = -15.0
    late = 0.5 * (outline.growth + sector.growth[0])  # after today's figure, growth fades to the sector's
    log_trend = np.select(
        (x > 0, x >= knee),
        (late * x, outline.growth * x),
        outline.growth * knee + outline.growth_early * (x - knee),
    ) + np.log(outline.revenue / 4)
    depth = _recessions(outline.fye_month, outline.sector_name, sector.cyclical)
    shocks = rng.normal(0, 0.025, q)
    wobble = np.zeros(q)
    for i in range(1, q):
        wobble[i] = 0.85 * wobble[i - 1] + shocks[i]
    wobble -= wobble[int(np.argmin(np.abs(x)))]  # today's revenue is the table's
    trend = np.exp(log_trend)
    revenue = trend * np.exp(wobble - depth) * (1 + 0.03 * np.sin(np.arange(q) * np.pi / 2))

    # margins: from the sector's typical one to today's, cut in recessions
    typical = float(np.mean(BANK_MARGIN if outline.kind == "bank" else sector.net_margin))
    fade = LOSS_YEARS if outline.margin <= 0 else MARGIN_YEARS
    margin_trend = outline.margin + (typical - outline.margin) * np.clip(-t / fade, 0.0, 1.0)
    margin = margin_trend + np.abs(margin_trend) * (wobble - 5.0 * depth)

    # shares (buybacks or issuance) and the value per share they divide
    shares = outline.market_cap / outline.price * np.exp(outline.share_drift * t + rng.normal(0, 0.003, q))
    floor = 0.3 * sector.net_margin[0]
    normal = trend * 4 * np.exp(wobble) * np.maximum(margin_trend, floor)
    own = np.log(max(outline.pe, 3.0))
    multiple = np.log(sector.pe) + (own - np.log(sector.pe)) * np.exp(np.minimum(t, 0.0) / MULTIPLE_YEARS)
    value = multiple + np.log(normal) - np.log(shares)
    eps = trend * 4 * np.exp(wobble) * margin_trend / shares
    if outline.distress:  # the last year before it left: losses, and the price collapses
        last = (t > -1.0) & (t <= 0.0)
        margin = np.where(last, -0.3, margin)
        value = value + np.log(1 / DISTRESS_SIZE) * np.clip(t + 1.0, 0.0, 1.0)
    value += np.log(outline.price) - float(np.interp(0.0, t, value))
    for array in (t, revenue, trend, margin, wobble, shares, value, eps):
        array.flags.writeable = False
    return Course(ends, quarters.ends_iso, quarters.ordinals, t, revenue, trend, margin, depth, wobble, shares,
                  value, eps)  # fmt: skip
