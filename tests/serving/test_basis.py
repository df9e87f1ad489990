"""serving.basis: the n/m blanking and its per-ratio masks, on the arrays, equal the pandas forms they
replaced (kept here as the reference), on a universe-sized table with every kind of sign."""

from __future__ import annotations

import numpy as np
import pandas as pd

from serving import basis


def _blank_reference(frame: pd.DataFrame, signs: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    named = pd.Series("", index=out.index, dtype=object)
    for name, ratios in basis.SIGNED.items():
        if name not in signs.columns:
            continue
        sign = pd.to_numeric(signs[name], errors="coerce").astype(float)
        bad = (sign.notna() & ~(sign > 0)).to_numpy()
        for ratio in ratios:
            if ratio in out.columns:
                out.loc[bad, ratio] = np.nan
                named[bad] = named[bad] + ratio + ","
    out["not_meaningful"] = [",".join(dict.fromkeys(n.rstrip(",").split(","))) if n else "" for n in named]
    return out


def _masks_reference(frame: pd.DataFrame) -> dict[str, pd.Series]:
    lists = frame["not_meaningful"].fillna("").astype(str).str.split(",")
    return {
        ratio: lists.map(lambda names, r=ratio: r in names).astype(bool)
        for ratio in dict.fromkeys(r for ratios in basis.SIGNED.values() for r in ratios)
        if ratio in frame.columns
    }


def test_blanking_and_masks_equal_the_pandas_forms() -> None:
    """Signs positive, zero, negative and unknown, a ratio made n/m by two figures, an object column and
    a name without a column: the same table, the same n/m names, the same masks."""
    rng = np.random.default_rng(3)
    index = pd.Index([f"S{i:03d}" for i in range(503)], name="symbol")
    ratios = sorted({r for rs in basis.SIGNED.values() for r in rs} - {"ev_sales"})
    frame = pd.DataFrame(rng.normal(10, 5, (len(index), len(ratios))), index=index, columns=ratios)
    frame["ev_sales"] = pd.Series(rng.normal(2, 1, len(index)), index=index).astype(object)
    choices = np.array([1.0, 0.0, -1.0, np.nan])
    signs = pd.DataFrame(
        {name: rng.choice(choices, len(index), p=[0.7, 0.05, 0.15, 0.1]) for name in basis.SIGNED},
        index=index,
    ).drop(columns=["free_cash_flow"])
    got, want = basis.blank_not_meaningful(frame, signs), _blank_reference(frame, signs)
    pd.testing.assert_frame_equal(got, want)
    assert got["not_meaningful"].str.contains("ev_ebitda,").any()  # named once though two signs hit it
    masks, expected = basis.not_meaningful(got), _masks_reference(got)
    assert masks.keys() == expected.keys()
    for ratio, mask in masks.items():
        pd.testing.assert_series_equal(mask, expected[ratio])
        assert mask.any() == (ratio != "p_fcf")  # its sign (free cash flow) is not given
