"""Dashboard settings: the secret key is required and bad values are named, never echoed."""

from __future__ import annotations

import pytest

from dashboard.config import ConfigError, load_dashboard_settings


def test_dashboard_settings_require_secret_key(clean_env: pytest.MonkeyPatch) -> None:
    """Without MYCFA_DASH_SECRET_KEY the dashboard refuses to start, naming the variable."""
    clean_env.setenv("MYCFA_DASH_DATABASE_URL", "postgresql://mycfa_reader:pw@127.0.0.1/mycfa")
    with pytest.raises(ConfigError, match="MYCFA_DASH_SECRET_KEY is required"):
        load_dashboard_settings()


def test_dashboard_settings_parse_replica_list(clean_env: pytest.MonkeyPatch) -> None:
    """Replica URLs come as a comma list; cookies are Secure unless turned off."""
    clean_env.setenv("MYCFA_DASH_DATABASE_URL", "postgresql://mycfa_reader:pw@127.0.0.1/mycfa")
    clean_env.setenv("MYCFA_DASH_SECRET_KEY", "s" * 32)
    clean_env.setenv("MYCFA_DASH_REPLICA_URLS", "postgresql://a/x, postgresql://b/x")
    settings = load_dashboard_settings()
    assert [u.get_secret_value() for u in settings.replica_urls] == ["postgresql://a/x", "postgresql://b/x"]
    assert settings.secure_cookies is True
    assert "s" * 32 not in repr(settings)
