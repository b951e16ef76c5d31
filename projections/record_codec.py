"""Order records and positions to and from JSON-ready values (for snapshots and read models).

>>> from oms.domain.order import FIELD_NAMES
>>> len(RECORD_FIELDS) == len(FIELD_NAMES)
True
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from oms.domain.enums import OrderState, OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.ids import ClientOrderId
from oms.domain.order import FIELD_NAMES, OrderRecord
from projections.positions import Position

RECORD_FIELDS = FIELD_NAMES
_DECIMALS = frozenset({"amount", "price", "executed_base", "executed_quote"})
_ENUMS: dict[str, Any] = {
    "side": TradeSide,
    "order_type": OrderType,
    "time_in_force": TimeInForce,
    "position_action": PositionAction,
    "state": OrderState,
    "previous_state": OrderState,
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


def record_from_json(values: list[Any]) -> OrderRecord:
    """The inverse of :func:`record_to_json`."""
    record = OrderRecord.__new__(OrderRecord)
    for name, value in zip(RECORD_FIELDS, values, strict=True):
        if value is None:
            pass
        elif name in _DECIMALS:
            value = Decimal(value)
        elif name in _ENUMS:
            value = _ENUMS[name](value)
        elif name == "client_order_id":
            value = ClientOrderId(value)
        elif name == "fees":
            value = {k: Decimal(v) for k, v in value.items()}
        elif name == "trade_ids":
            value = set(value) if value else frozenset()
        setattr(record, name, value)
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
