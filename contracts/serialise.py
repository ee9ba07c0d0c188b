"""Dataclasses to JSON-ready dicts and back, for the one place results are stored: the store boundary.

`from_json` follows the dataclass's type hints (nested dataclasses, lists, tuples, dicts, optionals), ignores
keys the class does not have and leaves missing ones at their defaults, so results written by an older
version still read.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """A dataclass (or list / dict of them) as plain JSON-ready data; dicts pass through."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return value
    raise TypeError(f"expected a dataclass or a dict, not {type(value).__name__}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, data: Any) -> Any:
    if data is None or hint is Any:
        return data
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], data) if len(options) == 1 else data
    if dataclasses.is_dataclass(hint):
        return from_json(hint, data)
    args = typing.get_args(hint)
    if origin in (list, set, frozenset):
        return origin(_convert(args[0] if args else Any, v) for v in data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v) for v in data)
        if args:
            return tuple(_convert(a, v) for a, v in zip(args, data, strict=True))
        return tuple(data)
    if origin is dict:
        key, item = args if args else (Any, Any)
        return {_convert(key, k): _convert(item, v) for k, v in data.items()}
    return data


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """An instance of dataclass `cls` from what `to_json` made of one (after a trip through JSON)."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    values = {
        f.name: _convert(hints.get(f.name, Any), data[f.name])
        for f in dataclasses.fields(cls)
        if f.init and f.name in data
    }
    return cls(**values)
