"""A value computed when first read: :class:`Deferred` and the dataclass field that accepts it.

The fast land-use path (:mod:`afforest.chain.fast_path`) builds tables a sweep row never reads (the merit-order
allocation, the classes' allocation and per-class costates, a problem's units table) only when something reads them;
each is built from the same arrays as it would have been at once, so every reader sees the same table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Deferred", "DeferrableField"]


class Deferred:
    """A value given to a :class:`DeferrableField` as the function that computes it: the owner computes it when the
    attribute is first read, then keeps it."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build


_NO_DEFAULT = object()


class DeferrableField:
    """A dataclass field that accepts a :class:`Deferred` (given as a descriptor: its ``__get__`` on the class gives
    the default, or AttributeError for none, which the dataclass reads as a field without a default). It stores in
    the instance's ``__dict__``, so a frozen dataclass can hold it too."""

    def __init__(self, default: Any = _NO_DEFAULT) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            if self.default is _NO_DEFAULT:
                raise AttributeError(self.name)
            return self.default
        value = obj.__dict__[self.name]
        if isinstance(value, Deferred):
            value = obj.__dict__[self.name] = value.build()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value
