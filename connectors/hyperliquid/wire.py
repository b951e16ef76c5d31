"""Wire format: Decimal → canonical number strings, cloids, action builders in exact key order.

The signature covers the msgpack bytes of the action, so key order, omitted optional keys and the
number strings must equal what the exchange rebuilds from its own parse: the official SDK's order
(``type, orders, grouping, builder?``; order ``a, b, p, s, r, t, c?``; trigger
``isMarket, triggerPx, tpsl``...). Optional flags (``c``, ``builder``, ``f``, ``a``, ``time``) are
omitted, never sent as null/false.

Numbers never pass through float: :func:`decimal_to_wire` gives the SDK's ``float_to_wire`` string
(plain notation, no trailing zeros, ``"0"`` for zero) and refuses anything that needs rounding.

Example::

    order = order_wire(asset=1, is_buy=True, price=Decimal("1670.10"), size=Decimal("0.0147"),
                       reduce_only=False, order_type=limit_order_type("Ioc"))
    order_action([order])
    # {'type': 'order', 'orders': [{'a': 1, 'b': True, 'p': '1670.1', 's': '0.0147', 'r': False,
    #   't': {'limit': {'tif': 'Ioc'}}}], 'grouping': 'na'}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from connectors.base import TimeInForce, TradingRule
from connectors.hyperliquid import constants
from connectors.hyperliquid.errors import InvalidCloid, WireFormatError
from connectors.hyperliquid.signing import keccak256

Tpsl = Literal["tp", "sl"]
Grouping = str | dict[str, int]
OrderTypeWire = dict[str, dict[str, Any]]
OrderWire = dict[str, Any]
Action = dict[str, Any]

_CLOID_RE = re.compile(r"^0x[0-9a-f]{32}$")


def decimal_to_wire(value: Decimal) -> str:
    """The canonical wire string of ``value``: ``Decimal("1670.10")`` → ``"1670.1"``.

    Raises :class:`WireFormatError` for NaN/infinity or more than 8 decimals (round first).
    """
    if not value.is_finite():
        raise WireFormatError(f"{value} cannot be sent: only finite numbers go on the wire")
    if value.is_zero():
        return "0"
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if exponent < -constants.WIRE_MAX_DECIMALS:
        raise WireFormatError(
            f"{value} has more than {constants.WIRE_MAX_DECIMALS} decimals; round it to the"
            " pair's tick or lot size first"
        )
    return f"{normalized:f}"


def wire_to_decimal(text: str) -> Decimal:
    """Parse a number string from the exchange (``"0.0"``, ``"1891.4"``) into a Decimal."""
    return Decimal(text)


def validate_cloid(cloid: str) -> str:
    """Return ``cloid`` if it is ``0x`` + 32 lowercase hex characters, else raise InvalidCloid."""
    if not _CLOID_RE.match(cloid):
        raise InvalidCloid(
            f"cloid {cloid!r} must be '0x' followed by 32 lowercase hex characters;"
            " build one with cloid_from_client_order_id()"
        )
    return cloid


def cloid_from_int(value: int) -> str:
    """The SDK's ``Cloid.from_int``: ``1`` → ``'0x00000000000000000000000000000001'``."""
    if not 0 <= value < 1 << 128:
        raise InvalidCloid(f"cloid integer {value} must fit in 128 unsigned bits")
    return f"{value:#034x}"


def cloid_from_client_order_id(client_order_id: str) -> str:
    """A deterministic cloid for our client order id (first 16 bytes of its keccak-256).

    A client order id that already is a valid cloid is returned unchanged, so the mapping is
    idempotent and survives restarts without any stored table.
    """
    if _CLOID_RE.match(client_order_id):
        return client_order_id
    return "0x" + keccak256(client_order_id.encode()).hex()[:32]


def limit_order_type(tif: TimeInForce | str) -> OrderTypeWire:
    """``{"limit": {"tif": tif}}`` — Gtc rests, Ioc cancels the rest, Alo is post-only."""
    return {"limit": {"tif": tif}}


def trigger_order_type(trigger_price: Decimal, is_market: bool, tpsl: Tpsl) -> OrderTypeWire:
    """``{"trigger": {"isMarket", "triggerPx", "tpsl"}}`` in the SDK's key order."""
    return {
        "trigger": {
            "isMarket": is_market,
            "triggerPx": decimal_to_wire(trigger_price),
            "tpsl": tpsl,
        }
    }


def order_wire(
    asset: int,
    is_buy: bool,
    price: Decimal,
    size: Decimal,
    reduce_only: bool,
    order_type: OrderTypeWire,
    cloid: str | None = None,
) -> OrderWire:
    """One order in the wire form ``{a, b, p, s, r, t, c?}``."""
    wire: OrderWire = {
        "a": asset,
        "b": is_buy,
        "p": decimal_to_wire(price),
        "s": decimal_to_wire(size),
        "r": reduce_only,
        "t": order_type,
    }
    if cloid is not None:
        wire["c"] = validate_cloid(cloid)
    return wire


