"""The asyncpg pool and the batch runner: one transaction per batch, retried whole on a dropped link."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import asyncpg

from engine.errors import LoadError, StoreError, StoreUnavailable

T = TypeVar("T")
P = ParamSpec("P")

CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 120.0  # the server-side ceiling for any one statement, COPY included
BATCH_ATTEMPTS = 3
RETRY_WAIT_S = 0.5

# The connection went away (server restart, pg_terminate_backend, network): the batch's
# transaction is gone with it, so the whole batch can safely be tried again on a fresh connection.
DROPPED_CONNECTION: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
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
    OSError,
    TimeoutError,
)


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

    Raises (from the decorated function):
        StoreUnavailable: the connection dropped or could not be made.
        StoreError: a statement failed or timed out.
    """

    @functools.wraps(func)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await func(*args, **kwargs)
        except DRIVER_ERRORS as exc:
            raise translate(exc, func.__name__) from exc

    return translated


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 4,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    command_timeout: float = COMMAND_TIMEOUT_S,
) -> asyncpg.Pool:
    """Open a pool to the primary; its first connection is made before returning.

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


def _dropped_cause(exc: BaseException) -> BaseException | None:
    """The retryable error behind `exc`, if any.

    A killed backend surfaces as whatever call noticed first; often that is the ROLLBACK on the way
    out ("the underlying connection is closed"), with the real cause in the exception's context.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DROPPED_CONNECTION + TRANSIENT_CONFLICT):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


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

    Raises:
        StoreUnavailable: the connection dropped on every attempt.
        LoadError: the batch failed for any other database reason (nothing was committed).
    """
    for attempt in range(1, attempts + 1):
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
            if attempt == attempts:
                raise StoreUnavailable(
                    f"{dataset} [{symbol}]: gave up after {attempts} attempts: {describe(dropped)}"
                ) from exc
            await sleep(retry_wait * attempt)
        except TimeoutError as exc:
            raise LoadError(f"timed out after {timeout_s:g}s", dataset=dataset, symbol=symbol) from exc
    raise AssertionError("unreachable: the loop returns or raises")
