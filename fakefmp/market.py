"""The market every generated stock moves with: the trading calendar, a market factor and one factor per
sector (with the crashes of 2000-02, 2008-09 and March 2020 written in), and market-cap targets ranked
like the real index.

A stock's log price is its value per share plus `beta * the market's swing + sector + own news`
(`prices.py`; the swing is the market's level less its long-run trend, the value per share brings
the growth), so pairs of stocks correlate through the shared factors (more within a sector), betas
are what they were drawn as, and every series shows the market's drawdowns scaled by its beta and
its sector's crisis sensitivity.
Everything here is a pure function of the seed, cached: generated once per process, shared by all
symbols.
"""

from __future__ import annotations

import itertools
import zlib
from bisect import bisect_left
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from fakefmp.constituents import issuer_of, load_companies
from fakefmp.facts import known_facts
from fakefmp.sectors import SECTOR_NAMES, SECTORS

HISTORY_START = date(1990, 1, 2)
MODEL_END = date(2040, 12, 31)  # the factors are drawn to here, so any horizon sees the same prefix
ANCHOR = date(2026, 9, 30)  # the day the market-cap and price targets hold
_HOLIDAYS = {(1, 1), (7, 4), (12, 25)}  # enough realism: markets close on these fixed dates
MARKET_VOL = 0.15  # the market factor's calm-year volatility
MARKET_DRIFT = 0.095  # yearly log drift outside the crises: 1990-2026 ends near the real index's gain

# (start, end, market log move spread over the window, volatility multiplier, which sector tilt
# (Sector.crises index) and how much of it)
EPISODES: tuple[tuple[date, date, float, float, int, float], ...] = (
    (date(2000, 3, 24), date(2002, 10, 9), -0.67, 1.5, 0, 1.0),  # dot-com: S&P 500 -49 %
    (date(2002, 10, 10), date(2003, 12, 31), 0.30, 1.0, 0, -0.3),
    (date(2007, 10, 9), date(2008, 9, 12), -0.25, 1.3, 1, 0.4),  # financial crisis: -57 % in all
    (date(2008, 9, 15), date(2009, 3, 9), -0.59, 2.8, 1, 0.6),
    (date(2009, 3, 10), date(2009, 12, 31), 0.45, 1.6, 1, -0.3),
    (date(2020, 2, 20), date(2020, 3, 23), -0.42, 4.0, 2, 1.0),  # Covid: -34 % in 23 trading days
    (date(2020, 3, 24), date(2020, 8, 18), 0.40, 1.8, 2, -0.5),
)

# Index-like market caps (USD) at ranks 1..503: a few above USD 1 tn, median near 37 bn,
# smallest 6 bn; the largest well below USD 5 tn, so a year of moves away from ANCHOR stays below too.
_CAP_RANKS = np.array(
    [1, 2, 3, 5, 8, 10, 12, 20, 30, 50, 75, 100, 150, 200, 252, 300, 350, 400, 450, 480, 503]
)
_CAP_USD_BN = np.array([3500, 3200, 3000, 2200, 1400, 1050, 900, 600, 400, 230, 160, 125, 80, 56, 37, 30, 24, 18,
                        13, 10, 6.2])  # fmt: skip


@lru_cache(maxsize=4)
def calendar(end: date) -> tuple[list[date], list[str]]:
    """Business days from HISTORY_START to `end`, as dates and ISO strings."""
    days, day, one = [], HISTORY_START, timedelta(days=1)
    while day <= end:
        if day.weekday() < 5 and (day.month, day.day) not in _HOLIDAYS:
            days.append(day)
        day += one
    return days, [d.isoformat() for d in days]


def day_index(day: date) -> int:
    """Index of the first business day on or after `day` in the model's calendar."""
    return bisect_left(calendar(MODEL_END)[0], day)


