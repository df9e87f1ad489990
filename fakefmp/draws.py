"""Reproducible random streams: one per (seed, symbol, purpose), so one generator's draws never shift another's.

A company's share classes (GOOGL and GOOG) draw one stream: they are one company.
"""

from __future__ import annotations

import zlib

import numpy as np

from fakefmp.constituents import issuer_of


def symbol_rng(seed: int, symbol: str, stream: str) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, symbol, purpose)."""
    issuer = issuer_of(symbol)
    return np.random.default_rng([seed, zlib.crc32(issuer.encode()), zlib.crc32(stream.encode())])
