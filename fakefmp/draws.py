"""Reproducible random streams: one per (seed, symbol, purpose), so one generator's draws never shift another's."""

from __future__ import annotations

import zlib

import numpy as np


def symbol_rng(seed: int, symbol: str, stream: str) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, symbol, purpose)."""
    return np.random.default_rng([seed, zlib.crc32(symbol.encode()), zlib.crc32(stream.encode())])
