"""The dashboard's exception tree: every error the dashboard raises on purpose is a DashboardError.

    DashboardError
    ├── ConfigError        dashboard/config.py: a missing or malformed MYCFA_DASH_* setting
    ├── InvalidInput       components/inputs.py: a user input the page refuses (message safe to show)
    ├── NoNodeAvailable    data/router.py: neither a replica nor the primary answered
    └── QueryFailed        data/router.py: a query was rejected or timed out (names no secret)

    AnalyticsError (a ValueError, serving/errors.py, shared with the engine): input a pure function
    cannot compute on; NotEnoughDataError and TerminalGrowthError below it.

The router translates SQLAlchemy/psycopg errors and the analytics translate pandas/numpy/statsmodels
errors at their boundary, so pages catch only these (`components.page.FAILURES`).
"""

from __future__ import annotations


class DashboardError(Exception):
    """Base of every error the dashboard raises on purpose."""
