"""The TTM table as pandas' per-column rolling windows computed it before serving/rolling.py: the oracle
that test_rolling and test_lines hold the matrix path equal to, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from serving import statements as st


def pandas_ttm(quarterly: pd.DataFrame) -> pd.DataFrame:
    """`statements.ttm(rolling=True)` as pandas' per-column windows computed it before."""
    flows, averaged, held, opening = st._split(quarterly.columns, frozenset())
    values = np.empty(quarterly.shape)
    position = {c: i for i, c in enumerate(quarterly.columns)}
    for names, part in (
        (flows, quarterly[flows].rolling(4, min_periods=4).sum()),
        (averaged, quarterly[averaged].rolling(4, min_periods=4).mean()),
        (held, quarterly[held]),
        (opening, quarterly[opening].shift(3)),
    ):
        values[:, [position[c] for c in names]] = part.to_numpy(dtype=float)
    span = pd.Series(quarterly.index, index=quarterly.index).diff(3).dt.days
    values[~(span <= st.MAX_TTM_SPAN_DAYS).to_numpy()] = np.nan
    return pd.DataFrame(values, index=quarterly.index, columns=quarterly.columns).iloc[3:]
