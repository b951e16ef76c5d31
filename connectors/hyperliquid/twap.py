"""Hyperliquid's native TWAP on the wire: ``twapOrder`` / ``twapCancel`` and their answers,
``twapHistory`` rows and ``userTwapSliceFills`` (reference §13.11; GB-EXCH "Place a TWAP order",
"Cancel a TWAP order"; GB-INFO; HYPAPER captures).

Both actions are L1 actions (signed like an order: msgpack of the action, key order as below).

Example::

    twap_order_action(1, True, "0.5", False, 30, False)["twap"]
    # {'a': 1, 'b': True, 's': '0.5', 'r': False, 'm': 30, 't': False}
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.base import CancelResult, Outcome, TradingRule
from connectors.hyperliquid.errors import UnexpectedReply
from connectors.hyperliquid.outcomes import is_definite_refusal
from connectors.hyperliquid.parsing import parse_decimal, parse_fill, parse_side
from connectors.hyperliquid.rest import ExchangeReply
from connectors.twap import (
    InvalidTwap,
    NativeTwapRequest,
    TwapPlaceResult,
    TwapSliceFill,
    TwapStatus,
)

#: Durations the exchange accepts, in minutes (NK's schema: 5…1440; GB-EXCH answers
#: ``Invalid TWAP duration: 1 min(s)`` below; the UI's "up to 7 days" is not the API's, §13.11).
MIN_MINUTES = 5
MAX_MINUTES = 1440
#: A TWAP's notional must be at least max($100, $10 per minute) (§13.11 [inference]).
MIN_VALUE = Decimal(100)
VALUE_PER_MINUTE = Decimal(10)


def check_twap(rule: TradingRule, request: NativeTwapRequest, price: Decimal) -> None:
    """Refuse, before anything is sent, what the exchange would refuse (:class:`InvalidTwap`).

    ``price`` values the TWAP for the minimum notional (the mark or the mid).
    """
    if request.side not in ("buy", "sell"):
        raise InvalidTwap(f"side must be 'buy' or 'sell', got {request.side!r}")
    minutes = request.minutes
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidTwap(f"minutes must be an integer, got {minutes!r}")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise InvalidTwap(f"{request.pair}: a native TWAP lasts {MIN_MINUTES} to {MAX_MINUTES}"
                          f" minutes, not {minutes} (the exchange answers 'Invalid TWAP"
                          f" duration'); pick a duration in that range")
    amount = request.amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise InvalidTwap(f"amount must be a positive decimal.Decimal, got {amount!r}")
    if rule.quantize_amount(amount) != amount:
        raise InvalidTwap(f"{request.pair}: amount {amount} has more than"
                          f" {rule.amount_decimals} decimals; round it to the lot size")
    least = max(MIN_VALUE, VALUE_PER_MINUTE * minutes)
    if amount * price < least:
        raise InvalidTwap(f"{request.pair}: {amount} at {price} is worth"
                          f" {(amount * price).quantize(Decimal('0.01'))}, below the native TWAP"
                          f" minimum of ${least} for {minutes} minutes (max($100, $10 per"
                          f" minute)); trade more or over fewer minutes")


def twap_order_action(asset: int, is_buy: bool, size: str, reduce_only: bool, minutes: int,
                      randomize: bool) -> dict[str, Any]:
    """The ``twapOrder`` action (key order a, b, s, r, m, t matters: it is hashed)."""
    return {"type": "twapOrder", "twap": {"a": asset, "b": is_buy, "s": size, "r": reduce_only,
                                          "m": minutes, "t": randomize}}


def twap_cancel_action(asset: int, twap_id: int) -> dict[str, Any]:
    """The ``twapCancel`` action."""
    return {"type": "twapCancel", "a": asset, "t": twap_id}


def _status(reply: ExchangeReply, expected: str) -> Any:
    response = reply.response
    if not isinstance(response, dict) or response.get("type") != expected:
        return None
    data = response.get("data")
    return data.get("status") if isinstance(data, dict) else None


def twap_order_result(reply: ExchangeReply) -> TwapPlaceResult:
    """Classify a ``twapOrder`` reply: only a definite refusal is REJECTED (§5, three-valued)."""
    if reply.kind == "refused":
        return TwapPlaceResult(Outcome.REJECTED, reason=reply.reason, raw=reply.raw)
    if reply.kind == "err":
        text = str(reply.response)
        outcome = Outcome.REJECTED if is_definite_refusal(text) else Outcome.UNKNOWN
        return TwapPlaceResult(outcome, reason=text, raw=reply.raw)
    if reply.kind != "ok":
        return TwapPlaceResult(Outcome.UNKNOWN, reason=reply.reason, raw=reply.raw)
    status = _status(reply, "twapOrder")
    if isinstance(status, dict):
        running = status.get("running")
        if isinstance(running, dict) and isinstance(running.get("twapId"), int):
            return TwapPlaceResult(Outcome.CONFIRMED, str(running["twapId"]), raw=reply.raw)
        if isinstance(status.get("error"), str):
            return TwapPlaceResult(Outcome.REJECTED, reason=status["error"], raw=reply.raw)
    return TwapPlaceResult(Outcome.UNKNOWN, reason="unexpected twapOrder reply", raw=reply.raw)


def twap_cancel_result(reply: ExchangeReply) -> CancelResult:
    """Classify a ``twapCancel`` reply (``"success"`` or ``{"error": …}``)."""
    if reply.kind == "refused":
        return CancelResult(Outcome.REJECTED, reply.reason, reply.raw)
    if reply.kind == "err":
        text = str(reply.response)
        outcome = Outcome.REJECTED if is_definite_refusal(text) else Outcome.UNKNOWN
        return CancelResult(outcome, text, reply.raw)
    if reply.kind != "ok":
        return CancelResult(Outcome.UNKNOWN, reply.reason, reply.raw)
    status = _status(reply, "twapCancel")
    if status == "success":
        return CancelResult(Outcome.CONFIRMED, None, reply.raw)
    if isinstance(status, dict) and isinstance(status.get("error"), str):
        return CancelResult(Outcome.REJECTED, status["error"], reply.raw)
    return CancelResult(Outcome.UNKNOWN, "unexpected twapCancel reply", reply.raw)


def parse_twap_history(reply: Any) -> list[TwapStatus]:
    """``twapHistory`` rows, oldest first (the exchange lists them newest first).

    ``time`` is in seconds and ``state.timestamp`` in ms (HYPAPER capture); a row's status is
    ``{"status": "finished"}`` or ``{"status": "error", "description": …}``.
    """
    if not isinstance(reply, list):
        raise UnexpectedReply("twapHistory reply is not a list", repr(reply)[:300])
    rows = []
    for raw in reply:
        try:
            state, status = raw["state"], raw["status"]
            rows.append(TwapStatus(
                twap_id=str(int(raw["twapId"])), pair=str(state["coin"]),
                side=parse_side(state["side"]), amount=parse_decimal(state["sz"]),
                executed=parse_decimal(state["executedSz"]),
                executed_notional=parse_decimal(state["executedNtl"]),
                minutes=int(state["minutes"]), reduce_only=bool(state["reduceOnly"]),
                randomize=bool(state["randomize"]), created_ms=int(state["timestamp"]),
                time_ms=int(raw["time"]) * 1000, status=str(status["status"]),
                description=str(status.get("description") or "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedReply(f"malformed twapHistory row: {exc!r}", repr(raw)[:300]) from exc
    return list(reversed(rows))


def parse_slice_fills(reply: Any) -> list[TwapSliceFill]:
    """``userTwapSliceFills`` entries ``{fill, twapId}``, oldest first.

    The TWAP's id is the wrapper's ``twapId`` (the inner ``fill.twapId`` was null in the live
    capture, §13.11).
    """
    if not isinstance(reply, list):
        raise UnexpectedReply("userTwapSliceFills reply is not a list", repr(reply)[:300])
    out = []
    for raw in reply:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("twapId"), int):
            raise UnexpectedReply("slice fill without a twapId", repr(raw)[:300])
        out.append(TwapSliceFill(str(raw["twapId"]), parse_fill(raw["fill"])))
    out.sort(key=lambda s: (s.fill.timestamp_ms, int(s.fill.trade_id)))
    return out
