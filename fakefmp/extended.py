"""Companies beyond the S&P 500, so the fake can serve a universe of any size (cost curves at 10x).

The first 503 are the real constituents; symbol 504 on is synthetic: a stable ticker (`XA0001`...),
a sector and sub-industry borrowed round-robin from the real list (so the sector mix stays the
same), and a CIK past every real one. Generation of prices and statements is keyed by symbol, so a
synthetic company is as complete as a real one.
"""

from __future__ import annotations

from dataclasses import replace

from fakefmp.constituents import Company, load_companies

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
    extra = []
    for index in range(1, count - len(real) + 1):
        model = real[(index - 1) % len(real)]
        symbol = synthetic_symbol(index)
        extra.append(
            replace(
                model,
                symbol=symbol,
                name=f"Synthetic {model.sub_sector} {index}",
                cik=str(SYNTHETIC_CIK_BASE + index).zfill(10),
                date_first_added="",
            )
        )
    return (*real, *extra)
