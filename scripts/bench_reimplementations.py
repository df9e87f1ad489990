"""CPU per call of each analytics re-implementation and of the library public API it stands in for.

Usage: .venv/bin/python scripts/bench_reimplementations.py [--repeat N]

docs/analytics.md ("Library or re-implementation") keeps a re-implementation only where this shows it
matters: CLA's turning points, HRP and Ledoit-Wolf on portfolios of 2, 4 and 6 symbols over 9,500 days,
the damped ETS fit and forecast on series of 30, 120 and 300 points (the HRP leaf order and the log-linear
trend's intervals went back to the libraries after it). BLAS on one thread, as dashboard workers run.
Prints the machine's load average: the figures move with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn.covariance
from pypfopt import CLA, HRPOpt, risk_models
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.analytics import cla, hrp
from dashboard.analytics import optimize as opt
from dashboard.analytics.ets_fit import DampedETS
from devkit import factories
from devkit.benchrecord import add_record_argument, record


def cpu_ms(call: Callable[[], object], repeat: int) -> float:
    """CPU milliseconds per call, after one unmeasured call."""
    call()
    start = time.process_time()
    for _ in range(repeat):
        call()
    return (time.process_time() - start) / repeat * 1000


def portfolio(n: int, repeat: int) -> dict[str, list[float]]:
    """Portfolio re-implementations on `n` symbols over 9,500 days."""
    prices = pd.DataFrame({f"S{i}": factories.prices(9500, seed=i)["adj_close"].to_numpy() for i in range(n)})
    values = prices.to_numpy()
    returns = values[1:] / values[:-1] - 1.0
    frame = pd.DataFrame(returns, columns=prices.columns)
    inputs = opt._build_inputs(prices)
    mu, cov = inputs.mu.to_numpy(), inputs.cov.to_numpy()

    def library_lw() -> object:
        shrunk, _ = sklearn.covariance.ledoit_wolf(returns)
        return risk_models.fix_nonpositive_semidefinite(shrunk * 252, fix_method="spectral")

    def library_cla() -> object:
        return CLA(inputs.mu, inputs.cov).min_volatility()

    rows = {
        "cla.turning_points | pypfopt.CLA": (lambda: cla.turning_points(mu, cov), library_cla),
        "hrp.weights | HRPOpt": (lambda: hrp.weights(returns), lambda: HRPOpt(returns=frame).optimize()),
        "optimize.ledoit_wolf | sklearn + fix": (lambda: opt.ledoit_wolf(returns), library_lw),
    }
    figures = {}
    for name, (ours, theirs) in rows.items():
        mine, library = cpu_ms(ours, repeat), cpu_ms(theirs, repeat)
        print(f"{n} symbols  {name:40} {mine:7.3f} {library:7.3f}")
        figures[f"{n} symbols {name}"] = [round(mine, 3), round(library, 3)]
    return figures


def series(n: int, repeat: int) -> dict[str, list[float]]:
    """Forecast re-implementations on a series of `n` points."""
    rng = np.random.default_rng(3)
    y = 100 * np.exp(np.cumsum(rng.normal(0.01, 0.05, n)))

    def ours_ets() -> object:
        model = DampedETS(y)
        return model.forecast(model.fit_params(), 5)

    def library_ets() -> object:
        fitted = ETSModel(pd.Series(y), error="add", trend="add", damped_trend=True).fit(disp=False)
        return fitted.get_prediction(start=n, end=n + 4).summary_frame(alpha=0.2)

    name = "DampedETS fit + forecast | ETSModel"
    mine, library = cpu_ms(ours_ets, repeat), cpu_ms(library_ets, repeat)
    print(f"{n} points   {name:40} {mine:7.3f} {library:7.3f}")
    return {f"{n} points {name}": [round(mine, 3), round(library, 3)]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30, help="measured calls per figure (default 30)")
    add_record_argument(parser)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # statsmodels' convergence notes
    print(f"load average {os.getloadavg()[0]:.1f}; CPU ms per call: ours, library")
    figures: dict[str, list[float]] = {}
    with threadpool_limits(limits=1):
        for symbols in (2, 4, 6):
            figures.update(portfolio(symbols, args.repeat))
        for points in (30, 120, 300):
            figures.update(series(points, args.repeat))
    if args.record:
        record("bench_reimplementations", {"cpu_ms_ours_library": figures, "repeat": args.repeat})
    return 0


if __name__ == "__main__":
    sys.exit(main())
