"""The array paths of the optimiser and the portfolio report equal PyPortfolioOpt's and pandas' own answers.

The oracles are the library calls the page made before (`mean_historical_return`, `CovarianceShrinkage`,
`HRPOpt`, `EfficientFrontier.max_sharpe`) and the pandas formulations of alignment and returns, on the seeded
demo prices (devkit/seed.py) made ragged.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models
from scipy.stats import norm

from dashboard.analytics import cla, hrp
from dashboard.analytics import optimize as opt
from dashboard.analytics import portfolio as pf
from dashboard.analytics.errors import AnalyticsError
from devkit import factories

SYMBOLS = factories.RAGGED_SYMBOLS
COMBINATIONS = [SYMBOLS[:2], SYMBOLS[2:5], SYMBOLS[::2], SYMBOLS[1:7], SYMBOLS]


def _aligned(closes: pd.DataFrame, symbols: tuple[str, ...]) -> pd.DataFrame:
    return pf.align_prices(closes[list(symbols)])[0]


@pytest.mark.parametrize("symbols", COMBINATIONS)
def test_inputs_equal_pypfopt_estimators(closes: pd.DataFrame, symbols: tuple[str, ...]) -> None:
    """Expected returns and the Ledoit-Wolf covariance equal `mean_historical_return` and `CovarianceShrinkage`."""
    prices = _aligned(closes, symbols)
    opt.clear_cache()
    inputs = opt._inputs(prices)
    pd.testing.assert_series_equal(
        inputs.mu, expected_returns.mean_historical_return(prices), check_names=False, rtol=1e-13
    )
    pd.testing.assert_frame_equal(
        inputs.cov, risk_models.CovarianceShrinkage(prices).ledoit_wolf(), rtol=1e-13
    )


@pytest.mark.parametrize("symbols", COMBINATIONS)
def test_hrp_equals_hrpopt(closes: pd.DataFrame, symbols: tuple[str, ...]) -> None:
    """HRP weights, in HRPOpt's order (sorted tickers), equal `HRPOpt(returns=...).optimize()` on the
    symbols in sorted order."""
    prices = _aligned(closes, symbols)
    opt.clear_cache()
    result = opt.optimize(prices, "hrp")
    cov = risk_models.CovarianceShrinkage(prices).ledoit_wolf()
    ordered = prices[sorted(symbols)]  # the optimiser clusters the symbols in sorted order
    expected = HRPOpt(returns=ordered.pct_change(fill_method=None).dropna(), cov_matrix=cov).optimize()
    assert list(result.weights) == list(expected) == sorted(symbols)
    assert max(abs(result.weights[s] - round(expected[s], 6)) for s in symbols) < 1e-12
    w = pd.Series(expected)
    mu = expected_returns.mean_historical_return(prices)
    assert result.expected_return == pytest.approx(float(w @ mu[w.index]), rel=1e-12)
    assert result.volatility == pytest.approx(float(np.sqrt(w @ cov.loc[w.index, w.index] @ w)), rel=1e-12)


@pytest.mark.parametrize("symbols", COMBINATIONS)
@pytest.mark.parametrize("risk_free", [0.0, 0.04, 0.1])
def test_max_sharpe_equals_the_convex_solve(
    closes: pd.DataFrame, symbols: tuple[str, ...], risk_free: float
) -> None:
    """Maximum Sharpe from CLA's turning points equals `EfficientFrontier.max_sharpe` to the solver's accuracy."""
    prices = _aligned(closes, symbols)
    opt.clear_cache()
    mu = expected_returns.mean_historical_return(prices)
    if not (mu > risk_free).any():
        with pytest.raises(AnalyticsError, match="exceeding the risk-free rate"):
            opt.optimize(prices, "max_sharpe", risk_free=risk_free)
        return
    result = opt.optimize(prices, "max_sharpe", risk_free=risk_free)
    cov = risk_models.CovarianceShrinkage(prices).ledoit_wolf()
    ef = EfficientFrontier(mu, cov, solver="CLARABEL")
    expected = ef.max_sharpe(risk_free_rate=risk_free)
    assert max(abs(result.weights[s] - expected[s]) for s in symbols) < 2e-6
    _, _, sharpe = ef.portfolio_performance(risk_free_rate=risk_free)
    assert result.sharpe >= sharpe - 1e-9  # the closed form is at least as good as the solver's optimum
    assert result.sharpe == pytest.approx(sharpe, abs=1e-7)


def test_max_sharpe_falls_back_to_the_solver_when_cla_fails(
    closes: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without usable turning points the convex solver answers, with the same weights."""
    prices = _aligned(closes, SYMBOLS[1:7])
    opt.clear_cache()
    exact = opt.optimize(prices, "max_sharpe", risk_free=0.04)

    def broken(*_: object, **__: object) -> None:
        raise np.linalg.LinAlgError("singular matrix")

    monkeypatch.setattr(cla, "turning_points", broken)
    opt.clear_cache()
    solved = opt.optimize(prices, "max_sharpe", risk_free=0.04)
    opt.clear_cache()
    assert max(abs(solved.weights[s] - exact.weights[s]) for s in exact.weights) < 2e-6


