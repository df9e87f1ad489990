"""The analytics fixtures (recorded FMP AAPL samples, generated prices) shared with the dashboard's tests."""

from __future__ import annotations

from tests.dashboard.analytics.conftest import aapl, closes, fmp_metrics, fmp_ratios, generated_prices

__all__ = ["aapl", "closes", "fmp_metrics", "fmp_ratios", "generated_prices"]
