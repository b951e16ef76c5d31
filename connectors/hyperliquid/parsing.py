"""Exchange JSON → generic reports (order status, fills, positions, books).

Every parser raises :class:`UnexpectedReply` (with the raw text) on a shape it does not know, so a
caller can count and log it instead of crashing. Status strings are mapped generically, so a status
the exchange adds later still lands in the right bucket: ``…Canceled``/``…Cancel`` → CANCELED,
``…Rejected`` → REJECTED.

Example::

    parse_fill({"coin": "ETH", "px": "3000.1", "sz": "0.5", "side": "B", "time": 1, "oid": 7,
                "tid": 42, "fee": "0.01", "feeToken": "USDC", "crossed": True})
    # FillReport(trade_id='42', pair='ETH', side='buy', ...)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import (
    BookLevel,
    BookUpdate,
    ExchangeOrderStatus,
    FillReport,
    OrderStatusReport,
    PositionReport,
    Side,
)
from connectors.hyperliquid.errors import UnexpectedReply, unexpected_shape

_EXACT_STATUS = {
    "open": ExchangeOrderStatus.OPEN,
    "filled": ExchangeOrderStatus.FILLED,
    "canceled": ExchangeOrderStatus.CANCELED,
    "triggered": ExchangeOrderStatus.TRIGGERED,
    "rejected": ExchangeOrderStatus.REJECTED,
    # A TP/SL leg resting on the exchange, not yet armed / armed (placement replies, §13.2).
    "waitingForFill": ExchangeOrderStatus.OPEN,
    "waitingForTrigger": ExchangeOrderStatus.OPEN,
    "scheduledCancel": ExchangeOrderStatus.CANCELED,
}
# Every "…Canceled" / "…Rejected" status of the reference (§8.3, GB-INFO). They are also caught by
# the suffix rule; listing them documents that each one is known, and a test checks the list.
KNOWN_CANCELED_STATUSES = (
    "marginCanceled", "vaultWithdrawalCanceled", "openInterestCapCanceled", "selfTradeCanceled",
    "reduceOnlyCanceled", "siblingFilledCanceled", "delistedCanceled", "liquidatedCanceled",
    "scheduledCancel",
)
KNOWN_REJECTED_STATUSES = (
    "tickRejected", "minTradeNtlRejected", "perpMarginRejected", "reduceOnlyRejected",
    "badAloPxRejected", "iocCancelRejected", "badTriggerPxRejected",
    "marketOrderNoLiquidityRejected", "positionIncreaseAtOpenInterestCapRejected",
    "positionFlipAtOpenInterestCapRejected", "tooAggressiveAtOpenInterestCapRejected",
    "openInterestIncreaseRejected", "insufficientSpotBalanceRejected", "oracleRejected",
    "perpMaxPositionRejected", "tooManyOpenOrdersRejected",
)


def map_status(raw_status: str) -> ExchangeOrderStatus:
    """Map an exchange status string to a generic status; raises UnexpectedReply if unknown."""
    exact = _EXACT_STATUS.get(raw_status)
    if exact is not None:
        return exact
    lowered = raw_status.lower()
    if lowered.endswith("rejected"):
        return ExchangeOrderStatus.REJECTED
    if lowered.endswith(("canceled", "cancelled", "cancel")):
        return ExchangeOrderStatus.CANCELED
    raise UnexpectedReply(f"unknown order status {raw_status!r}", raw_status)


def parse_side(raw: str) -> Side:
    """``"B"`` → buy, ``"A"`` → sell."""
    if raw == "B":
        return "buy"
    if raw == "A":
        return "sell"
    raise UnexpectedReply(f"unknown side {raw!r}", raw)


def parse_decimal(value: Any) -> Decimal:
    """An exchange number (string or int) as a finite ``Decimal``; raises :class:`UnexpectedReply`.

    The exchange sends amounts as strings; a bare JSON float goes through its shortest ``repr``,
    which is the decimal text that was sent. ``NaN`` and infinities are refused like any
    non-number.
    """
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise UnexpectedReply(f"not a number: {value!r}", repr(value)) from None
    if not number.is_finite():
        raise UnexpectedReply(f"not a finite number: {value!r}", repr(value))
    return number


def _cloid(value: Any) -> str | None:
    return str(value).lower() if value else None


def parse_order_entry(entry: Mapping[str, Any]) -> OrderStatusReport:
    """``{"order": {...}, "status": s, "statusTimestamp": t}`` (orderStatus / orderUpdates)."""
    with unexpected_shape("order entry", entry):
        order = entry["order"]
        raw_status = str(entry["status"])
        size_left = parse_decimal(order["sz"])
        return OrderStatusReport(
            pair=str(order["coin"]),
            status=map_status(raw_status),
            cloid=_cloid(order.get("cloid")),
            exchange_order_id=str(int(order["oid"])),
            side=parse_side(order["side"]),
            amount=parse_decimal(order.get("origSz", order["sz"])),
            remaining=size_left,
            price=parse_decimal(order["limitPx"]),
            timestamp_ms=int(entry.get("statusTimestamp") or order.get("timestamp") or 0),
            raw_status=raw_status,
            raw=dict(entry),
        )


def parse_order_status_reply(reply: Any, cloid: str | None) -> OrderStatusReport:
    """An ``orderStatus`` /info reply; ``{"status": "unknownOid"}`` → NOT_FOUND."""
    if not isinstance(reply, Mapping):
        raise UnexpectedReply("orderStatus reply is not an object", repr(reply))
    if reply.get("status") == "unknownOid":
        return OrderStatusReport(
            pair="",
            status=ExchangeOrderStatus.NOT_FOUND,
            cloid=cloid,
            exchange_order_id=None,
            raw_status="unknownOid",
            raw=dict(reply),
        )
    if reply.get("status") == "order" and isinstance(reply.get("order"), Mapping):
        return parse_order_entry(reply["order"])
    raise UnexpectedReply("orderStatus reply has an unexpected shape", repr(reply))


def parse_open_order(order: Mapping[str, Any]) -> OrderStatusReport:
    """One element of an ``openOrders`` / ``frontendOpenOrders`` reply."""
    with unexpected_shape("open order", order):
        return OrderStatusReport(
            pair=str(order["coin"]),
            status=ExchangeOrderStatus.OPEN,
            cloid=_cloid(order.get("cloid")),
            exchange_order_id=str(int(order["oid"])),
            side=parse_side(order["side"]),
            amount=parse_decimal(order.get("origSz", order["sz"])),
            remaining=parse_decimal(order["sz"]),
            price=parse_decimal(order["limitPx"]),
            timestamp_ms=int(order.get("timestamp") or 0),
            raw_status="open",
            raw=dict(order),
        )


def parse_fill(fill: Mapping[str, Any]) -> FillReport:
    """One fill (``userFills`` / ``userFillsByTime`` / WS ``WsFill``); trade id = ``tid`` string."""
    with unexpected_shape("fill", fill):
        return FillReport(
            trade_id=str(fill["tid"]),
            pair=str(fill["coin"]),
            side=parse_side(fill["side"]),
            price=parse_decimal(fill["px"]),
            amount=parse_decimal(fill["sz"]),
            fee=parse_decimal(fill.get("fee", "0")),
            fee_asset=str(fill.get("feeToken", "USDC")),
            is_maker=not bool(fill.get("crossed", False)),
            timestamp_ms=int(fill["time"]),
            exchange_order_id=str(int(fill["oid"])),
            cloid=_cloid(fill.get("cloid")),
            raw=dict(fill),
        )


def parse_positions(state: Mapping[str, Any]) -> list[PositionReport]:
    """Non-zero positions of a ``clearinghouseState`` reply (``szi`` signed: + long, − short)."""
    with unexpected_shape("clearinghouseState", state):
        reports = []
        for entry in state.get("assetPositions", []):
            position = entry["position"]
            size = parse_decimal(position["szi"])
            if size == 0:
                continue
            leverage = position.get("leverage") or {}
            entry_px = position.get("entryPx")
            reports.append(
                PositionReport(
                    pair=str(position["coin"]),
                    size=size,
                    entry_price=parse_decimal(entry_px) if entry_px is not None else None,
                    unrealized_pnl=parse_decimal(position.get("unrealizedPnl", "0")),
                    leverage=int(leverage["value"]) if "value" in leverage else None,
                )
            )
        return reports


def _levels(raw: Any) -> tuple[BookLevel, ...]:
    return tuple(
        BookLevel(
            price=parse_decimal(lv["px"]),
            amount=parse_decimal(lv["sz"]),
            orders=int(lv.get("n", 0)),
        )
        for lv in raw
    )


def parse_l2_book(data: Mapping[str, Any]) -> BookUpdate:
    """An ``l2Book`` snapshot (/info reply or WS push): ``levels = [bids desc, asks asc]``."""
    with unexpected_shape("l2Book", data):
        bids, asks = data["levels"]
        return BookUpdate(
            pair=str(data["coin"]),
            timestamp_ms=int(data.get("time", 0)),
            bids=_levels(bids),
            asks=_levels(asks),
        )


def parse_leverage(reply: Any) -> tuple[int, bool]:
    """``activeAssetData`` → ``(leverage, is_cross)`` (``{"leverage": {"type", "value"}}``)."""
    with unexpected_shape("activeAssetData", reply):
        setting = reply["leverage"]
        kind = str(setting["type"])
        if kind not in ("cross", "isolated"):
            raise UnexpectedReply(f"unknown leverage type {kind!r}", repr(reply))
        return int(setting["value"]), kind == "cross"