def test_optimize_refuses_non_positive_prices(closes: pd.DataFrame) -> None:
    """A zero price (an infinite return) is refused instead of reaching the estimators."""
    prices = _aligned(closes, SYMBOLS[:3]).copy()
    prices.iloc[50, 1] = 0.0
    with pytest.raises(AnalyticsError, match="positive, finite"):
        opt.optimize(prices, "hrp")


def _pandas_align(prices: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Timestamp]]:
    """The previous alignment: per-column pandas passes."""
    frame = prices.apply(pd.to_numeric, errors="raise").astype(float).sort_index()
    frame = frame.where(frame > 0)
    return frame.dropna(), {str(c): frame[c].first_valid_index() for c in frame.columns}


@pytest.mark.parametrize("symbols", COMBINATIONS)
def test_alignment_and_returns_equal_the_pandas_formulation(
    closes: pd.DataFrame, symbols: tuple[str, ...]
) -> None:
    """Aligned prices, first dates, portfolio returns and drawdown equal their pandas formulations."""
    prices = closes[list(symbols)].copy()
    prices.iloc[40, 0] = -1.0  # a bad price: left out like a missing one
    shuffled = prices.sample(frac=1.0, random_state=3)  # an unsorted index is sorted first
    aligned, alignment = pf.align_prices(shuffled)
    expected, first = _pandas_align(shuffled)
    pd.testing.assert_frame_equal(aligned, expected)
    assert alignment.first_dates == first
    weights = {s: 1.0 + i for i, s in enumerate(symbols)}
    w = pf.normalise_weights(weights, aligned.columns)
    returns = pf.portfolio_returns(aligned, weights)
    pd.testing.assert_series_equal(
        returns, (expected.pct_change(fill_method=None).iloc[1:] @ w).rename("portfolio"), rtol=1e-14
    )
    drawdown = pf.drawdown_series(returns, aligned.index[0])
    assert list(drawdown.index) == [aligned.index[0], *returns.index]
    assert isinstance(drawdown.index, pd.DatetimeIndex)
    assert drawdown.index.name == returns.index.name


def test_alignment_converts_numeric_text(closes: pd.DataFrame) -> None:
    """Prices given as text are converted as before; text that is no number is refused."""
    prices = closes[["AAPL", "MSFT"]].iloc[:100]
    aligned, _ = pf.align_prices(prices.astype(str))
    pd.testing.assert_frame_equal(aligned, _pandas_align(prices)[0])
    with pytest.raises(AnalyticsError, match="non-numeric"):
        pf.align_prices(prices.astype(str).assign(AAPL="n/a"))


