"""devkit/devcluster.py: the dashboard's settings for one database of the dev cluster, as it reads them."""

from __future__ import annotations

import pytest

from dashboard.config import load_dashboard_settings, require_audit_database
from devkit.devcluster import dashboard_env, with_db

INFO = {
    "reader_url": "postgresql://mycfa_reader:pw@127.0.0.1:5501/mycfa",
    "replica_reader_url": "postgresql://mycfa_reader:pw@127.0.0.1:5502/mycfa",
    "audit_url": "postgresql://mycfa_audit:pw@127.0.0.1:5501/mycfa",
}


def test_with_db_replaces_only_the_database() -> None:
    """A URL keeps its role, password, host and port and names the other database."""
    assert with_db(INFO["reader_url"], "bench_x") == "postgresql://mycfa_reader:pw@127.0.0.1:5501/bench_x"


@pytest.mark.parametrize("audit", [True, False])
def test_dashboard_env_loads_as_the_dashboard_settings(clean_env: pytest.MonkeyPatch, audit: bool) -> None:
    """The settings start a dashboard on the named database, primary and replica, over plain HTTP, with
    the audit writer, or with the audit trail made optional (the app refuses to start with neither)."""
    env = dashboard_env(INFO, "bench_x", audit=audit)
    for name, value in env.items():
        clean_env.setenv(name, value)
    settings = load_dashboard_settings()
    assert settings.database_url.get_secret_value().endswith("127.0.0.1:5501/bench_x")
    assert [u.get_secret_value() for u in settings.replica_urls] == [
        "postgresql://mycfa_reader:pw@127.0.0.1:5502/bench_x"
    ]
    assert settings.secure_cookies is False
    assert require_audit_database(settings) is audit
    if audit:
        assert settings.audit_database_url is not None
        assert settings.audit_database_url.get_secret_value().endswith("/bench_x")
    assert dashboard_env(INFO, "bench_x")["MYCFA_DASH_SECRET_KEY"] != env["MYCFA_DASH_SECRET_KEY"]
