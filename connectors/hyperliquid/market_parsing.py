"""Exchange JSON → market-data and user-event reports (``trades``, ``bbo``, ``userEvents``).

As in :mod:`connectors.hyperliquid.parsing`, a parser of one element raises
:class:`UnexpectedReply` (with the raw text) on a shape it does not know. Parsers of a whole push
return ``(reports, errors)`` instead, so one bad element never hides its neighbours and the caller
can count and log each error.

Example::

    parse_bbo({"coin": "ETH", "time": 1, "bbo": [{"px": "2999", "sz": "1", "n": 2}, None]})
    # BboUpdate(pair='ETH', timestamp_ms=1, bid=BookLevel(Decimal('2999'), ...), ask=None)
    events, errors = parse_user_event({"nonUserCancel": [{"coin": "ETH", "oid": 7}]})
    # [NonUserCancel(pair='ETH', exchange_order_id='7')], []
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from connectors.base import BboUpdate, BookLevel, TradeReport
from connectors.hyperliquid.errors import UnexpectedReply, unexpected_shape
from connectors.hyperliquid.parsing import parse_decimal, parse_fill, parse_side
from connectors.hyperliquid.user_events import (
    FundingPayment,
    Liquidation,
    NonUserCancel,
    UserEvent,
    UserEventFills,
)

T = TypeVar("T")


def _address(value: Any) -> str | None:
    return str(value).lower() if value else None


def _each(
    items: Any, parse: Callable[[Any], T], what: str
) -> tuple[list[T], list[UnexpectedReply]]:
    if not isinstance(items, list):
        return [], [UnexpectedReply(f"{what} is not a list", repr(items))]
    parsed: list[T] = []
    errors: list[UnexpectedReply] = []
    for item in items:
        try:
            parsed.append(parse(item))
        except UnexpectedReply as exc:
            errors.append(exc)
    return parsed, errors


def parse_trade(raw: Mapping[str, Any]) -> TradeReport:
    """One ``WsTrade`` ``{coin, side, px, sz, hash, time, tid, users: [buyer, seller]}``."""
    with unexpected_shape("trade", raw):
        buyer, seller = raw.get("users") or (None, None)
        return TradeReport(
            pair=str(raw["coin"]),
            side=parse_side(raw["side"]),
            price=parse_decimal(raw["px"]),
            amount=parse_decimal(raw["sz"]),
            trade_id=str(int(raw["tid"])),
            timestamp_ms=int(raw["time"]),
            hash=str(raw["hash"]) if raw.get("hash") else None,
            buyer=_address(buyer),
            seller=_address(seller),
        )


def parse_trades(data: Any) -> tuple[list[TradeReport], list[UnexpectedReply]]:
    """A ``trades`` push (a list of ``WsTrade``): the good trades and one error per bad one."""
    return _each(data, parse_trade, "trades push")


def _bbo_level(raw: Any) -> BookLevel | None:
    if raw is None:
        return None
    return BookLevel(
        price=parse_decimal(raw["px"]),
        amount=parse_decimal(raw["sz"]),
        orders=int(raw.get("n", 0)),
    )


def parse_bbo(data: Mapping[str, Any]) -> BboUpdate:
    """A ``bbo`` push ``{coin, time, bbo: [bid level or null, ask level or null]}``."""
    with unexpected_shape("bbo", data):
        bid, ask = data["bbo"]
        return BboUpdate(
            pair=str(data["coin"]),
            timestamp_ms=int(data.get("time", 0)),
            bid=_bbo_level(bid),
            ask=_bbo_level(ask),
        )


def parse_funding(raw: Mapping[str, Any]) -> FundingPayment:
    """The ``funding`` object of a ``userEvents`` push ``{time, coin, usdc, szi, fundingRate}``."""
    with unexpected_shape("funding", raw):
        return FundingPayment(
            pair=str(raw["coin"]),
            timestamp_ms=int(raw["time"]),
            usdc=parse_decimal(raw["usdc"]),
            size=parse_decimal(raw["szi"]),
            funding_rate=parse_decimal(raw["fundingRate"]),
        )


def parse_liquidation(raw: Mapping[str, Any]) -> Liquidation:
    """The ``liquidation`` object of a ``userEvents`` push (``lid``, ``liquidator``, ...)."""
    with unexpected_shape("liquidation", raw):
        return Liquidation(
            liquidation_id=str(int(raw["lid"])),
            liquidator=str(raw["liquidator"]).lower(),
            liquidated_user=str(raw["liquidated_user"]).lower(),
            liquidated_notional=parse_decimal(raw["liquidated_ntl_pos"]),
            liquidated_account_value=parse_decimal(raw["liquidated_account_value"]),
        )


def parse_non_user_cancel(raw: Mapping[str, Any]) -> NonUserCancel:
    """One ``{coin, oid}`` entry of a ``nonUserCancel`` list."""
    with unexpected_shape("nonUserCancel entry", raw):
        return NonUserCancel(pair=str(raw["coin"]), exchange_order_id=str(int(raw["oid"])))


def parse_user_event(data: Any) -> tuple[list[UserEvent], list[UnexpectedReply]]:
    """A ``user`` channel push: the events it carries and one error per bad part.

    ``fills`` → one :class:`UserEventFills` (bad fills left out), ``nonUserCancel`` → one
    :class:`NonUserCancel` per entry, ``funding`` / ``liquidation`` → one report each.
    """
    if not isinstance(data, Mapping):
        return [], [UnexpectedReply("userEvents push is not an object", repr(data))]
    if "fills" in data:
        fills, errors = _each(data["fills"], parse_fill, "userEvents fills")
        return ([UserEventFills(tuple(fills))] if fills else []), errors
    if "nonUserCancel" in data:
        cancels, errors = _each(data["nonUserCancel"], parse_non_user_cancel, "nonUserCancel")
        return [*cancels], errors
    try:
        if "funding" in data:
            return [parse_funding(data["funding"])], []
        if "liquidation" in data:
            return [parse_liquidation(data["liquidation"])], []
    except UnexpectedReply as exc:
        return [], [exc]
    return [], [UnexpectedReply(f"userEvents push of unknown kind {sorted(data)}", repr(data))]