@lru_cache(maxsize=4)
def factors(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily log returns of the market and each sector (columns in SECTOR_NAMES order) to MODEL_END,
    and the per-day volatility multiplier (crises are louder), all read-only."""
    days = calendar(MODEL_END)[0]
    n = len(days)
    draws = np.random.default_rng([seed, 0x5EED, 1]).standard_normal((n, 1 + len(SECTOR_NAMES)))
    # the noise sums to zero between the episodes' edges (and ANCHOR), so the index passes through
    # the designed levels: every crash is as deep as it was, whatever the seed
    edges = sorted(
        {0, day_index(ANCHOR)} | {day_index(d) for e in EPISODES for d in (e[0], e[1] + timedelta(days=1))}
    )
    for lo, hi in itertools.pairwise(edges):
        draws[lo:hi] -= draws[lo:hi].mean(axis=0)
    loud = np.ones(n)
    market = np.full(n, MARKET_DRIFT / 252.0)
    sectors = np.zeros((n, len(SECTOR_NAMES)))
    tilts = np.array([SECTORS[name].crises for name in SECTOR_NAMES])
    for start, end, move, volume, tilt, share in EPISODES:
        lo, hi = day_index(start), day_index(end + timedelta(days=1))
        market[lo:hi] = move / (hi - lo)
        loud[lo:hi] = volume
        sectors[lo:hi] += tilts[:, tilt] * share / (hi - lo)
    market += MARKET_VOL / np.sqrt(252.0) * loud * draws[:, 0]
    sector_vol = np.array([SECTORS[name].factor_vol for name in SECTOR_NAMES])
    sectors += sector_vol / np.sqrt(252.0) * loud[:, None] * draws[:, 1:]
    for array in (market, sectors, loud):
        array.flags.writeable = False
    return market, sectors, loud


@lru_cache(maxsize=4)
def levels(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The market's log level less its straight trend from HISTORY_START to ANCHOR (what moves every
    valuation: rich in 2000, cheap in 2009), and each sector factor's log level, per model day."""
    market, sectors, _ = factors(seed)
    level = np.cumsum(market)
    anchor = day_index(ANCHOR)
    swing = level - level[anchor] / anchor * np.arange(len(level))
    sector_levels = np.cumsum(sectors, axis=0)
    for array in (swing, sector_levels):
        array.flags.writeable = False
    return swing, sector_levels


@lru_cache(maxsize=1)
def ordinals() -> np.ndarray:
    """The model calendar's days as proleptic ordinals (for interpolating quarterly values daily)."""
    days = np.array([d.toordinal() for d in calendar(MODEL_END)[0]], dtype=np.float64)
    days.flags.writeable = False
    return days


def _rank_of(cap: float) -> float:
    """Where a market cap (USD) sits on the index's rank curve."""
    log_caps, log_ranks = np.log(_CAP_USD_BN[::-1] * 1e9), np.log(_CAP_RANKS[::-1].astype(float))
    return float(np.exp(np.interp(np.log(cap), log_caps, log_ranks)))


@lru_cache(maxsize=4)
def market_caps(seed: int) -> dict[str, float]:
    """Each constituent's market cap (USD) on ANCHOR, ranked like the real index, jittered per seed: the
    companies of data/company_facts.csv near their real rank, everyone else in the ranks left; a
    company's share classes have its one market cap, as FMP's profiles give it."""
    symbols = [c.symbol for c in load_companies()]
    rng = np.random.default_rng([seed, 0x5EED, 2])
    facts = known_facts()
    prior = {s: _rank_of(facts[s].cap) for s in symbols if s in facts}
    others = [s for s in symbols if s not in prior]
    free = sorted(set(range(1, len(symbols) + 1)) - {round(r) for r in prior.values()})
    prior.update(zip(others, rng.permutation(free)[: len(others)].tolist(), strict=True))
    score = {s: float(prior[s] * np.exp(rng.normal(0, 0.15))) for s in symbols}
    ranked = sorted(symbols, key=lambda s: score[s])
    ranks = np.arange(1, len(ranked) + 1)
    caps = np.exp(np.interp(np.log(ranks), np.log(_CAP_RANKS), np.log(_CAP_USD_BN))) * 1e9
    caps *= np.exp(rng.normal(0, 0.04, len(caps)))
    drawn = {s: float(min(c, 3.6e12)) for s, c in zip(ranked, caps, strict=True)}
    return {s: drawn[issuer_of(s)] for s in symbols}  # a second share class: its company's cap


SYNTHETIC_CAP_MEDIAN = 4e9  # companies beyond the S&P 500: mid and small caps (USD)
SYNTHETIC_CAP_RANGE = (0.3e9, 20e9)


def market_cap_of(seed: int, symbol: str) -> float:
    """`symbol`'s market cap on ANCHOR: a constituent's from `market_caps`; a company beyond the index
    (a synthetic `XA0001`...) draws one below the index's typical cap, stable per seed and symbol."""
    caps = market_caps(seed)
    if symbol in caps:
        return caps[symbol]
    rng = np.random.default_rng([seed, 0x5EED, 3, zlib.crc32(symbol.encode())])
    return float(np.clip(SYNTHETIC_CAP_MEDIAN * np.exp(rng.normal(0.0, 0.8)), *SYNTHETIC_CAP_RANGE))