def checked_order_wire(
    rule: TradingRule,
    is_buy: bool,
    price: Decimal,
    size: Decimal,
    reduce_only: bool,
    order_type: OrderTypeWire,
    cloid: str | None = None,
) -> OrderWire:
    """Like :func:`order_wire`, but first enforce the pair's tick, lot and minimum-value rules.

    Raises ``OrderRuleViolation`` (nothing is sent) when the exchange would reject the numbers.
    """
    rule.check(price, size)
    return order_wire(rule.asset_id, is_buy, price, size, reduce_only, order_type, cloid)


def order_action(
    orders: Sequence[OrderWire],
    grouping: Grouping = "na",
    builder: tuple[str, int] | None = None,
) -> Action:
    """``{"type": "order", "orders", "grouping", "builder"?}``; builder: (address, fee)."""
    action: Action = {"type": "order", "orders": list(orders), "grouping": grouping}
    if builder is not None:
        action["builder"] = {"b": builder[0].lower(), "f": builder[1]}
    return action


def cancel_action(cancels: Sequence[tuple[int, int]], fast: bool = False) -> Action:
    """``{"type": "cancel", "cancels": [{"a": asset, "o": oid}], "f"?}``."""
    action: Action = {"type": "cancel", "cancels": [{"a": a, "o": o} for a, o in cancels]}
    if fast:
        action["f"] = True
    return action


def cancel_by_cloid_action(cancels: Sequence[tuple[int, str]], fast: bool = False) -> Action:
    """``{"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid}], "f"?}``."""
    action: Action = {
        "type": "cancelByCloid",
        "cancels": [{"asset": a, "cloid": validate_cloid(c)} for a, c in cancels],
    }
    if fast:
        action["f"] = True
    return action


def _oid_or_cloid(oid: int | str) -> int | str:
    return validate_cloid(oid) if isinstance(oid, str) else oid


def modify_action(oid: int | str, order: OrderWire, always_place: bool = False) -> Action:
    """``{"type": "modify", "oid": oid|cloid, "order", "a"?}`` (cancel and replace one order)."""
    action: Action = {"type": "modify", "oid": _oid_or_cloid(oid), "order": order}
    if always_place:
        action["a"] = True
    return action


def batch_modify_action(
    modifies: Sequence[tuple[int | str, OrderWire]], always_place: bool = False
) -> Action:
    """``{"type": "batchModify", "modifies": [{"oid", "order"}], "a"?}`` (what the SDK sends)."""
    action: Action = {
        "type": "batchModify",
        "modifies": [{"oid": _oid_or_cloid(oid), "order": order} for oid, order in modifies],
    }
    if always_place:
        action["a"] = True
    return action


def schedule_cancel_action(time_ms: int | None) -> Action:
    """``{"type": "scheduleCancel", "time"?}``; no ``time`` key clears the dead-man switch."""
    action: Action = {"type": "scheduleCancel"}
    if time_ms is not None:
        action["time"] = time_ms
    return action


def update_leverage_action(asset: int, is_cross: bool, leverage: int) -> Action:
    """``{"type": "updateLeverage", "asset", "isCross", "leverage"}``."""
    if leverage < 1:
        raise WireFormatError(f"leverage must be a positive integer, got {leverage}")
    return {"type": "updateLeverage", "asset": asset, "isCross": is_cross, "leverage": leverage}


def update_isolated_margin_action(asset: int, is_buy: bool, ntli: int) -> Action:
    """``{"type": "updateIsolatedMargin", "asset", "isBuy", "ntli"}``; ``ntli`` in micro-USD,
    negative to remove (the SDK's ``update_isolated_margin`` sends ``isBuy: true``)."""
    return {"type": "updateIsolatedMargin", "asset": asset, "isBuy": is_buy, "ntli": ntli}


def noop_action() -> Action:
    """``{"type": "noop"}``: burns a nonce, invalidating in-flight actions with lower nonces."""
    return {"type": "noop"}


def exchange_body(
    action: Action | Sequence[Any],
    nonce: int,
    signature: dict[str, Any] | Any,
    vault_address: str | None,
    expires_after: int | None,
) -> dict[str, Any]:
    """The ``/exchange`` envelope; ``vaultAddress`` and ``expiresAfter`` always present."""
    return {
        "action": action,
        "nonce": nonce,
        "signature": signature,
        "vaultAddress": vault_address.lower() if vault_address else None,
        "expiresAfter": expires_after,
    }
