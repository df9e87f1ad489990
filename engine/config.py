"""The engine's settings: one pydantic-settings class, read from `MYCFA_*` variables at start."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.errors import ConfigError

ENV_PREFIX = "MYCFA_"
DEFAULT_FMP_BASE_URL = "https://financialmodelingprep.com/stable"


def split_symbols(text: str) -> tuple[str, ...]:
    """A comma list of tickers as FMP spells them: upper case, class shares with a hyphen (`brk.b` ->
    `BRK-B`; FMP answers nothing for the dotted spelling)."""
    return tuple(part.strip().upper().replace(".", "-") for part in text.split(",") if part.strip())


def check_postgres_url(url: str) -> None:
    """Refuse a database URL the driver would choke on later (with a traceback, or naming no setting).

    Multi-host URLs (`postgresql://u@h1:5432,h2:5433/db`) are checked host by host. The messages
    never repeat the URL: it holds a password.

    Raises:
        ValueError: not a postgresql:// URL, or a port that is not a number from 1 to 65535.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql:// URL")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    for host in netloc.split(","):
        port = host.partition("]")[2] if host.startswith("[") else host
        if ":" not in port:
            continue
        port = port.rpartition(":")[2]
        if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise ValueError("has a port that is not a number from 1 to 65535")


class EngineSettings(BaseSettings):
    """Everything the engine needs from its environment; built once in the entry point."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: SecretStr  # holds the owner's password: kept out of reprs and logs
    fmp_api_key: SecretStr = Field(min_length=1)
    fmp_base_url: str = DEFAULT_FMP_BASE_URL
    fmp_rate_limit: int = Field(default=120, gt=0, description="requests allowed in any 60 s window")
    fmp_concurrency: int = Field(default=8, gt=0, le=256)
    # FMP throttles its bulk files apart from the per-minute budget (engine/runs/bulk.py)
    fmp_bulk_interval_s: float = Field(
        default=10.0, ge=0, le=600, description="seconds from the end of one bulk request to the next"
    )
    # requests a UTC day; unset: the probed plan's (FMP's free plan: 250), none on paid plans
    fmp_daily_limit: int | None = Field(default=None, gt=0)
    # redis:// URL of a budget shared by every engine on this key (engine/fmp/shared_budget.py);
    # unset: the budget is per process. May hold a password, hence secret.
    fmp_budget_url: SecretStr | None = None
    symbols: Annotated[tuple[str, ...], NoDecode] = ()
    # How long a run rides out a lost database connection (restart, failover) before exiting 7:
    # the run lock's reconnect and every store call's retries (engine/db/pool.py).
    db_outage_s: float = Field(
        default=30.0, ge=0, le=600, description="seconds a lost database is waited for"
    )
    history_start: date = date(1990, 1, 1)
    # Companies that left the S&P 500 on or after this day are ingested too (from the index's changes),
    # so a screen as of a later date holds every member of that day (docs/engine.md, "Former members").
    # Empty: none.
    former_members_since: date | None = date(2000, 1, 1)
    # `migrate` (engine/db/migrate.py): how long one statement may wait for a lock (then the file is
    # rolled back and retried), how long it may run, and from what size a table is large (its
    # indexes are built CONCURRENTLY, a rewrite of it is refused).
    migrate_lock_timeout_s: float = Field(default=2.0, gt=0, le=600, description="lock wait per statement")
    migrate_statement_timeout_s: float = Field(
        default=900.0, gt=0, le=86400, description="longest a migration statement may run"
    )
    migrate_large_table_mb: float = Field(
        default=10.0, ge=0, description="a table this size or more is large"
    )
    # Runs (engine/runs/): how incremental a run is, when `schedule` fires, how logs look.
    price_overlap_days: int = Field(default=7, ge=0, le=366, description="refetch days behind the last price")
    statement_refresh_annual: int = Field(default=3, gt=0, description="recent fiscal years refetched")
    statement_refresh_quarter: int = Field(default=8, gt=0, description="recent quarters refetched")
    statement_sweep_weeks: int = Field(
        default=13, gt=0, le=520, description="every stored statement series is refetched at least this often"
    )
    schedule_full: str = "0 6 * * sat"  # crontab, in schedule_timezone: weekly full refresh
    schedule_prices: str = "30 18 * * mon-fri"  # weekday evenings, after the 16:00 close
    schedule_timezone: str = "America/New_York"
    log_format: Literal["auto", "json", "text"] = "auto"  # auto: JSON lines unless stderr is a terminal
    # MYCFA_LOG_LEVEL, shared with the dashboard: ERROR in production, DEBUG to troubleshoot.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    def log_secrets(self) -> tuple[str, ...]:
        """What log lines must never show: the FMP key, the database URL and its password."""
        url = self.database_url.get_secret_value()
        password = urlsplit(url).password or ""
        return tuple(s for s in (self.fmp_api_key.get_secret_value(), url, unquote(password), password) if s)

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        if isinstance(value, str):
            symbols = split_symbols(value)
            if value.strip() and not symbols:  # ' , ,' is a mistake, not "every constituent"
                raise ValueError("lists no symbol; leave it unset or empty for every constituent")
            return symbols
        return value

    @field_validator("former_members_since", mode="before")
    @classmethod
    def _empty_former_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("history_start")
    @classmethod
    def _check_history_start(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("is in the future: no price could be fetched")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr) -> SecretStr:
        check_postgres_url(value.get_secret_value())
        return value

    @field_validator("fmp_budget_url", mode="before")
    @classmethod
    def _empty_budget_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("fmp_budget_url")
    @classmethod
    def _check_budget_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be a redis:// (or rediss://, unix://) URL")
        return value

    @field_validator("fmp_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")


def describe_validation_error(exc: ValidationError, prefix: str) -> str:
    """One line naming each bad setting by its variable, without echoing any value."""
    problems = []
    for error in exc.errors():
        name = prefix + "_".join(str(part) for part in error["loc"]).upper()
        reason = "is required" if error["type"] == "missing" else f"is invalid ({error['msg']})"
        problems.append(f"{name} {reason}")
    return "configuration error: " + "; ".join(problems)


def load_engine_settings() -> EngineSettings:
    """Build the settings from the environment.

    Raises:
        ConfigError: a setting is missing or malformed (the message names it).
    """
    try:
        return EngineSettings()  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, ENV_PREFIX)) from None
