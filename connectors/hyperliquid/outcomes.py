"""Classify ``/exchange`` replies into three-valued results (confirmed / rejected / unknown).

The rule that matters: only a *definite* refusal becomes REJECTED. A per-order ``{"error": ...}``
status is definite. A whole-action ``{"status": "err"}`` is definite only when its text is one we
know means "not applied" (:data:`DEFINITE_REFUSALS`, e.g. ``Action already expired``); any other
text, a timeout, a reset, a 5xx or an unparseable body is UNKNOWN with the raw text kept. HTTP 429
(after the client's retries) and HTTP 422 are refusals before processing, so REJECTED.

Example::

    place_results(reply, ["0x...01"])   # [PlaceResult(Outcome.CONFIRMED, ..., resting=True)]
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.base import CancelResult, Outcome, PlaceResult
from connectors.hyperliquid.rest import ExchangeReply

# Whole-action error texts that mean the action was refused as a whole and NOT applied
# (matched as prefixes after stripping an optional "L1 error: " prefix).
DEFINITE_REFUSALS: tuple[str, ...] = (
    "Action already expired",
    "Invalid nonce",
    "User or API Wallet",
    "Must deposit before performing actions",
    "Unable to recover signer",
    "Vault not registered",
    "Too many cumulative requests",
    "Scheduled cancel time too early",
    "Cannot set scheduled cancel time",
    "Action disabled",
    "Invalid signature",
    "Order must have minimum value",
    "Price must be divisible by tick size",
    "Order has invalid",
    "Order has zero size",
    "Invalid TP/SL price",
    "Invalid leverage",
    "Unknown asset",
    "Invalid asset",
    "Order list must not be empty",
    "Builder fee has not been approved",
    "Cannot modify canceled or filled order",
    # Leverage / isolated margin refusals (reference §13.5).
    "Cannot switch leverage type with open position",
    "Cross margin is not allowed for this asset",
    "Position does not use isolated margin",
    "Isolated position does not have sufficient margin",
    "Insufficient margin",
)


def is_definite_refusal(text: str) -> bool:
    """True when a whole-action error text means the action was not applied."""
    stripped = text.removeprefix("L1 error: ").strip()
    return stripped.startswith(DEFINITE_REFUSALS)


def _unknown_places(cloids: Sequence[str], reason: str, raw: str) -> list[PlaceResult]:
    return [PlaceResult(Outcome.UNKNOWN, c, reason=reason, raw=raw) for c in cloids]


def _rejected_places(cloids: Sequence[str], reason: str, raw: str) -> list[PlaceResult]:
    return [PlaceResult(Outcome.REJECTED, c, reason=reason, raw=raw) for c in cloids]


def _statuses(reply: ExchangeReply, expected_type: str) -> list[Any] | None:
    response = reply.response
    if not isinstance(response, dict) or response.get("type") != expected_type:
        return None
    data = response.get("data")
    statuses = data.get("statuses") if isinstance(data, dict) else None
    return statuses if isinstance(statuses, list) else None


def place_status(cloid: str, status: Any, raw: str) -> PlaceResult:
    """One order status element → a PlaceResult."""
    if isinstance(status, dict):
        if isinstance(status.get("resting"), dict):
            oid = status["resting"].get("oid")
            return PlaceResult(
                Outcome.CONFIRMED, cloid, exchange_order_id=str(oid), resting=True, raw=raw
            )
        if isinstance(status.get("filled"), dict):
            filled = status["filled"]
            try:
                return PlaceResult(
                    Outcome.CONFIRMED,
                    cloid,
                    exchange_order_id=str(filled["oid"]),
                    filled_amount=Decimal(str(filled["totalSz"])),
                    average_price=Decimal(str(filled["avgPx"])),
                    raw=raw,
                )
            except (KeyError, ArithmeticError):
                return PlaceResult(
                    Outcome.UNKNOWN, cloid, reason="malformed filled status", raw=raw
                )
        if isinstance(status.get("error"), str):
            return PlaceResult(Outcome.REJECTED, cloid, reason=status["error"], raw=raw)
    if status in ("waitingForFill", "waitingForTrigger"):
        # TP/SL children: accepted, waiting for the parent or the trigger.
        return PlaceResult(Outcome.CONFIRMED, cloid, resting=True, reason=status, raw=raw)
    return PlaceResult(Outcome.UNKNOWN, cloid, reason="unexpected order status", raw=raw)


def place_results(reply: ExchangeReply, cloids: Sequence[str]) -> list[PlaceResult]:
    """Results of an ``order`` or ``batchModify`` action, one per order, in order."""
    if reply.kind == "refused":
        return _rejected_places(cloids, reply.reason, reply.raw)
    if reply.kind == "err":
        text = str(reply.response)
        if is_definite_refusal(text):
            return _rejected_places(cloids, text, reply.raw)
        return _unknown_places(cloids, f"unrecognised exchange error: {text}", reply.raw)
    if reply.kind != "ok":
        return _unknown_places(cloids, reply.reason, reply.raw)
    statuses = _statuses(reply, "order")
    if statuses is None:
        return _unknown_places(cloids, "order reply without statuses", reply.raw)
    if len(statuses) == len(cloids):
        return [place_status(c, s, reply.raw) for c, s in zip(cloids, statuses, strict=True)]
    # Pre-validation errors come back as a single error for the whole batch: nothing was placed.
    if len(statuses) == 1 and isinstance(statuses[0], dict) and "error" in statuses[0]:
        return _rejected_places(cloids, str(statuses[0]["error"]), reply.raw)
    return _unknown_places(cloids, "statuses do not match the orders sent", reply.raw)


def cancel_results(reply: ExchangeReply, count: int) -> list[CancelResult]:
    """Results of a ``cancel`` / ``cancelByCloid`` action, one per cancel."""
    if reply.kind == "refused":
        return [CancelResult(Outcome.REJECTED, reply.reason, reply.raw)] * count
    if reply.kind == "err":
        text = str(reply.response)
        outcome = Outcome.REJECTED if is_definite_refusal(text) else Outcome.UNKNOWN
        return [CancelResult(outcome, text, reply.raw)] * count
    if reply.kind != "ok":
        return [CancelResult(Outcome.UNKNOWN, reply.reason, reply.raw)] * count
    statuses = _statuses(reply, "cancel")
    if statuses is None or len(statuses) != count:
        return [CancelResult(Outcome.UNKNOWN, "unexpected cancel reply", reply.raw)] * count
    results = []
    for status in statuses:
        if status == "success":
            results.append(CancelResult(Outcome.CONFIRMED, None, reply.raw))
        elif isinstance(status, dict) and isinstance(status.get("error"), str):
            results.append(CancelResult(Outcome.REJECTED, status["error"], reply.raw))
        else:
            results.append(CancelResult(Outcome.UNKNOWN, "unexpected cancel status", reply.raw))
    return results


def default_result(reply: ExchangeReply) -> CancelResult:
    """Result of an action answered with ``{"type": "default"}`` (scheduleCancel, leverage...)."""
    if reply.kind == "refused":
        return CancelResult(Outcome.REJECTED, reply.reason, reply.raw)
    if reply.kind == "err":
        text = str(reply.response)
        outcome = Outcome.REJECTED if is_definite_refusal(text) else Outcome.UNKNOWN
        return CancelResult(outcome, text, reply.raw)
    if reply.kind == "ok" and isinstance(reply.response, dict):
        return CancelResult(Outcome.CONFIRMED, None, reply.raw)
    return CancelResult(Outcome.UNKNOWN, reply.reason or "unexpected reply", reply.raw)