@pytest.mark.parametrize("symbols", COMBINATIONS)
def test_ledoit_wolf_equals_covariance_shrinkage_bit_for_bit(
    closes: pd.DataFrame, symbols: tuple[str, ...]
) -> None:
    """The array Ledoit-Wolf equals `CovarianceShrinkage(returns).ledoit_wolf()` exactly, collinear symbols too."""
    prices = _aligned(closes, symbols)
    prices = prices.assign(TWIN=prices.iloc[:, 0] * 2.0)  # a perfectly correlated copy: singular sample cov
    values = prices.to_numpy()
    returns = values[1:] / values[:-1] - 1.0
    expected = risk_models.CovarianceShrinkage(
        pd.DataFrame(returns, columns=prices.columns), returns_data=True, frequency=252
    ).ledoit_wolf()
    np.testing.assert_array_equal(opt.ledoit_wolf(returns), expected.to_numpy())


def test_ledoit_wolf_repairs_a_matrix_that_is_not_positive_semidefinite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the Cholesky test fails, the spectral repair is PyPortfolioOpt's `fix_nonpositive_semidefinite`."""
    returns = np.random.default_rng(5).normal(0.0, 0.01, (300, 4))
    shrunk = opt.ledoit_wolf(returns)

    def refuse(_: np.ndarray) -> np.ndarray:
        raise np.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr(np.linalg, "cholesky", refuse)
    with pytest.warns(UserWarning, match="Amending eigenvalues|Could not fix"):  # cholesky refuses all
        expected = risk_models.fix_nonpositive_semidefinite(pd.DataFrame(shrunk), fix_method="spectral")
    np.testing.assert_array_equal(opt.ledoit_wolf(returns), np.asarray(expected))


@pytest.mark.parametrize("symbols", COMBINATIONS)
@pytest.mark.parametrize("risk_free", [0.0, 0.04, 0.1])
def test_optimize_all_equals_each_call_alone(
    closes: pd.DataFrame, symbols: tuple[str, ...], risk_free: float
) -> None:
    """Every objective (or its error) and the frontier from `optimize_all` equal `optimize` and
    `efficient_frontier` called one at a time."""
    prices = _aligned(closes, symbols)
    opt.clear_cache()
    every = opt.optimize_all(prices, risk_free=risk_free, points=15)
    assert list(every.portfolios) == list(opt.OBJECTIVES)
    for objective, result in every.portfolios.items():
        if isinstance(result, AnalyticsError):
            with pytest.raises(AnalyticsError) as alone:
                opt.optimize(prices, objective, risk_free=risk_free)
            assert str(result) == str(alone.value)
        else:
            assert result == opt.optimize(prices, objective, risk_free=risk_free)
    pd.testing.assert_frame_equal(
        every.frontier, opt.efficient_frontier(prices, points=15, risk_free=risk_free)
    )


def test_optimize_all_refuses_what_optimize_refuses(closes: pd.DataFrame) -> None:
    """Too few dates, one symbol, gaps and zero prices raise as `optimize` does."""
    prices = _aligned(closes, SYMBOLS[:3])
    gap = prices.copy()
    gap.iloc[10, 0] = np.nan
    zero = prices.copy()
    zero.iloc[10, 0] = 0.0
    for bad in (prices.iloc[:20], prices.iloc[:, :1], gap, zero):
        with pytest.raises(AnalyticsError) as alone:
            opt.optimize(bad, "hrp")
        with pytest.raises(AnalyticsError) as together:
            opt.optimize_all(bad)
        assert str(together.value) == str(alone.value)


@pytest.mark.parametrize("symbols", COMBINATIONS)
def test_report_figures_equal_the_library_formulations(
    closes: pd.DataFrame, symbols: tuple[str, ...]
) -> None:
    """The report's correlation is pandas' pairwise one, its weights `normalise_weights` built as a Series
    from a dict, its VaR/CVaR scipy's and pandas' quantile, exactly."""
    raw = closes[list(symbols)]
    aligned, _ = pf.align_prices(raw)
    for prices in (aligned, raw, raw.astype("float32"), raw.iloc[:3]):  # aligned, ragged, narrow, too short
        expected = prices.pct_change(fill_method=None).corr(min_periods=3)
        pd.testing.assert_frame_equal(pf.correlation_matrix(prices), expected, check_exact=True)
    weights = {s: 1.0 + i for i, s in enumerate(symbols)}
    old = pd.Series({s: float(weights.get(s, 0.0)) for s in aligned.columns}, dtype=float)
    pd.testing.assert_series_equal(pf.normalise_weights(weights, aligned.columns), old / old.sum())
    returns = pf.portfolio_returns(aligned, weights)
    perf = pf.performance(returns, risk_free=0.04, confidence=0.95)
    values = returns.to_numpy()
    mu, std = values.mean(), np.std(values, ddof=1)
    assert perf.var_historical == returns.quantile(1 - 0.95)
    assert perf.var_parametric == float(norm.ppf(1 - 0.95, mu, std))
    assert perf.cvar_parametric == mu - std * float(norm.pdf(norm.ppf(1 - 0.95))) / (1 - 0.95)


