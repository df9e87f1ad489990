"""Engine settings: defaults, parsing, and one clear line for a bad environment."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest

from engine.config import EngineSettings, load_engine_settings
from engine.errors import ConfigError
from engine.exitcodes import ExitCode

CANARY_KEY = "canary-key-4f1d9a"
VALID_ENV = {
    "MYCFA_DATABASE_URL": "postgresql://mycfa:pw@127.0.0.1:5432/mycfa",
    "MYCFA_FMP_API_KEY": CANARY_KEY,
}


def test_settings_defaults_match_the_documented_ones(clean_env: pytest.MonkeyPatch) -> None:
    """Unset optional settings take the defaults the README documents."""
    for name, value in VALID_ENV.items():
        clean_env.setenv(name, value)
    settings = load_engine_settings()
    assert settings.fmp_base_url == "https://financialmodelingprep.com/stable"
    assert settings.fmp_rate_limit == 120
    assert settings.fmp_concurrency == 8
    assert settings.symbols == ()
    assert settings.history_start == date(1990, 1, 1)
    assert (settings.migrate_lock_timeout_s, settings.migrate_statement_timeout_s) == (2.0, 900.0)
    assert settings.migrate_large_table_mb == 10.0


def test_settings_symbols_parsed_from_comma_list(clean_env: pytest.MonkeyPatch) -> None:
    """MYCFA_SYMBOLS is a comma list, trimmed, upper-cased, class shares spelled as FMP does."""
    for name, value in VALID_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("MYCFA_SYMBOLS", " aapl,MSFT , brk.b,")
    assert load_engine_settings().symbols == ("AAPL", "MSFT", "BRK-B")


def test_settings_repr_hides_secrets(clean_env: pytest.MonkeyPatch) -> None:
    """Neither the API key nor the database password shows in the settings' repr."""
    for name, value in VALID_ENV.items():
        clean_env.setenv(name, value)
    text = repr(load_engine_settings())
    assert CANARY_KEY not in text
    assert ":pw@" not in text


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("MYCFA_FMP_RATE_LIMIT", "fast", "MYCFA_FMP_RATE_LIMIT is invalid"),
        ("MYCFA_FMP_RATE_LIMIT", "0", "MYCFA_FMP_RATE_LIMIT is invalid"),
        ("MYCFA_HISTORY_START", "1990-13-01", "MYCFA_HISTORY_START is invalid"),
        ("MYCFA_DATABASE_URL", "mysql://x", "MYCFA_DATABASE_URL is invalid"),
        ("MYCFA_FMP_BASE_URL", "ftp://x", "MYCFA_FMP_BASE_URL is invalid"),
        ("MYCFA_DATABASE_URL", "postgresql://mycfa:pw@127.0.0.1:abc/mycfa", "MYCFA_DATABASE_URL is invalid"),
        (
            "MYCFA_DATABASE_URL",
            "postgresql://mycfa:pw@127.0.0.1:99999/mycfa",
            "MYCFA_DATABASE_URL is invalid",
        ),
        ("MYCFA_DATABASE_URL", "postgresql://mycfa:pw@h1:5432,h2:0/mycfa", "MYCFA_DATABASE_URL is invalid"),
        ("MYCFA_DATABASE_URL", "postgresql://mycfa:pw@[::1]:x/mycfa", "MYCFA_DATABASE_URL is invalid"),
        (
            "MYCFA_HISTORY_START",
            "2999-01-01",
            "MYCFA_HISTORY_START is invalid (Value error, is in the future",
        ),
        ("MYCFA_SYMBOLS", " , ,", "MYCFA_SYMBOLS is invalid (Value error, lists no symbol"),
    ],
)
def test_settings_malformed_value_named_in_error(
    clean_env: pytest.MonkeyPatch, variable: str, value: str, needle: str
) -> None:
    """A malformed setting raises ConfigError naming the variable, never echoing the key."""
    for name, good in VALID_ENV.items():
        clean_env.setenv(name, good)
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_engine_settings()
    assert needle in str(caught.value)
    assert CANARY_KEY not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_missing_api_key_prints_one_line_naming_it() -> None:
    """`python -m engine` without MYCFA_FMP_API_KEY exits with the config code and one line, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")}
    env["MYCFA_DATABASE_URL"] = VALID_ENV["MYCFA_DATABASE_URL"]
    result = subprocess.run(
        [sys.executable, "-m", "engine", "config"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == ExitCode.CONFIG
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "MYCFA_FMP_API_KEY is required" in lines[0]
    assert "Traceback" not in result.stderr
    assert ":pw@" not in result.stderr + result.stdout


def test_cli_config_masks_secrets() -> None:
    """`config` prints every setting but masks the key and the database URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")} | VALID_ENV
    result = subprocess.run(
        [sys.executable, "-m", "engine", "config"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == ExitCode.OK
    assert "MYCFA_FMP_RATE_LIMIT=120" in result.stdout
    assert CANARY_KEY not in result.stdout
    assert ":pw@" not in result.stdout


def test_settings_class_declares_key_without_default() -> None:
    """The API key has no default: a missing key can only fail at start."""
    assert EngineSettings.model_fields["fmp_api_key"].is_required()


def test_settings_good_database_urls_pass(clean_env: pytest.MonkeyPatch) -> None:
    """Multi-host, IPv6, socket and port-less URLs are accepted; an empty MYCFA_SYMBOLS means every constituent."""
    for name, good in VALID_ENV.items():
        clean_env.setenv(name, good)
    clean_env.setenv("MYCFA_SYMBOLS", "")
    for url in (
        "postgresql://mycfa:pw@h1:5432,h2:5433/mycfa",
        "postgres://mycfa:p%40ss@[::1]:65535/mycfa?sslmode=require",
        "postgresql:///mycfa?host=/run/postgresql",
        "postgresql://mycfa@db/mycfa",
    ):
        clean_env.setenv("MYCFA_DATABASE_URL", url)
        assert load_engine_settings().database_url.get_secret_value() == url
    assert load_engine_settings().symbols == ()


@pytest.mark.parametrize("verb", ["config", "migrate", "status", "plan", "run"])
@pytest.mark.parametrize("port", ["abc", "99999"])
def test_cli_bad_database_port_exits_3_naming_the_variable(verb: str, port: str) -> None:
    """A non-numeric or out-of-range port stops every verb with exit 3 and one line, no traceback, no password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")} | VALID_ENV
    env["MYCFA_DATABASE_URL"] = f"postgresql://mycfa:pw@127.0.0.1:{port}/mycfa"
    result = subprocess.run(
        [sys.executable, "-m", "engine", verb], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert result.stderr.strip().splitlines() == [
        "mycfa-engine: configuration error: MYCFA_DATABASE_URL is invalid "
        "(Value error, has a port that is not a number from 1 to 65535)"
    ]
    assert ":pw@" not in result.stderr + result.stdout


def test_settings_budget_url_optional_and_checked(clean_env: pytest.MonkeyPatch) -> None:
    """MYCFA_FMP_BUDGET_URL: unset or empty means the per-process budget; anything but redis:// is refused."""
    for name, good in VALID_ENV.items():
        clean_env.setenv(name, good)
    assert load_engine_settings().fmp_budget_url is None
    clean_env.setenv("MYCFA_FMP_BUDGET_URL", "")
    assert load_engine_settings().fmp_budget_url is None
    clean_env.setenv("MYCFA_FMP_BUDGET_URL", "redis://:pw@budget:6379/0")
    assert load_engine_settings().fmp_budget_url is not None
    clean_env.setenv("MYCFA_FMP_BUDGET_URL", "http://budget:6379")
    with pytest.raises(ConfigError, match="MYCFA_FMP_BUDGET_URL is invalid"):
        load_engine_settings()
