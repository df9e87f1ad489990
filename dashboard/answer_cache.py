"""Answers kept per worker and per data version, so an ingest makes every kept answer stale at once.

Each answer is keyed by (name, key, data version); the data version (`queries.data_version`) is
asked of the database at most every DATA_VERSION_TTL_S per worker. The pages read the serving
layer's tables (docs/serving.md), so a miss costs a few indexed reads and the drawing: a small LRU
per worker is enough, with nothing shared between workers or kept on disk.
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
        lagging replica is returned but never kept."""
        cache_key = self._key(name, key)
        with self._local_lock:
            if cache_key in self._local:
                self._local.move_to_end(cache_key)
                kept: T = self._local[cache_key]
                return kept
        value = compute()
        if flask.g.get("mycfa_stale"):  # never keep an answer from a lagging replica
            return value
        with self._local_lock:
            self._local[cache_key] = value
            while len(self._local) > self.entries:
                self._local.popitem(last=False)
        return value
