"""Turning one TOML table into a typed, frozen dataclass, with one clear error per mistake.

The service's configuration sections are plain dataclasses; :func:`build` checks a parsed TOML
table against one: unknown keys, wrong types and missing required keys each raise
:class:`ConfigError` naming the key (``[risk] max_open_orders: expected an integer, got "ten"``).

Example::

    @dataclass(frozen=True)
    class Metrics:
        port: int = 9464

    build(Metrics, {"port": 9100}, "metrics")  # Metrics(port=9100)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file's key and the fix."""


def build(cls: type[T], table: Any, where: str) -> T:
    """An instance of the dataclass ``cls`` from the TOML ``table`` found at ``[where]``."""
    if not isinstance(table, dict):
        raise ConfigError(f"[{where}] must be a table, got {_kind(table)}")
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(
            f"[{where}] unknown key {unknown[0]!r}; known keys: {', '.join(sorted(fields))}"
        )
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in table:
            values[name] = convert(hints[name], table[name], f"[{where}] {name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"[{where}] {name} is required")
    return typing.cast(T, cls(**values))


def convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` checked (and converted, for Decimal) against the type ``hint``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return convert(options[0], value, where)
        raise TypeError(f"unsupported union {hint!r}")  # pragma: no cover - schema bug
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            choices = " or ".join(repr(a) for a in allowed)
            raise ConfigError(f"{where}: expected {choices}, got {value!r}")
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {_kind(value)}")
        return tuple(convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {_kind(value)}")
        return {str(k): convert(item, v, f"{where}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {_kind(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {_kind(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {_kind(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {_kind(value)}")
        return value
    if hint is Decimal:
        return to_decimal(value, where)
    raise TypeError(f"unsupported config type {hint!r}")  # pragma: no cover - schema bug


def to_decimal(value: Any, where: str) -> Decimal:
    """A Decimal from a TOML string or integer; floats are refused (they are not exact)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(
            f"{where}: expected a decimal as a string (e.g. \"0.5\") or an integer, "
            f"got {_kind(value)}"
        )
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"{where}: {value!r} is not a decimal number") from None
    if not result.is_finite():
        raise ConfigError(f"{where}: {value!r} is not a finite number")
    return result


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, float):
        return f"the float {value!r}"
    if isinstance(value, int):
        return f"the integer {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
