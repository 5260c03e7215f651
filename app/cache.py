"""A per-process cache of values computed from one data version of the store."""

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable


class VersionCache:
    """Byte strings valid for exactly one data version, least recently used out first.

    Every write bumps the data version in its own transaction, so a value computed inside
    a read snapshot of version V stays right for as long as V is current. A snapshot of any
    other version empties the cache; versions are never compared by size, since a store
    restored from an older copy sets the counter back. (A restore that climbs back to V
    before any read sees the change cannot be told apart: restart the server after one.)
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.version: int | None = None
        self.size = 0
        self._values: OrderedDict[Hashable, bytes] = OrderedDict()
        # PostgreSQL reads run in the thread pool.
        self._lock = threading.Lock()

    def get_many(self, version: int, keys: Iterable[Hashable]) -> dict[Hashable, bytes]:
        """The values cached for `keys` at `version` (missing keys are left out)."""
        found: dict[Hashable, bytes] = {}
        with self._lock:
            if version != self.version:
                self._reset(version)
                return found
            values = self._values
            for key in keys:
                value = values.get(key)
                if value is not None:
                    values.move_to_end(key)
                    found[key] = value
        return found

    def put(self, version: int, key: Hashable, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        value = compact(value)
        with self._lock:
            if version != self.version:
                return
            old = self._values.pop(key, None)
            if old is not None:
                self.size -= len(old)
            self._values[key] = value
            self.size += len(value)
            while self.size > self.max_bytes:
                _, evicted = self._values.popitem(last=False)
                self.size -= len(evicted)

    def _reset(self, version: int) -> None:
        self._values.clear()
        self.size = 0
        self.version = version


def compact(value: bytes) -> bytes:
    """A copy holding only its own length.

    orjson returns bytes whose allocation is a generous guess (16 KiB for a 1.4 KiB item):
    kept as they are, a cache's memory would be ten times its byte count.
    """
    return bytes(memoryview(value))
