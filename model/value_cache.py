"""A per-process cache by value, least recently used dropped, that threads may share (a Dask worker's)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["ValueCache"]

_V = TypeVar("_V")


class ValueCache(Generic[_V]):
    """``get(key, compute)``: the value kept for ``key``, else ``compute()`` kept. The lock guards the table only, so
    two threads may both compute a missing value (the same one: keys are values) and the later one is kept."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._table: OrderedDict[Hashable, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], _V]) -> _V:
        with self._lock:
            if key in self._table:
                self._table.move_to_end(key)
                return self._table[key]
        value = compute()
        with self._lock:
            self._table[key] = value
            while len(self._table) > self.entries:
                self._table.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._table.clear()

    def __len__(self) -> int:
        return len(self._table)
