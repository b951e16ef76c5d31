"""Frozen event dataclasses to and from JSON-ready dicts, by their fields' type hints.

The algorithm and leverage events (:mod:`oms.domain.parent`, :mod:`oms.domain.native_twap`,
:mod:`oms.domain.leverage`) are journaled as their fields in declaration order: a ``Decimal`` as
its string (nothing lost to floats), a nested dataclass (a parent's ``spec``) as an object, a
``str`` subclass (a ``ClientOrderId``) as a plain string, everything else as it is. Reading back,
a field hinted ``Decimal`` (or ``Decimal | None``) is parsed from its string and a nested
dataclass is rebuilt; the payload's keys must be exactly the class's fields.

(The order and account events have their own codec, :mod:`oms.domain.codec`, with schema
versions and upcasting; these events have a fixed schema.)

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Paid:
...     amount: Decimal
...     fee: Decimal | None
...     at_ns: int
>>> to_json(Paid(Decimal("1.50"), None, 7))
{'amount': '1.50', 'fee': None, 'at_ns': 7}
>>> from_json(Paid, {'amount': '1.50', 'fee': None, 'at_ns': 7})
Paid(amount=Decimal('1.50'), fee=None, at_ns=7)
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")
Reader = Callable[[Any], Any]


def to_json(event: Any) -> dict[str, Any]:
    """The JSON-ready fields of a dataclass instance ``event``, in declaration order."""
    return {f.name: _plain(getattr(event, f.name)) for f in fields(event)}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | str):  # str subclasses (ClientOrderId) become plain str
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    return value


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """The inverse of :func:`to_json` for the dataclass ``cls``.

    Raises ``TypeError`` when ``data`` is not an object or its keys are not ``cls``'s fields, and
    ``decimal.InvalidOperation`` (an ``ArithmeticError``) for a decimal that does not parse.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"a {cls.__name__} payload must be an object, got {data!r}")
    readers = _readers(cls)
    return cls(**{k: v if (read := readers.get(k)) is None else read(v) for k, v in data.items()})


_READERS: dict[type[Any], dict[str, Reader]] = {}


def _readers(cls: type[Any]) -> dict[str, Reader]:
    """Per field of ``cls`` that needs one, how to turn its JSON value back into the field's."""
    readers = _READERS.get(cls)
    if readers is None:
        hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
        found = ((f.name, _reader(hints[f.name])) for f in fields(cls))
        readers = _READERS[cls] = {name: read for name, read in found if read is not None}
    return readers


def _reader(hint: Any) -> Reader | None:
    args = typing.get_args(hint)
    if type(None) in args and len(args) == 2:  # ``X | None``: None stays None
        inner = _reader(next(a for a in args if a is not type(None)))
        return None if inner is None else (lambda v: None if v is None else inner(v))
    if hint is Decimal:
        return Decimal
    if isinstance(hint, type) and is_dataclass(hint):
        return lambda v: from_json(hint, v)
    return None
