"""The response cache and the version cache stay within their budgets and their version."""

import tracemalloc

import orjson

from app.cache import VersionCache
from app.middleware import CACHE_BYTES, Cache, Entry


class _NoDatabase:
    pass


def make(entries: int) -> Cache:
    return Cache(app=None, db=_NoDatabase(), is_authorized=lambda _: False, max_age=0,  # type: ignore[arg-type]
                 entries=entries)  # fmt: skip


def test_byte_budget_evicts_least_recently_used() -> None:
    cache = make(entries=10_000)
    body = b"x" * (CACHE_BYTES // 100)
    for n in range(300):
        cache._keep(f"k{n}", Entry(1, [], body))
    assert cache.size <= CACHE_BYTES
    assert cache.size == sum(entry.size for entry in cache.store.values())
    assert "k299" in cache.store and "k0" not in cache.store


def test_entry_count_and_oversized_bodies() -> None:
    cache = make(entries=3)
    for n in range(5):
        cache._keep(f"k{n}", Entry(1, [], b"small"))
    assert list(cache.store) == ["k2", "k3", "k4"]
    cache._keep("huge", Entry(1, [], b"x" * CACHE_BYTES))
    assert "huge" not in cache.store
    cache._keep("k3", Entry(2, [], b"newer"))
    assert list(cache.store)[-1] == "k3" and cache.size == 15


def test_version_cache_byte_budget_and_recency() -> None:
    cache = VersionCache(max_bytes=10)
    assert cache.get_many(1, ["a"]) == {}
    for key in "abcde":
        cache.put(1, key, b"xx")
    assert cache.get_many(1, ["a"]) == {"a": b"xx"}  # now the most recent
    cache.put(1, "f", b"xxxx")
    assert set(cache.get_many(1, "abcdef")) == {"a", "d", "e", "f"} and cache.size == 10
    cache.put(1, "big", b"x" * 11)
    assert cache.get_many(1, ["big"]) == {}


def test_version_cache_serves_one_version_only() -> None:
    cache = VersionCache(max_bytes=100)
    cache.get_many(5, [])
    cache.put(5, "a", b"v5")
    assert cache.get_many(5, ["a"]) == {"a": b"v5"}
    # Any other version, older (a store restored from a copy) or newer, starts afresh.
    assert cache.get_many(4, ["a"]) == {}
    cache.put(5, "late", b"v5")
    assert cache.get_many(5, ["a", "late"]) == {} and cache.size == 0
    cache.put(5, "b", b"v5")
    assert cache.get_many(6, ["b"]) == {} and cache.size == 0


def test_budgets_count_the_memory_actually_held() -> None:
    """orjson over-allocates its output; what a cache keeps must hold only its length."""
    items = VersionCache(max_bytes=10_000_000)
    responses = make(entries=10_000)
    items.get_many(1, [])
    tracemalloc.start()
    try:
        for n in range(200):
            items.put(1, n, orjson.dumps({"n": n, "text": "x" * 1400}))
            responses._keep(f"k{n}", Entry(1, [], orjson.dumps({"n": n, "text": "y" * 1400})))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 1.5 * (items.size + responses.size)
