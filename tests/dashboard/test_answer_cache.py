"""The per-worker answer cache: once per (name, key, data version), never a stale answer kept, bounded."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest

from dashboard.answer_cache import AnswerCache


@pytest.fixture
def request_context() -> Iterator[None]:
    with flask.Flask("test").test_request_context("/"):
        yield


def counter() -> tuple[list[int], AnswerCache, list[str]]:
    calls: list[int] = []
    version = ["v1"]
    return calls, AnswerCache(lambda: version[0]), version


@pytest.mark.usefixtures("request_context")
def test_cached_computes_once_per_name_key_and_version() -> None:
    """The same question in the same data version is answered from the cache; a new version recomputes."""
    calls, cache, version = counter()

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.cached("page", ("AAPL",), compute) == 1
    assert cache.cached("page", ("AAPL",), compute) == 1
    assert cache.cached("page", ("MSFT",), compute) == 2
    version[0] = "v2"
    cache.clear()  # forgets the version too, so the next read asks again
    assert cache.cached("page", ("AAPL",), compute) == 3
    assert cache.data_version() == "v2"


@pytest.mark.usefixtures("request_context")
def test_answer_from_a_lagging_replica_is_not_kept() -> None:
    """An answer computed while the request read a lagging replica is returned but asked again next time."""
    _, cache, _ = counter()
    flask.g.mycfa_stale = True
    assert cache.cached("page", (), lambda: "stale") == "stale"
    flask.g.mycfa_stale = False
    assert cache.cached("page", (), lambda: "fresh") == "fresh"


@pytest.mark.usefixtures("request_context")
def test_cache_keeps_at_most_its_entries_least_recent_dropped() -> None:
    """Past `entries` answers the least recently used one is recomputed."""
    cache = AnswerCache(lambda: "v", entries=2)
    cache.cached("a", (), lambda: 1)
    cache.cached("b", (), lambda: 2)
    cache.cached("a", (), lambda: 0)  # a used again: b is now the oldest
    cache.cached("c", (), lambda: 3)
    assert cache.cached("a", (), lambda: -1) == 1
    assert cache.cached("b", (), lambda: 20) == 20


@pytest.mark.usefixtures("request_context")
def test_peek_never_computes_and_entries_are_counted_by_name() -> None:
    """`peek` gives a kept answer or None without computing; `entries_by_name` counts and sizes them."""
    _, cache, _ = counter()
    assert cache.peek("prices", ("AAPL",)) is None
    cache.cached("prices", ("AAPL",), lambda: b"x" * 10_000)
    cache.cached("prices", ("MSFT",), lambda: b"y" * 10_000)
    cache.cached("view", ("AAPL",), lambda: lambda: 1)  # a function is not picklable: counted, not sized
    assert cache.peek("prices", ("AAPL",)) == b"x" * 10_000
    kept = cache.entries_by_name()
    assert kept["prices"][0] == 2
    assert kept["prices"][1] > 20_000
    assert kept["view"] == (1, 0)
    cache.clear()
    assert cache.peek("prices", ("AAPL",)) is None
