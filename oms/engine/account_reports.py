"""Exchange account reports → candidate account events (pure functions, no I/O).

A fill whose order the journal does not know becomes an :class:`OutsideFill`, classified from the
fill's own fields (reference §13.6, §13.11): ``liquidation`` present → a liquidation (``method``
``"backstop"`` or ``dir`` ``"Auto-Deleveraging"`` → ADL), a ``twapId`` or an all-zero hash → a TWAP
slice, anything else → an order placed elsewhere (web UI, another bot, another session).

Example::

    event = outside_fill_event(fill)
    event.key        # 'fill:42:1000007' — one trade of one order: applied once
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from connectors.account import BadElement, FundingReport, LedgerReport
from connectors.base import FillReport
from oms.domain.account_events import AccountAnomaly, FundingPaid, LedgerUpdated, OutsideFill
from oms.domain.enums import TradeSide

_ZERO_HASH = "0x" + "0" * 64


def fill_key(trade_id: str, exchange_order_id: str) -> str:
    """The identity of one fill of one account: Hyperliquid's ``tid`` is shared by both sides
    of a trade (both may be ours), ``(tid, oid)`` is unique per user (reference §8.3)."""
    return f"fill:{trade_id}:{exchange_order_id}"


def funding_key(pair: str, time_ms: int) -> str:
    """The identity of a funding payment: ``(coin, time)`` (its hash may be all zeros)."""
    return f"funding:{pair}:{time_ms}"


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def classify(raw: Mapping[str, Any]) -> tuple[str, str | None, Decimal | None]:
    """``(source, liquidation method, liquidation mark price)`` of a fill's raw payload."""
    liquidation = raw.get("liquidation")
    direction = str(raw.get("dir", ""))
    if isinstance(liquidation, Mapping):
        method = liquidation.get("method")
        method = str(method) if method is not None else None
        mark = _decimal(liquidation.get("markPx"))
        adl = method == "backstop" or direction == "Auto-Deleveraging"
        return ("adl" if adl else "liquidation"), method, mark
    if direction == "Auto-Deleveraging":
        return "adl", None, None
    if raw.get("twapId") is not None or raw.get("hash") == _ZERO_HASH:
        return "twap", None, None
    return "unknown_order", None, None


def outside_fill_event(fill: FillReport) -> OutsideFill:
    """The account event of a fill this engine did not place."""
    source, method, mark = classify(fill.raw)
    return OutsideFill(
        key=fill_key(fill.trade_id, fill.exchange_order_id),
        pair=fill.pair,
        side=TradeSide.BUY if fill.side == "buy" else TradeSide.SELL,
        price=fill.price,
        amount=fill.amount,
        fee=fill.fee,
        fee_asset=fill.fee_asset,
        trade_id=fill.trade_id,
        exchange_order_id=fill.exchange_order_id,
        source=source,
        liquidation_method=method,
        liquidation_mark_price=mark,
        closed_pnl=_decimal(fill.raw.get("closedPnl")),
        exchange_time_ms=fill.timestamp_ms,
    )


def funding_event(report: FundingReport) -> FundingPaid:
    """The account event of one funding payment."""
    return FundingPaid(
        key=funding_key(report.pair, report.time_ms),
        pair=report.pair,
        usdc=report.usdc,
        size=report.size,
        rate=report.rate,
        exchange_time_ms=report.time_ms,
    )


def ledger_event(report: LedgerReport) -> LedgerUpdated:
    """The account event of one collateral movement."""
    return LedgerUpdated(
        key=report.key,
        kind=report.kind,
        usdc=report.usdc,
        exchange_time_ms=report.time_ms,
        raw=dict(report.raw),
    )


def _jsonable(raw: Any) -> Any:
    if isinstance(raw, Mapping):
        return {str(k): _jsonable(v) for k, v in raw.items()}
    if isinstance(raw, (list, tuple)):
        return [_jsonable(v) for v in raw]
    if raw is None or isinstance(raw, (str, int, bool)):
        return raw
    return repr(raw)  # floats, Decimals, anything odd: kept verbatim as text


def anomaly(kind: str, detail: str, raw: Any, key: str | None = None) -> AccountAnomaly:
    """An account anomaly keeping ``raw`` (made JSON-safe, never dropped)."""
    payload = _jsonable(raw)
    if not isinstance(payload, dict):
        payload = {"raw": payload}
    return AccountAnomaly(key=key, kind=kind, detail=detail, raw=payload, at_ns=time.time_ns())


def bad_element_anomaly(bad: BadElement) -> AccountAnomaly:
    """The anomaly of an exchange answer's element that could not be parsed; keyed by its
    content, so the same bad row fetched again is not journaled again."""
    payload = _jsonable(bad.raw)
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return anomaly(f"malformed_{bad.what}", bad.detail, payload, key=f"bad:{digest[:32]}")
