"""Indexer rows → the connector's generic reports.

Order rows may be partial on the WebSocket (only ``id, subaccountId, clientId, status,
orderFlags`` are guaranteed; reference §1.4), so everything else is optional here and filled from
our client-id journal where it can be. A row missing a required field raises
:class:`UnexpectedReply`; callers skip that row, count it and keep the rest.

Status mapping: ``OPEN``/``BEST_EFFORT_OPENED``/``UNTRIGGERED`` → OPEN, except a conditional
order (``orderFlags`` 32) that is ``OPEN``: it has triggered (it was ``UNTRIGGERED`` until then;
reference §4), so → TRIGGERED; ``FILLED`` → FILLED;
``CANCELED`` and ``BEST_EFFORT_CANCELED`` → CANCELED (a best-effort cancel can still be beaten by
a fill in a block up to the order's goodTilBlock: such a fill is applied as a late fill, and
completes the order if it fills it); ``ERROR`` → REJECTED.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import ExchangeOrderStatus, FillReport, OrderStatusReport, PositionReport
from connectors.dydx.client_ids import ClientIdRecord
from connectors.dydx.constants import FLAG_CONDITIONAL
from connectors.dydx.errors import UnexpectedReply

_STATUS = {
    "OPEN": ExchangeOrderStatus.OPEN,
    "BEST_EFFORT_OPENED": ExchangeOrderStatus.OPEN,
    "UNTRIGGERED": ExchangeOrderStatus.OPEN,
    "FILLED": ExchangeOrderStatus.FILLED,
    "CANCELED": ExchangeOrderStatus.CANCELED,
    "BEST_EFFORT_CANCELED": ExchangeOrderStatus.CANCELED,
    "ERROR": ExchangeOrderStatus.REJECTED,
}

#: (row) → our cloid, or None when the row is not one of our orders.
CloidOf = Callable[[Mapping[str, Any]], str | None]


def decimal(raw: Any, what: str) -> Decimal:
    """A finite Decimal from an Indexer number string; raises :class:`UnexpectedReply`."""
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise UnexpectedReply(f"{what} is not a number: {raw!r}", repr(raw)) from None
    if not value.is_finite():
        raise UnexpectedReply(f"{what} is not finite: {raw!r}", repr(raw))
    return value


def iso_ms(raw: Any) -> int:
    """Milliseconds since the epoch of an Indexer ISO time (``2024-01-01T00:00:00.000Z``)."""
    try:
        moment = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise UnexpectedReply(f"not an ISO time: {raw!r}", repr(raw)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _side(raw: Any) -> str:
    if raw == "BUY":
        return "buy"
    if raw == "SELL":
        return "sell"
    raise UnexpectedReply(f"unknown side {raw!r}", repr(raw))


def parse_order(row: Mapping[str, Any], cloid_of: CloidOf, ticker: str | None = None
                ) -> OrderStatusReport:
    """One order row (REST, or a possibly partial WebSocket update)."""
    if not isinstance(row, Mapping):
        raise UnexpectedReply("order row is not an object", repr(row))
    try:
        raw_status, order_id = str(row["status"]), str(row["id"])
    except KeyError as exc:
        raise UnexpectedReply(f"order row without {exc}", repr(row)) from None
    status = _STATUS.get(raw_status)
    if status is None:
        raise UnexpectedReply(f"unknown order status {raw_status!r}", repr(row))
    if status is ExchangeOrderStatus.OPEN and raw_status != "UNTRIGGERED" and str(
            row.get("orderFlags")) == str(FLAG_CONDITIONAL):
        status = ExchangeOrderStatus.TRIGGERED
    pair = str(row.get("ticker") or ticker or "")
    if not pair:
        raise UnexpectedReply("order row without a ticker, and not one of ours", repr(row))
    amount = decimal(row["size"], "size") if "size" in row else None
    filled = decimal(row["totalFilled"], "totalFilled") if "totalFilled" in row else None
    remaining = amount - filled if amount is not None and filled is not None else None
    updated = row.get("updatedAt")
    reason = row.get("removalReason")
    return OrderStatusReport(
        pair=pair,
        status=status,
        cloid=cloid_of(row),
        exchange_order_id=order_id,
        side=_side(row["side"]) if "side" in row else None,  # type: ignore[arg-type]
        amount=amount,
        remaining=remaining,
        price=decimal(row["price"], "price") if "price" in row else None,
        timestamp_ms=iso_ms(updated) if updated else 0,
        raw_status=raw_status if not reason else f"{raw_status} ({reason})",
        raw=dict(row),
    )


def parse_fill(row: Mapping[str, Any], cloid_of: CloidOf) -> FillReport:
    """One fill row (REST ``/v4/fills`` or a ``v4_subaccounts`` update)."""
    if not isinstance(row, Mapping):
        raise UnexpectedReply("fill row is not an object", repr(row))
    raw = dict(row)
    kind = row.get("type")
    if kind in ("LIQUIDATED", "LIQUIDATION", "DELEVERAGED", "OFFSETTING"):
        # A protocol liquidation (taker side: no order id) or deleveraging: marked the way the
        # engine's account classifies liquidations (``oms.engine.account_reports.classify``).
        method = "market" if kind in ("LIQUIDATED", "LIQUIDATION") else "backstop"
        raw["liquidation"] = {"method": method}
    elif "orderId" not in row:
        raise UnexpectedReply("fill row without 'orderId'", repr(row))
    order_id = str(row.get("orderId") or "")
    try:
        return FillReport(
            trade_id=str(row["id"]),
            pair=str(row.get("market") or row["ticker"]),
            side=_side(row["side"]),  # type: ignore[arg-type]
            price=decimal(row["price"], "price"),
            amount=decimal(row["size"], "size"),
            fee=decimal(row["fee"], "fee"),
            fee_asset="USDC",
            is_maker=row["liquidity"] == "MAKER",
            timestamp_ms=iso_ms(row["createdAt"]),
            exchange_order_id=order_id,
            cloid=cloid_of({"id": order_id}) if order_id else None,
            raw=raw,
        )
    except KeyError as exc:
        raise UnexpectedReply(f"fill row without {exc}", repr(row)) from None


def parse_positions(body: Any) -> list[PositionReport]:
    """``openPerpetualPositions`` of a ``/v4/addresses/{a}/subaccountNumber/{n}`` body."""
    try:
        positions = body["subaccount"]["openPerpetualPositions"]
        reports = []
        for ticker, pos in positions.items():
            size = decimal(pos["size"], "position size")
            if pos.get("side") == "SHORT" and size > 0:  # the sign convention is not documented
                size = -size
            entry = pos.get("entryPrice")
            reports.append(PositionReport(
                pair=str(ticker), size=size,
                entry_price=decimal(entry, "entryPrice") if entry not in (None, "") else None,
                unrealized_pnl=decimal(pos.get("unrealizedPnl") or "0", "unrealizedPnl"),
            ))
        return reports
    except (KeyError, TypeError, AttributeError) as exc:
        raise UnexpectedReply(f"subaccount body: {exc!r}", repr(body)[:2000]) from None


def record_of_row(row: Mapping[str, Any], pair: str) -> ClientIdRecord:
    """A record for an order we did not send (found on the exchange), so that it can be canceled."""
    try:
        gtbt = row.get("goodTilBlockTime")
        return ClientIdRecord(
            cloid="", client_id=int(row["clientId"]), ticker=pair,
            clob_pair_id=int(row["clobPairId"]), flags=int(row["orderFlags"]),
            good_til_block=int(row.get("goodTilBlock") or 0),
            good_til_block_time=iso_ms(gtbt) // 1000 if gtbt else 0,
            dead_after_height=0, order_id=str(row["id"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UnexpectedReply(f"order row: {exc!r}", repr(row)) from None
