"""Order records and positions to and from JSON-ready values (for snapshots and read models).

>>> from oms.domain.order import FIELD_NAMES
>>> len(RECORD_FIELDS) == len(FIELD_NAMES)
True
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

from oms.domain.enums import (
    Grouping,
    OrderState,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
    TriggerState,
)
from oms.domain.ids import ClientOrderId
from oms.domain.order import FIELD_NAMES, OrderRecord
from projections.positions import Position

RECORD_FIELDS = FIELD_NAMES
_DECIMALS = frozenset(
    {"amount", "price", "executed_base", "executed_quote", "trigger_price", "trigger_mark"}
)
_ENUMS: dict[str, Any] = {
    "side": TradeSide,
    "order_type": OrderType,
    "time_in_force": TimeInForce,
    "position_action": PositionAction,
    "state": OrderState,
    "previous_state": OrderState,
    "grouping": Grouping,
    "trigger_state": TriggerState,
}
# Fields added after the first read models were written, with the value a record written
# before them has (every such order was a plain order sent alone): old rows still read.
_LATER_FIELDS: dict[str, Any] = {
    "trigger_price": None,
    "parent_id": None,
    "grouping": Grouping.NONE.value,
    "trigger_state": None,
    "trigger_mark": None,
}


def record_to_json(record: OrderRecord) -> list[Any]:
    """The record as a JSON array, in ``RECORD_FIELDS`` order."""
    out: list[Any] = []
    for name in RECORD_FIELDS:
        value = getattr(record, name)
        if value is None or isinstance(value, bool | int):
            out.append(value)
        elif isinstance(value, Decimal):
            out.append(str(value))
        elif name == "fees":
            out.append({k: str(v) for k, v in value.items()})
        elif name == "trade_ids":
            out.append(sorted(value))
        else:
            out.append(value.value if name in _ENUMS else str(value))
    return out


def _enum_reader(cls: type[Enum]) -> Callable[[Any], Any]:
    members = {m.value: m for m in cls}  # a dict lookup is ~10x cheaper than calling the enum

    def read(value: Any) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):
            return cls(value)  # not a value: the enum itself raises its usual ValueError

    return read


def _reader(name: str) -> Callable[[Any], Any] | None:
    """How a JSON value of field ``name`` becomes the record's value (None: as it is)."""
    if name in _DECIMALS:
        return Decimal
    if name in _ENUMS:
        return _enum_reader(_ENUMS[name])
    if name in ("client_order_id", "parent_id"):
        return ClientOrderId
    if name == "fees":
        return lambda value: {k: Decimal(v) for k, v in value.items()}
    if name == "trade_ids":
        return lambda value: set(value) if value else frozenset()
    return None


# One reader per field, in RECORD_FIELDS order: a snapshot restores tens of thousands of records
# at start-up, and a per-field chain of name tests cost more than the conversions themselves.
_READERS = tuple(zip(RECORD_FIELDS, [_reader(name) for name in RECORD_FIELDS], strict=True))


def record_from_json(values: list[Any]) -> OrderRecord:
    """The inverse of :func:`record_to_json`."""
    record = OrderRecord.__new__(OrderRecord)
    missing = len(_READERS) - len(values)
    if 0 < missing <= len(_LATER_FIELDS):
        values = [*values, *[_LATER_FIELDS[name] for name, _ in _READERS[-missing:]]]
    for (name, read), value in zip(_READERS, values, strict=True):
        setattr(record, name, value if value is None or read is None else read(value))
    return record


def position_to_json(position: Position) -> dict[str, Any]:
    """A position as a JSON object (Decimals as strings)."""
    return {
        "pair": position.pair,
        "net_size": str(position.net_size),
        "average_entry": str(position.average_entry),
        "realized_pnl": str(position.realized_pnl),
        "fees": {k: str(v) for k, v in position.fees.items()},
        "fill_count": position.fill_count,
        "volume": str(position.volume),
    }


def position_from_json(data: dict[str, Any]) -> Position:
    """The inverse of :func:`position_to_json`."""
    return Position(
        pair=data["pair"],
        net_size=Decimal(data["net_size"]),
        average_entry=Decimal(data["average_entry"]),
        realized_pnl=Decimal(data["realized_pnl"]),
        fees={k: Decimal(v) for k, v in data["fees"].items()},
        fill_count=int(data["fill_count"]),
        volume=Decimal(data["volume"]),
    )
