"""The response cache stays within its entry count and its byte budget."""

from app.middleware import CACHE_BYTES, Cache


class _NoDatabase:
    pass


def make(entries: int) -> Cache:
    return Cache(app=None, db=_NoDatabase(), is_authorized=lambda _: False, max_age=0,  # type: ignore[arg-type]
                 entries=entries)  # fmt: skip


def test_byte_budget_evicts_least_recently_used() -> None:
    cache = make(entries=10_000)
    body = b"x" * (CACHE_BYTES // 100)
    for n in range(300):
        cache._keep(f"k{n}", (1, [], body))
    assert cache.size <= CACHE_BYTES
    assert cache.size == sum(len(entry[2]) for entry in cache.store.values())
    assert "k299" in cache.store and "k0" not in cache.store


def test_entry_count_and_oversized_bodies() -> None:
    cache = make(entries=3)
    for n in range(5):
        cache._keep(f"k{n}", (1, [], b"small"))
    assert list(cache.store) == ["k2", "k3", "k4"]
    cache._keep("huge", (1, [], b"x" * CACHE_BYTES))
    assert "huge" not in cache.store
    cache._keep("k3", (2, [], b"newer"))
    assert list(cache.store)[-1] == "k3" and cache.size == 15
