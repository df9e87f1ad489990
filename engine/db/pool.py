"""The asyncpg pool, the store's error boundary and the batch runner; both ride out a short outage.

A primary restart or failover drops every connection for a few seconds. Every store call
(`store_boundary`) and every batch (`run_batch`) is one statement or one whole transaction, so when
the connection is lost it is simply run again on a fresh connection, with a log line per retry,
until the database has been away for the outage bound (MYCFA_DB_OUTAGE_S, `outage_bound`); then
StoreUnavailable ends the run (exit 7). Only a lost connection is retried this way; a failed
statement is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

import asyncpg

from engine.errors import LoadError, StoreError, StoreUnavailable

T = TypeVar("T")
P = ParamSpec("P")

CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 120.0  # the server-side ceiling for any one statement, COPY included
BATCH_ATTEMPTS = 3
RETRY_WAIT_S = 0.5
# How long a lost connection is retried before the store gives up: a restart takes seconds, a managed
# failover up to ~30 s (RDS Multi-AZ can take longer: raise MYCFA_DB_OUTAGE_S there).
STORE_OUTAGE_S = 30.0
OUTAGE_PAUSE_MAX_S = 2.0

log = logging.getLogger("engine.store")

# The outage bound of the running program: set once by the entry point (`outage_bound`), inherited
# by every task it starts; a context variable rather than an argument threaded through every call.
_outage_s: ContextVar[float] = ContextVar("store_outage_s", default=STORE_OUTAGE_S)

# The connection went away (server restart, pg_terminate_backend, network): the batch's
# transaction is gone with it, so the whole batch can safely be tried again on a fresh connection.
# InternalClientError ("cannot switch to state 12; another operation (2) is in progress"): a pooled
# connection whose backend was terminated while it sat idle has already read the server's FATAL
# message, so the next statement is refused by the driver before it is sent; the socket is closed
# moments later and the pool replaces the connection on the next acquire.
DROPPED_CONNECTION: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)
# The transaction lost a race and was rolled back by the server: also safe to repeat whole.
TRANSIENT_CONFLICT: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)


# Everything the driver (or the socket under it) raises: what `store_boundary` translates.
DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


@contextlib.contextmanager
def outage_bound(seconds: float) -> Iterator[None]:
    """Within the block (and the tasks started in it), a lost connection is retried for `seconds`."""
    token = _outage_s.set(seconds)
    try:
        yield
    finally:
        _outage_s.reset(token)


class _Outage:
    """One call's ride through a lost connection: when it began, how often it was retried."""

    __slots__ = ("retries", "started", "what")

    def __init__(self, what: str) -> None:
        self.what = what
        self.started: float | None = None
        self.retries = 0

    async def pause_or_give_up(self, lost: BaseException, exc: BaseException) -> None:
        """Log and wait before the next try, or raise StoreUnavailable once the outage bound is spent."""
        now = asyncio.get_running_loop().time()
        if self.started is None:
            self.started = now
        away, bound = now - self.started, _outage_s.get()
        if away >= bound:
            raise StoreUnavailable(
                f"{self.what}: no database connection for {away:.1f}s"
                f" (the bound, MYCFA_DB_OUTAGE_S, is {bound:g}s): {describe(lost)}"
            ) from exc
        pause = min(RETRY_WAIT_S * 2**self.retries, OUTAGE_PAUSE_MAX_S, bound - away)
        self.retries += 1
        log.warning(
            "%s: database connection lost (%s); retry %d in %.1fs (away %.1fs of at most %gs)",
            self.what,
            describe(lost),
            self.retries,
            pause,
            away,
            bound,
            extra={"event": "store_retry", "what": self.what, "retry": self.retries},
        )
        await asyncio.sleep(pause)  # on the loop's clock, which measures the outage


def translate(exc: BaseException, what: str) -> StoreError:
    """The store's error for a driver error raised while doing `what`.

    A dropped connection (or a socket error) is StoreUnavailable; anything else (a failed or timed-out
    statement) is a plain StoreError.
    """
    if _dropped_cause(exc) is not None or isinstance(exc, OSError):
        return StoreUnavailable(f"{what}: {describe(exc)}")
    return StoreError(f"{what}: {describe(exc)}")


