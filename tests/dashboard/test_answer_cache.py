"""The per-worker answer cache: once per (name, key, data version), never a stale answer kept, bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

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


APP = flask.Flask("single-flight")
FOLLOWERS = 4
WAIT_S = 60.0  # a bound for a broken implementation to fail on, never reached by a working one


def in_threads(cache: AnswerCache) -> tuple[dict[str, Any], Callable[..., None]]:
    """Each thread's answer (or exception) by name, and the thread body that fills it: asks the cache for
    one answer in its own request context (reading a lagging replica with `stale`)."""
    out: dict[str, Any] = {}

    def run(name: str, compute: Callable[[], object], stale: bool = False) -> None:
        with APP.test_request_context("/"):
            flask.g.mycfa_stale = stale
            try:
                out[name] = cache.cached("universe", ("ttm",), compute)
            except Exception as exc:  # the test reads what each thread saw
                out[name] = exc

    return out, run


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll until `condition` holds (the outcome never depends on how long it takes)."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "the threads never reached the expected state"
        time.sleep(0.001)


def start(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()


def test_concurrent_threads_wait_for_the_one_computing_the_same_answer() -> None:
    """Threads asking what another thread is computing wait for it: compute runs once, all get its answer."""
    cache = AnswerCache(lambda: "v1")
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def compute() -> str:
        calls.append(threading.current_thread().name)
        started.set()
        assert release.wait(WAIT_S)
        return "answer"

    out, run = in_threads(cache)
    leader = threading.Thread(target=run, args=("leader", compute), name="leader")
    leader.start()
    assert started.wait(WAIT_S)
    followers = [
        threading.Thread(target=run, args=(f"f{i}", compute), name=f"f{i}") for i in range(FOLLOWERS)
    ]
    start(followers)
    wait_for(lambda: cache.waiting() == FOLLOWERS)  # every follower is waiting, none computing
    release.set()
    for thread in [leader, *followers]:
        thread.join(WAIT_S)
    assert calls == ["leader"]
    assert out == {"leader": "answer", **{f"f{i}": "answer" for i in range(FOLLOWERS)}}
    assert cache.waiting() == 0
    with APP.test_request_context("/"):
        assert cache.peek("universe", ("ttm",)) == "answer"


@pytest.mark.parametrize("failure", ["raises", "stale"])
def test_a_failed_or_stale_computation_is_not_shared_and_nothing_hangs(failure: str) -> None:
    """If the computing thread raises (or read a lagging replica), its waiters are not handed its result:
    one of them computes again and the others take that answer; no thread is left waiting."""
    cache = AnswerCache(lambda: "v1")
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def first() -> str:
        calls.append("first")
        started.set()
        assert release.wait(WAIT_S)
        if failure == "raises":
            raise RuntimeError("the database went away")
        return "stale answer"

    def again() -> str:
        calls.append("again")
        return "fresh answer"

    out, run = in_threads(cache)
    leader = threading.Thread(target=run, args=("leader", first, failure == "stale"))
    leader.start()
    assert started.wait(WAIT_S)
    followers = [threading.Thread(target=run, args=(f"f{i}", again)) for i in range(FOLLOWERS)]
    start(followers)
    wait_for(lambda: cache.waiting() == FOLLOWERS)
    release.set()
    for thread in [leader, *followers]:
        thread.join(WAIT_S)
        assert not thread.is_alive()
    assert calls == ["first", "again"]
    if failure == "raises":
        assert isinstance(out["leader"], RuntimeError)
    else:
        assert out["leader"] == "stale answer"
    assert [out[f"f{i}"] for i in range(FOLLOWERS)] == ["fresh answer"] * FOLLOWERS
    assert cache.waiting() == 0


@pytest.mark.usefixtures("request_context")
def test_asking_the_same_answer_from_inside_its_own_computation_does_not_wait_on_itself() -> None:
    cache = AnswerCache(lambda: "v1")

    def outer() -> int:
        return cache.cached("page", ("AAPL",), lambda: 1) + 1

    assert cache.cached("page", ("AAPL",), outer) == 2
