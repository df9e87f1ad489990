"""The three places that lean on a library's private names still find them, so an upgrade fails here, loudly.

Each has no public API for what it needs; pyproject.toml pins the library's minor version and the lock
file its exact version. When one of these tests fails after an upgrade, read the library's change
log and adapt the code named in the test's docstring before moving the pin.
"""

from __future__ import annotations

import warnings

import aiohttp
import dash
import dash._callback
import numpy as np
from pydantic import SecretStr
from statsmodels.tsa.exponential_smoothing.ets import ETSModel, ETSResults

from dashboard.analytics.ets_fit import DampedETS
from engine.fmp.budget import RateBudget
from engine.fmp.client import FMPClient


async def test_aiohttp_connection_retry_flag_is_switched_off() -> None:
    """engine/fmp/client.py: aiohttp's private `_retry_connection` exists and the client turns it off."""
    assert "_retry_connection" in aiohttp.ClientSession.ATTRS
    async with aiohttp.ClientSession() as session:
        assert session._retry_connection is True  # aiohttp's default: a hidden second send
        FMPClient(session, RateBudget(10, 60.0), api_key=SecretStr("k"), base_url="http://x", concurrency=1)
        assert session._retry_connection is False


def test_dash_callback_globals_are_where_app_py_snapshots_them() -> None:
    """dashboard/app.py: `dash.callback` still collects into dash._callback's three module globals."""
    assert isinstance(dash._callback.GLOBAL_CALLBACK_MAP, dict)
    assert isinstance(dash._callback.GLOBAL_CALLBACK_LIST, list)
    assert isinstance(dash._callback.GLOBAL_INLINE_SCRIPTS, list)
    before = len(dash._callback.GLOBAL_CALLBACK_LIST)

    @dash.callback(dash.Output("assumption-out", "children"), dash.Input("assumption-in", "value"))
    def _echo(value: str) -> str:
        return value

    try:
        assert "assumption-out.children" in dash._callback.GLOBAL_CALLBACK_MAP
        assert len(dash._callback.GLOBAL_CALLBACK_LIST) == before + 1
    finally:
        dash._callback.GLOBAL_CALLBACK_MAP.pop("assumption-out.children", None)
        dash._callback.GLOBAL_CALLBACK_LIST.pop()


def test_statsmodels_ets_internals_that_ets_fit_calls_exist() -> None:
    """dashboard/analytics/ets_fit.py: the ETSModel internals it calls are there and keep their meaning."""
    for name in ("_convert_and_bound_start_params", "_setup_bounds", "_model_params", "_internal_params"):
        assert callable(getattr(ETSModel, name, None)), name
    # DampedETS.forecast's variance is this formula's (model "AAdN"), its mean the zero-error simulation.
    assert callable(getattr(ETSResults, "_relative_forecast_variance", None))
    values = np.linspace(10.0, 30.0, 24) + np.sin(np.arange(24.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DampedETS(values)
        assert model._k_states_internal >= 2  # level and trend
        assert model.short_name == "AAdN"
        assert model._k_params_internal >= 6
        assert callable(model._smoothing_func)
        params = model.fit_params()
    assert params.shape == (len(model.start_params),)