def store_boundary(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate a coroutine function that talks to the store so that driver errors leave it translated.

    Decorate only what is safe to run again whole: one statement, or one transaction of its own.
    A lost connection is retried (logged) until the outage bound is spent.

    Raises (from the decorated function):
        StoreUnavailable: the connection was lost for longer than the outage bound.
        StoreError: a statement failed or timed out.
    """

    @functools.wraps(func)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> T:
        outage = _Outage(func.__name__)
        while True:
            try:
                return await func(*args, **kwargs)
            except DRIVER_ERRORS as exc:
                lost = _lost_connection(exc)
                if lost is None:
                    raise translate(exc, func.__name__) from exc
                await outage.pause_or_give_up(lost, exc)

    return translated


async def _transactions_only(conn: asyncpg.Connection) -> None:
    """The pool's reset for callers that keep all their state inside transactions: nothing to undo.

    asyncpg rolls back an open transaction on every release; its default reset then sends one more
    query (pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL), a round trip and a statement
    on the server per release. A run releases a connection several times per item (ledger, loads,
    watermarks): thousands of round trips per full run that undo nothing, since the engine's locks
    are transaction-level (pg_advisory_xact_lock), its settings SET LOCAL, and its staging tables
    ON COMMIT DELETE ROWS (which RESET ALL would not drop anyway).
    """


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 4,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    command_timeout: float = COMMAND_TIMEOUT_S,
    transactions_only: bool = False,
) -> asyncpg.Pool:
    """Open a pool to the primary; its first connection is made before returning.

    `transactions_only`: the caller leaves no session state on a connection it releases (no
    session-level SET, advisory lock, cursor or LISTEN), so the pool skips asyncpg's reset query.

    Raises:
        StoreUnavailable: the server cannot be reached or refused the login (the DSN is never echoed).
    """
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout,
            command_timeout=command_timeout,
            reset=_transactions_only if transactions_only else None,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StoreUnavailable(f"database unreachable: {describe(exc, dsn)}") from None
    assert pool is not None  # create_pool returns the pool once initialised
    return pool


def describe(exc: BaseException, dsn: str = "") -> str:
    """The exception as one line, scrubbed of the DSN's password in case a driver echoes it."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    password = _password_of(dsn)
    return text.replace(password, "***") if password else text


def _password_of(dsn: str) -> str:
    credentials = dsn.split("://", 1)[-1].rsplit("@", 1)
    if len(credentials) == 2 and ":" in credentials[0]:
        return credentials[0].split(":", 1)[1]
    return ""


def _cause_matching(exc: BaseException, matches: Callable[[BaseException], bool]) -> BaseException | None:
    """The first error in `exc`'s cause/context chain that `matches`, if any.

    A killed backend surfaces as whatever call noticed first; often that is the ROLLBACK on the way
    out ("the underlying connection is closed"), with the real cause in the exception's context.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if matches(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _dropped_cause(exc: BaseException) -> BaseException | None:
    """The retryable error behind `exc`: a dropped connection or a transient conflict."""
    return _cause_matching(exc, lambda seen: isinstance(seen, DROPPED_CONNECTION + TRANSIENT_CONFLICT))


def _lost_connection(exc: BaseException) -> BaseException | None:
    """The lost connection behind `exc`: a dropped link or a socket error (asyncpg reports a refused
    connect to several addresses as a plain OSError), never a timeout or a conflict."""
    return _cause_matching(
        exc,
        lambda seen: (
            isinstance(seen, DROPPED_CONNECTION)
            or (isinstance(seen, OSError) and not isinstance(seen, TimeoutError))
        ),
    )


async def run_batch(
    pool: asyncpg.Pool,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    dataset: str,
    symbol: str | None,
    timeout_s: float,
    attempts: int = BATCH_ATTEMPTS,
    retry_wait: float = RETRY_WAIT_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run `work` inside one transaction on a pooled connection; retry it whole on a dropped connection.

    `work` must do only database I/O (never an HTTP fetch), so no transaction outlives the batch.
    A COPY is never resumed: a retry starts the batch again from its first row in a new transaction.
    A lost connection is retried `attempts` times, and after that for as long as the outage bound
    allows; a lost race (deadlock, serialization failure) `attempts` times.

    Raises:
        StoreUnavailable: the connection stayed lost past the attempts and the outage bound.
        LoadError: the batch failed for any other database reason (nothing was committed).
    """
    outage = _Outage(f"{dataset} [{symbol}]")
    attempt = 0
    while True:
        attempt += 1
        try:
            async with pool.acquire(timeout=timeout_s) as conn, conn.transaction():
                return await work(conn)
        except (
            *DROPPED_CONNECTION,
            *TRANSIENT_CONFLICT,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            dropped = _dropped_cause(exc)
            if dropped is None:
                raise LoadError(describe(exc), dataset=dataset, symbol=symbol) from exc
            if attempt < attempts:
                await sleep(retry_wait * attempt)
            elif _lost_connection(exc) is not None:
                await outage.pause_or_give_up(dropped, exc)
            else:
                raise StoreUnavailable(
                    f"{dataset} [{symbol}]: gave up after {attempts} attempts: {describe(dropped)}"
                ) from exc
        except TimeoutError as exc:
            raise LoadError(f"timed out after {timeout_s:g}s", dataset=dataset, symbol=symbol) from exc
