"""Companies beyond the S&P 500, so the fake can serve a universe of any size (cost curves at 10x).

The first 503 are the real constituents; symbol 504 on is synthetic: a stable ticker (`XA0001`...),
a sector and sub-industry borrowed round-robin from the real list (so the sector mix stays the
same), and a CIK past every real one. Generation of prices and statements is keyed by symbol, so a
synthetic company is as complete as a real one.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from fakefmp.constituents import Company, load_companies
from fakefmp.membership import history

SYNTHETIC_PREFIX = "XA"
SYNTHETIC_CIK_BASE = 9_000_000_000  # past every real CIK (10 digits, zero-padded like FMP's)


def synthetic_symbol(index: int) -> str:
    """`XA0001` for the first company past the real list."""
    return f"{SYNTHETIC_PREFIX}{index:04d}" if index < 10_000 else f"{SYNTHETIC_PREFIX}{index}"


def universe_companies(count: int) -> tuple[Company, ...]:
    """The first `count` companies: the real constituents, then synthetic ones."""
    real = load_companies()
    if count <= len(real):
        return real[: max(0, count)]
    return (*real, *(synthetic_company(index) for index in range(1, count - len(real) + 1)))


def synthetic_company(index: int) -> Company:
    """The `index`-th company past the real list (1: XA0001), its sector borrowed round-robin."""
    real = load_companies()
    model = real[(index - 1) % len(real)]
    return replace(
        model,
        symbol=synthetic_symbol(index),
        name=f"Synthetic {model.sub_sector} {index}",
        cik=str(SYNTHETIC_CIK_BASE + index).zfill(10),
        date_first_added="",
    )


@cache
def _real_by_symbol() -> dict[str, Company]:
    return {company.symbol: company for company in load_companies()}


def find_company(symbol: str) -> Company | None:
    """Any company the fake can serve, by symbol: a constituent, a former member, a synthetic company."""
    company = _real_by_symbol().get(symbol)
    if company is not None:
        return company
    former = history()[1].get(symbol)
    if former is not None:
        return former.company
    if symbol.startswith(SYNTHETIC_PREFIX) and symbol[len(SYNTHETIC_PREFIX) :].isdigit():
        index = int(symbol[len(SYNTHETIC_PREFIX) :])
        return synthetic_company(index) if index > 0 else None
    return None
