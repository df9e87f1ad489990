"""The dashboard's settings: one pydantic-settings class, read from `MYCFA_DASH_*` variables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dashboard.errors import DashboardError

ENV_PREFIX = "MYCFA_DASH_"


class ConfigError(DashboardError):
    """A missing or malformed setting; its message is one line and never holds a secret."""


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad setting by its variable, without echoing any value.

    The dashboard ships without the engine package, hence its own copy of this helper.
    """
    names = [
        ENV_PREFIX
        + "_".join(str(part) for part in error["loc"]).upper()
        + (" is required" if error["type"] == "missing" else f" is invalid ({error['msg']})")
        for error in exc.errors()
    ]
    return "configuration error: " + "; ".join(names)


class DashboardSettings(BaseSettings):
    """Read-only database access and session security for the analysts' app."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: SecretStr  # the primary, as mycfa_reader: the last resort for reads
    replica_urls: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    secret_key: SecretStr = Field(min_length=16)
    secure_cookies: bool = True

    # Optional tuning, all with safe defaults.
    admin_database_url: SecretStr | None = None  # owner role, only for `mycfa-dashboard users`
    max_lag_bytes: int = Field(default=16 * 1024 * 1024, ge=0)  # replay lag beyond which a replica is skipped
    max_lag_seconds: float = Field(default=30.0, gt=0)  # ... or time behind, while WAL is pending
    statement_timeout_ms: int = Field(default=5000, ge=100)
    connect_timeout_s: int = Field(default=3, ge=1)
    pool_size: int = Field(default=4, ge=1)  # per node, per gunicorn worker
    health_ttl_s: float = Field(default=2.0, ge=0)  # how long a node health probe is trusted
    # MYCFA_LOG_LEVEL, shared with the engine (no MYCFA_DASH_ prefix): ERROR in production, DEBUG to troubleshoot.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", validation_alias=AliasChoices("MYCFA_LOG_LEVEL", "log_level")
    )
    bind: str = "127.0.0.1:8050"
    # Proxies whose X-Forwarded-* headers gunicorn believes (addresses or CIDRs, comma-separated): on
    # AWS the ALB's subnets, never `*` (any client could then pick the address the app sees).
    forwarded_allow_ips: str = Field(default="127.0.0.1", pattern=r"^[0-9A-Fa-f:./,]+$")
    # How many of our proxies append to X-Forwarded-For (AWS: CloudFront, then the ALB): the client is
    # that many entries from the right; whatever lies further left the client wrote itself.
    proxy_hops: int = Field(default=2, ge=1, le=10)
    workers: int = Field(default=0, ge=0)  # 0 = from the CPU count
    threads: int = Field(default=4, ge=1)
    login_max_failures: int = Field(default=5, ge=1)  # per (account, address) before delays start
    login_window_s: int = Field(default=300, ge=1)  # failures forgotten after this; the longest delay
    login_delay_base_s: float = Field(default=2.0, gt=0)  # first delay; doubles with each failure
    # Per account, from any addresses (guesses spread over many): free failures, the window they are
    # counted over (also the longest delay), and how long an address the owner logged in from is spared.
    login_account_max_failures: int = Field(default=20, ge=1)
    login_account_window_s: int = Field(default=3600, ge=60)
    login_known_address_days: int = Field(default=30, ge=1)
    idle_timeout_s: int = Field(default=30 * 60, ge=60)  # a session unused this long is refused
    # The audit trail's rows, the login throttle and "log out everywhere": the primary as mycfa_audit.
    audit_database_url: SecretStr | None = None
    # Start without it (audit JSON lines only, throttle per process): a development machine only.
    audit_optional: bool = False

    @field_validator("replica_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


def require_audit_database(settings: DashboardSettings) -> bool:
    """Whether the audit trail has its database; without one the app may start only when told so.

    Raises:
        ConfigError: MYCFA_DASH_AUDIT_DATABASE_URL is unset and MYCFA_DASH_AUDIT_OPTIONAL is not true.
    """
    if settings.audit_database_url is not None:
        return True
    if not settings.audit_optional:
        raise ConfigError(
            "configuration error: MYCFA_DASH_AUDIT_DATABASE_URL is required (the audit trail's rows, the"
            " shared login throttle); MYCFA_DASH_AUDIT_OPTIONAL=true starts without it, on a development"
            " machine only"
        )
    return False


def load_dashboard_settings() -> DashboardSettings:
    """Build the settings from the environment.

    Raises:
        ConfigError: a setting is missing or malformed (the message names it).
    """
    try:
        return DashboardSettings()  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
