"""Rolling sums and means of many columns at once, equal bit for bit to pandas' `rolling(n).sum()/.mean()`.

A TTM table rolls ~35 columns of one company's quarters; pandas rolls a frame a column at a time, each
column a Python-level call with its own window bounds (~40 % of the statement tables' refresh). These
run pandas' own algorithm (pandas/_libs/window/aggregations.pyx `roll_sum`/`roll_mean` on a fixed
window, `min_periods` = the window): a running Kahan-compensated sum over the whole column (values
added and removed as the window moves, each with its own compensation), NaN and ±inf skipped, a window
of equal values given as that value times its count (the mean: that value), a mean of values of one
sign never of the other. The loop is over rows, each step one NumPy operation across every column, so
the columns of a whole batch of companies roll together (columns are independent: NaN rows appended
below a column change none of its results). tests/serving/test_rolling.py holds them to pandas.
"""

from __future__ import annotations

import numpy as np


def rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    """`pd.DataFrame(values).rolling(window).sum().to_numpy()` (NaN until `window` values are known)."""
    return _roll(values, window, mean=False)


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """`pd.DataFrame(values).rolling(window).mean().to_numpy()`."""
    return _roll(values, window, mean=True)


def _roll(values: np.ndarray, window: int, *, mean: bool) -> np.ndarray:
    data = np.where(np.isinf(values), np.nan, np.asarray(values, dtype=np.float64))  # pandas' _prep_values
    rows, columns = data.shape
    out = np.full((rows, columns), np.nan)
    if not rows:
        return out
    known = ~np.isnan(data)
    negative = np.signbit(data) & known
    total = np.zeros(columns)
    added = np.zeros(columns)  # the compensation of the additions, and of the removals: pandas keeps two
    removed = np.zeros(columns)
    count = np.zeros(columns, dtype=np.int64)
    negatives = np.zeros(columns, dtype=np.int64)
    same = np.zeros(columns, dtype=np.int64)  # how many equal values were added last, in a row
    last = data[0].copy()
    for at in range(rows):
        if at >= window:
            gone, ok = data[at - window], known[at - window]
            y = -gone - removed
            t = total + y
            removed = np.where(ok, (t - total) - y, removed)
            total = np.where(ok, t, total)
            count -= ok
            negatives -= negative[at - window]
        value, ok = data[at], known[at]
        y = value - added
        t = total + y
        added = np.where(ok, (t - total) - y, added)
        total = np.where(ok, t, total)
        count += ok
        negatives += negative[at]
        same = np.where(ok, np.where(value == last, same + 1, 1), same)
        last = np.where(ok, value, last)
        if at + 1 < window:
            continue
        full = count >= window
        repeated = same >= count
        if mean:
            with np.errstate(divide="ignore", invalid="ignore"):
                result = total / count
            result = np.where(
                repeated,
                last,
                np.where(
                    ((negatives == 0) & (result < 0)) | ((negatives == count) & (result > 0)), 0.0, result
                ),
            )
        else:
            result = np.where(repeated, last * count, total)
        out[at] = np.where(full & (count > 0), result, np.nan)
    return out