def test_correlation_of_a_constant_price_is_undefined_as_in_pandas(closes: pd.DataFrame) -> None:
    """A price that never moves has no correlation (NaN), as pandas says, and no warning escapes."""
    aligned, _ = pf.align_prices(closes[["AAPL", "MSFT"]])
    flat = aligned.assign(FLAT=5.0)
    expected = flat.pct_change(fill_method=None).corr(min_periods=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        built = pf.correlation_matrix(flat)
    pd.testing.assert_frame_equal(built, expected, check_exact=True)
    assert built["FLAT"].isna().all()


def test_frontier_frame_equals_one_built_from_rows(closes: pd.DataFrame) -> None:
    """The frontier frame built from columns has the dtypes, columns and values of one built from row
    dicts, as it was before."""
    frontier = opt.optimize_all(_aligned(closes, SYMBOLS[:5]), risk_free=0.04, points=15).frontier
    assert list(frontier.columns[:3]) == ["expected_return", "volatility", "sharpe"]
    pd.testing.assert_frame_equal(frontier, pd.DataFrame(frontier.to_dict("records")))
    columns = {name: frontier[name].to_numpy() for name in frontier.columns}  # the former dict of columns
    pd.testing.assert_frame_equal(frontier, pd.DataFrame(columns), check_exact=True)


@pytest.mark.parametrize("seed", range(12))
def test_hrp_correlation_equals_numpy(seed: int) -> None:
    """The correlation from the sample covariance is np.corrcoef's, bit for bit, on 2-20 assets (some twins)."""
    rng = np.random.default_rng(seed)
    n = 2 + seed + (seed % 3) * 2
    returns = rng.normal(0.0, 0.01, (400, n))
    returns[:, -1] = returns[:, 0]
    cov = np.cov(returns, rowvar=False)
    np.testing.assert_array_equal(hrp.correlation(cov), np.corrcoef(returns, rowvar=False))


def _twins(seed: int, scale: float) -> pd.DataFrame:
    """22 symbols over 579 days, five of them copies of others (scaled by `scale`), in shuffled order."""
    prices = factories.factor_prices(
        seed, assets=22, days=579, factors=3, loading=(0.5, 0.5), noise=0.01, drift=(0.0003, 0.0005)
    )
    for k in range(5):
        prices.iloc[:, 21 - k] = prices.iloc[:, k] * scale
    return prices[list(np.random.default_rng(seed).permutation(prices.columns))]


@pytest.mark.parametrize("seed", [29, 30, 31])
def test_hrp_on_duplicated_columns_is_hrpopt_whatever_the_rounding_and_order(seed: int) -> None:
    """Exactly duplicated return columns tie in the clustering: the weights equal HRPOpt's on the sorted
    symbols (np.corrcoef's 0.9999999999999994 for a twin ordered the merges otherwise), and neither scaled
    copies (the same returns but for the last bits) nor the column order change them."""
    exact = _twins(seed, 1.0)
    result = opt.optimize(exact, "hrp")
    ordered = exact[sorted(exact.columns)]
    expected = HRPOpt(returns=ordered.pct_change(fill_method=None).dropna()).optimize()
    assert max(abs(result.weights[s] - round(expected[s], 6)) for s in exact.columns) < 1e-12
    for other in (_twins(seed, 3.0), exact[list(reversed(exact.columns))]):
        assert opt.optimize(other, "hrp").weights == result.weights
