"""A rate budget shared by every engine process on one FMP key: a sliding-window log in Redis.

The in-process RateBudget holds per process and the run lock per database, so two engines on one
key (two databases, a backfill beside the schedule) used to send up to twice the plan's limit. With
`MYCFA_FMP_BUDGET_URL=redis://...` every process takes its send slots from one Redis sorted set:
a Lua script (atomic on the server) drops the entries older than the window, counts the rest, and
either records the new send or answers how long until the oldest leaves. Time is the Redis
server's, so the processes' clocks never disagree. The key is a hash of the API key, never the key.

If Redis cannot be reached (at start or mid-run) the budget falls back, for the rest of the run, to
an in-process RateBudget of a conservative share of the limit, and says so in the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from engine.fmp.budget import DEFAULT_MARGIN_S, DEFAULT_WINDOW_S, RateBudget

logger = logging.getLogger("engine.fmp")

KEY_PREFIX = "mycfa:fmp-budget:"
# The share of the plan one process keeps when Redis is gone: other engines may still be sending,
# and nothing tells how many; a quarter keeps up to four such processes under the limit.
FALLBACK_SHARE = 4
REDIS_TIMEOUT_S = 2.0
MAX_WAIT_S = 1.0  # re-ask at least this often: another process's grant may expire sooner than ours

# KEYS[1]: the log; ARGV: window (microseconds), limit, member. Returns 0 when the send is granted,
# else the microseconds until the oldest entry leaves the window.
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


def budget_key(api_key: str) -> str:
    """The Redis key of one FMP key's log: a SHA-256 of the API key, so the key never reaches Redis."""
    return KEY_PREFIX + hashlib.sha256(api_key.encode()).hexdigest()[:32]


class SharedBudget:
    """At most `limit` sends in any `window_s + margin_s` across every process using the same Redis.

    Same interface as RateBudget (`acquire()` returns the loop time of the grant)::

        budget = SharedBudget("redis://budget:6379/0", api_key, 300)
        await budget.acquire()
        await budget.close()
    """

    __slots__ = ("_client", "_count", "_fallback", "_key", "_lock", "_script", "_tag", "limit", "margin_s",
                 "window_s")  # fmt: skip

    def __init__(
        self,
        url: str,
        api_key: str,
        limit: int,
        window_s: float = DEFAULT_WINDOW_S,
        *,
        margin_s: float = DEFAULT_MARGIN_S,
        timeout_s: float = REDIS_TIMEOUT_S,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window_s = window_s
        self.margin_s = margin_s
        self._client = aioredis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._script = self._client.register_script(_TAKE_SLOT)
        self._key = budget_key(api_key)
        self._tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._count = 0
        self._fallback: RateBudget | None = None
        self._lock = asyncio.Lock()  # one caller at a time asks Redis, as RateBudget serves FIFO

    @property
    def shared(self) -> bool:
        """True while the grants come from Redis (False once fallen back to the local share)."""
        return self._fallback is None

    async def acquire(self) -> float:
        """Wait until one more send fits in the shared window, record it, and return its loop time."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            while self._fallback is None:
                self._count += 1
                try:
                    wait_us = int(
                        await self._script(
                            keys=[self._key],
                            args=[
                                int((self.window_s + self.margin_s) * 1e6),
                                self.limit,
                                f"{self._tag}-{self._count}",
                            ],
                        )
                    )
                except (RedisError, OSError) as exc:
                    self._fall_back(exc)
                    break
                if wait_us == 0:
                    return loop.time()
                await asyncio.sleep(min(wait_us / 1e6, MAX_WAIT_S))
        assert self._fallback is not None
        return await self._fallback.acquire()

    def _fall_back(self, exc: BaseException) -> None:
        share = max(1, self.limit // FALLBACK_SHARE)
        # the exception text can hold the URL's password: only its class is logged
        logger.warning(
            "shared FMP budget unreachable (%s): this process now keeps to %d requests per %gs "
            "(1/%d of the plan) for the rest of the run",
            type(exc).__name__,
            share,
            self.window_s,
            FALLBACK_SHARE,
            extra={"event": "budget_fallback"},
        )
        self._fallback = RateBudget(share, self.window_s, margin_s=self.margin_s)

    async def close(self) -> None:
        await self._client.aclose()
