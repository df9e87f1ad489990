"""Answers kept per worker and per data version, so an ingest makes every kept answer stale at once.

Each answer is keyed by (name, key, data version); the data version (`queries.data_version`) is
asked of the database at most every DATA_VERSION_TTL_S per worker. The pages read the serving
layer's tables (docs/serving.md), so a miss costs a few indexed reads and the drawing: a small LRU
per worker is enough, with nothing shared between workers or kept on disk.

Single flight: threads of one worker that ask the same (name, key, data version) at once wait for the
one computing it instead of all computing it (a cold universe-wide answer costs seconds of CPU at 5,000
symbols, and several threads computing it together each take several times longer).
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import flask

T = TypeVar("T")
DATA_VERSION_TTL_S = 5.0  # how long one worker trusts the data version before asking the database
LOCAL_ENTRIES = 256  # per worker, most recent first


@dataclass(eq=False)
class _Flight:
    """One answer being computed: the waiters read `value` once `done` is set, if `shared`."""

    owner: int
    done: threading.Event = field(default_factory=threading.Event)
    shared: bool = False  # computed, and fit to keep (not from a lagging replica)
    value: Any = None
    waiters: int = 0  # guarded by the cache's lock


@dataclass
class AnswerCache:
    """`cached(name, key, compute)`: `compute()` once per (name, key, data version) in this worker.

    Args:
        read_version: asks the database for the data version (a token that changes with each ingest).
        entries: how many answers the worker keeps (least recently used dropped first).
    """

    read_version: Callable[[], str]
    entries: int = LOCAL_ENTRIES
    _version: tuple[float, str] = (float("-inf"), "")
    _local: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    _local_lock: threading.Lock = field(default_factory=threading.Lock)
    _version_lock: threading.Lock = field(default_factory=threading.Lock)
    _flights: dict[str, _Flight] = field(default_factory=dict)  # guarded by _local_lock

    def data_version(self) -> str:
        """A token that changes whenever an ingest changes data (cached a few seconds per worker)."""
        now = time.monotonic()
        with self._version_lock:
            at, value = self._version
            if now - at < DATA_VERSION_TTL_S:
                return value
        value = self.read_version()
        with self._version_lock:
            self._version = (now, value)
        return value

    def clear(self) -> None:
        """Forget every kept answer and the data version, so the next read goes to a database node."""
        with self._local_lock:
            self._local.clear()
        with self._version_lock:
            self._version = (float("-inf"), "")

    def _key(self, name: str, key: tuple[Any, ...]) -> str:
        raw = repr((name, key, self.data_version()))
        return name + ":" + hashlib.sha256(raw.encode()).hexdigest()[:32]

    def peek(self, name: str, key: tuple[Any, ...]) -> Any | None:
        """The answer kept for (name, key) at this data version, or None: never computes."""
        cache_key = self._key(name, key)
        with self._local_lock:
            return self._local.get(cache_key)

    def waiting(self) -> int:
        """How many threads are waiting for an answer another thread is computing (tests, benchmarks)."""
        with self._local_lock:
            return sum(flight.waiters for flight in self._flights.values())

    def entries_by_name(self) -> dict[str, tuple[int, int]]:
        """Per answer name: how many answers this worker keeps and their pickled bytes (benchmarks; an
        answer that cannot be pickled counts, with no size)."""
        with self._local_lock:
            kept = list(self._local.items())
        out: dict[str, tuple[int, int]] = {}
        for cache_key, value in kept:
            name = cache_key.split(":", 1)[0]
            count, size = out.get(name, (0, 0))
            try:
                size += len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            except (pickle.PicklingError, TypeError, AttributeError):  # counted, not sized
                pass
            out[name] = (count + 1, size)
        return out

    def cached(self, name: str, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """`compute()` once per (name, key, data version) in this worker; an answer read from a
        lagging replica is returned but never kept (nor handed to waiting threads). A thread asking
        while another computes the same answer waits for it; if that computation raises or reads a
        lagging replica, the waiters ask again (one of them computes)."""
        cache_key = self._key(name, key)
        me = threading.get_ident()
        while True:
            with self._local_lock:
                if cache_key in self._local:
                    self._local.move_to_end(cache_key)
                    kept: T = self._local[cache_key]
                    return kept
                flight = self._flights.get(cache_key)
                leader = flight is None
                if flight is None:
                    flight = self._flights[cache_key] = _Flight(owner=me)
            if leader:
                return self._compute(cache_key, flight, compute)
            if flight.owner == me:  # asked again from inside its own compute: no waiting on oneself
                return compute()
            with self._local_lock:
                flight.waiters += 1
            try:
                flight.done.wait()
            finally:
                with self._local_lock:
                    flight.waiters -= 1
            if flight.shared:
                shared: T = flight.value
                return shared

    def _compute(self, cache_key: str, flight: _Flight, compute: Callable[[], T]) -> T:
        """Compute as the one thread in flight for `cache_key`; keep the answer unless it is stale."""
        try:
            value = compute()
            keep = not flask.g.get("mycfa_stale")  # never keep an answer from a lagging replica
            with self._local_lock:
                if keep:
                    self._local[cache_key] = value
                    while len(self._local) > self.entries:
                        self._local.popitem(last=False)
                flight.value, flight.shared = value, keep
            return value
        finally:
            with self._local_lock:
                self._flights.pop(cache_key, None)
            flight.done.set()
