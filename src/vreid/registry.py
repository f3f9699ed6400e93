"""A small generic name -> builder registry that refuses duplicate names.

An entry can carry metadata beside its builder (`register(name, info=...)`); a registry
made with `info_type` refuses entries without it, so no entry goes undescribed.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to builders; `register` is usable as a decorator."""

    def __init__(self, kind: str, info_type: type | None = None) -> None:
        self.kind = kind
        self.info_type = info_type
        self._items: dict[str, T] = {}
        self._info: dict[str, Any] = {}

    def register(self, name: str, info: Any = None) -> Callable[[T], T]:
        if self.info_type is not None and not isinstance(info, self.info_type):
            raise TypeError(f"{self.kind} {name!r} must be registered with "
                            f"info=<{self.info_type.__name__}>, got {type(info).__name__}")

        def decorator(item: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            self._items[name] = item
            self._info[name] = info
            return item

        return decorator

    def get(self, name: str) -> T:
        self._check(name)
        return self._items[name]

    def info(self, name: str) -> Any:
        """The metadata registered with `name` (None when it was registered without)."""
        self._check(name)
        return self._info[name]

    def _check(self, name: str) -> None:
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(f"unknown {self.kind} {name!r}; registered: {known}")

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
