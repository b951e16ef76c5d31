"""Hyperliquid account answers → generic account reports (``connectors/account.py``).

Shapes from the reference (§8.2, §13.6): ``clearinghouseState`` positions carry ``coin, szi,
entryPx, leverage{type,value}, liquidationPx|null, marginUsed, unrealizedPnl, positionValue``;
``userFunding`` rows are ``{time, hash, delta:{type:"funding", coin, usdc, szi, fundingRate}}``
with ``usdc`` signed from the user's side; ``userNonFundingLedgerUpdates`` rows are ``{time, hash,
delta:{type, usdc, …}}`` — amounts unsigned, the direction is in ``type``.

Example::

    snapshot = parse_clearinghouse(reply)     # raises UnexpectedReply with the raw answer
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.account import (
    AccountSnapshot,
    BadElement,
    FundingReport,
    LedgerReport,
    PositionView,
)
from connectors.hyperliquid.errors import UnexpectedReply, unexpected_shape
from connectors.hyperliquid.parsing import parse_decimal

# Ledger kinds whose ``usdc`` leaves the perp account (the others bring it in) — §13.6 list.
_OUTGOING = frozenset({"withdraw", "vaultDeposit", "vaultCreate", "subAccountTransferOut"})


def _optional(value: Any) -> Decimal | None:
    return None if value is None else parse_decimal(value)


def parse_clearinghouse(state: Any) -> AccountSnapshot:
    """A ``clearinghouseState`` answer; raises :class:`UnexpectedReply` if any field we need is
    missing or malformed (a partial answer would give a silently wrong position)."""
    with unexpected_shape("clearinghouseState", state):
        summary = state["marginSummary"]
        positions: dict[str, PositionView] = {}
        for entry in state["assetPositions"]:
            raw = entry["position"]
            size = parse_decimal(raw["szi"])
            leverage = raw.get("leverage") or {}
            value = parse_decimal(raw.get("positionValue", "0"))
            mark = abs(value / size) if size else None
            positions[str(raw["coin"])] = PositionView(
                pair=str(raw["coin"]),
                size=size,
                entry_price=_optional(raw.get("entryPx")),
                mark_price=mark,
                unrealized_pnl=parse_decimal(raw["unrealizedPnl"]),
                margin_used=parse_decimal(raw["marginUsed"]),
                leverage=int(leverage["value"]) if "value" in leverage else None,
                leverage_type=str(leverage["type"]) if "type" in leverage else None,
                liquidation_price=_optional(raw.get("liquidationPx")),
            )
        return AccountSnapshot(
            time_ms=int(state["time"]),
            account_value=parse_decimal(summary["accountValue"]),
            withdrawable=parse_decimal(state["withdrawable"]),
            total_margin_used=parse_decimal(summary["totalMarginUsed"]),
            total_notional=parse_decimal(summary["totalNtlPos"]),
            positions=positions,
            raw=dict(state),
        )


def parse_spot_clearinghouse(state: Any) -> dict[str, Decimal]:
    """Spot balances (``total``) by token name of a ``spotClearinghouseState`` answer."""
    with unexpected_shape("spotClearinghouseState", state):
        return {str(b["coin"]): parse_decimal(b["total"]) for b in state["balances"]}


def _rows(reply: Any, what: str) -> list[Any]:
    if not isinstance(reply, list):
        raise UnexpectedReply(f"{what} reply is not a list", repr(reply)[:2000])
    return reply


def parse_funding_rows(reply: Any) -> tuple[list[FundingReport], list[BadElement]]:
    """``userFunding`` rows; a malformed row becomes a :class:`BadElement`, the rest are kept."""
    good: list[FundingReport] = []
    bad: list[BadElement] = []
    for row in _rows(reply, "userFunding"):
        try:
            with unexpected_shape("userFunding row", row):
                delta = row["delta"]
                good.append(FundingReport(
                    pair=str(delta["coin"]),
                    time_ms=int(row["time"]),
                    usdc=parse_decimal(delta["usdc"]),
                    size=parse_decimal(delta["szi"]),
                    rate=parse_decimal(delta["fundingRate"]),
                ))
        except UnexpectedReply as exc:
            bad.append(BadElement("funding", str(exc), row))
    return good, bad


def parse_ledger_rows(reply: Any) -> tuple[list[LedgerReport], list[BadElement]]:
    """``userNonFundingLedgerUpdates`` rows that move USDC collateral (others are skipped)."""
    good: list[LedgerReport] = []
    bad: list[BadElement] = []
    for row in _rows(reply, "userNonFundingLedgerUpdates"):
        try:
            with unexpected_shape("ledger row", row):
                delta: Mapping[str, Any] = row["delta"]
                kind = str(delta["type"])
                if "usdc" not in delta:
                    continue  # token transfers, staking…: not perp collateral
                amount = parse_decimal(delta["usdc"])
                fee = parse_decimal(delta.get("fee", "0"))
                if kind in _OUTGOING:
                    amount, fee = -amount, -fee
                elif kind == "accountClassTransfer" and not delta.get("toPerp", True):
                    amount = -amount
                time_ms = int(row["time"])
                good.append(LedgerReport(
                    kind=kind, time_ms=time_ms, usdc=amount - abs(fee) if fee else amount,
                    key=f"ledger:{row['hash']}:{time_ms}", raw=dict(row),
                ))
        except UnexpectedReply as exc:
            bad.append(BadElement("ledger", str(exc), row))
    return good, bad
