"""The exchange-agnostic connector contract.

A connector turns one exchange's wire protocol into plain, immutable reports. It knows nothing of
the event store or of the OMS domain: the engine turns reports into events. A second exchange is a
new folder under ``connectors/`` implementing :class:`ExchangeConnector`.

Outcomes of anything sent to an exchange are three-valued (:class:`Outcome`): ``CONFIRMED``,
``REJECTED`` (the exchange said no, with its reason) or ``UNKNOWN`` (timeout, reset, 5xx, a reply we
cannot parse). A connector never turns an unknown outcome into a rejection.

Example::

    rule = TradingRule(pair="ETH", asset_id=1, amount_decimals=4, price_sig_figs=5,
                       price_max_decimals=2, min_notional=Decimal("10"))
    rule.quantize_price(Decimal("3012.345"))   # Decimal('3012.3')
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Decimal,
    InvalidOperation,
)
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

Side = Literal["buy", "sell"]
TimeInForce = Literal["Gtc", "Ioc", "Alo"]


class OrderRuleViolation(ValueError):
    """An order would break the exchange's trading rules; nothing was sent.

    The message names the pair, the rule and the offending value, so the caller can fix the input.
    """


class UnknownPair(KeyError):
    """The pair (coin) is not listed by the exchange's metadata."""

    def __str__(self) -> str:
        return f"unknown pair {self.args[0]!r}: refresh the trading rules or check the spelling"


class Outcome(enum.Enum):
    """What we know about an action sent to the exchange."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


class ExchangeOrderStatus(enum.Enum):
    """An order's status as the exchange reports it, mapped to generic values."""

    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    TRIGGERED = "triggered"
    NOT_FOUND = "not_found"


_ROUNDING = {"buy": ROUND_FLOOR, "sell": ROUND_CEILING}  # never a worse price than asked


@dataclass(frozen=True, slots=True)
class TradingRule:
    """Price and size rules of one pair.

    Prices have at most ``price_sig_figs`` significant figures (integers are always allowed) and at
    most ``price_max_decimals`` decimals; sizes have at most ``amount_decimals`` decimals; the order
    value must reach ``min_notional`` (quote currency).
    """

    pair: str
    asset_id: int
    amount_decimals: int
    price_sig_figs: int
    price_max_decimals: int
    min_notional: Decimal
    max_leverage: int = 1
    is_spot: bool = False

    def _finite(self, name: str, value: Decimal) -> None:
        if not isinstance(value, Decimal):
            raise TypeError(f"{name} must be decimal.Decimal (never float), got "
                            f"{type(value).__name__}")
        if not value.is_finite():
            raise OrderRuleViolation(f"{self.pair}: {name} must be a finite number, got {value}")

    def quantize_amount(self, amount: Decimal) -> Decimal:
        """Round ``amount`` down to the lot size (never up: it must not exceed what was asked).

        Raises :class:`OrderRuleViolation` for NaN, ±Infinity or a number too large to round.
        """
        self._finite("amount", amount)
        step = Decimal(1).scaleb(-self.amount_decimals)
        try:
            return amount.quantize(step, rounding=ROUND_DOWN)
        except InvalidOperation:
            raise OrderRuleViolation(f"{self.pair}: amount {amount:.6E} is too large") from None

    def quantize_price(self, price: Decimal, side: str | None = None) -> Decimal:
        """Round ``price`` to a valid price (significant figures, then decimals).

        ``side="buy"`` rounds down and ``side="sell"`` rounds up, so an order's limit (or its
        worst acceptable price, or a trigger) is never worse than what was asked; without a
        side the nearest valid price is returned (half to even), for reference prices only.
        Raises :class:`OrderRuleViolation` for a price that is not positive and finite, too
        large to round, or that rounds down to zero.
        """
        self._finite("price", price)
        if price <= 0:
            raise OrderRuleViolation(f"{self.pair}: price must be positive, got {price}")
        rounding = _ROUNDING.get(side) if side is not None else ROUND_HALF_EVEN
        if rounding is None:
            raise ValueError(f"side must be 'buy', 'sell' or None, got {side!r}")
        try:
            if price == price.to_integral_value():
                return price.quantize(Decimal(1))
            digits_before_point = price.adjusted() + 1
            decimals = min(self.price_sig_figs - digits_before_point, self.price_max_decimals)
            step = Decimal(1) if decimals <= 0 else Decimal(1).scaleb(-decimals)
            rounded = price.quantize(step, rounding=rounding)
        except InvalidOperation:
            raise OrderRuleViolation(f"{self.pair}: price {price:.6E} is too large") from None
        if rounded <= 0:
            raise OrderRuleViolation(
                f"{self.pair}: price {price} is below the smallest tick "
                f"({Decimal(1).scaleb(-self.price_max_decimals)})"
            )
        return rounded

    def check_price(self, price: Decimal) -> None:
        """Raise :class:`OrderRuleViolation` unless ``price`` is on the tick as it is."""
        if price != self.quantize_price(price):
            raise OrderRuleViolation(
                f"{self.pair}: price {price} breaks the tick rule ({self.price_sig_figs}"
                f" significant figures, at most {self.price_max_decimals} decimals);"
                " use quantize_price"
            )

    def worst_price(self, side: Side, reference: Decimal, slippage: Decimal) -> Decimal:
        """``reference × (1 ± slippage)`` as a valid price, rounded toward the passive side (a
        buy's bound down, a sell's up): the bound is never worse than the slippage asked for
        (issue 13: no quantization makes a price worse than asked, market bounds included).

        >>> rule = TradingRule("ETH", 1, 4, 5, 2, Decimal(10))
        >>> rule.worst_price("buy", Decimal("3001.7"), Decimal("0.05"))
        Decimal('3151.7')
        """
        if not Decimal(0) <= slippage < Decimal(1):
            raise ValueError(f"slippage must be in [0, 1), got {slippage} (0.05 means 5 %)")
        raw = reference * (1 + slippage if side == "buy" else 1 - slippage)
        return self.quantize_price(raw, side)

    def check(self, price: Decimal, amount: Decimal) -> None:
        """Raise :class:`OrderRuleViolation` unless ``price`` and ``amount`` are sendable as is."""
        if amount != self.quantize_amount(amount):
            raise OrderRuleViolation(
                f"{self.pair}: amount {amount} has more than {self.amount_decimals} decimals"
            )
        self.check_price(price)
        self.check_size(price, amount)

    def check_size(self, price: Decimal, amount: Decimal) -> None:
        """The checks left once price and amount are quantized: positive, above min notional."""
        if amount <= 0:
            raise OrderRuleViolation(f"{self.pair}: amount must be positive, got {amount}")
        if price * amount < self.min_notional:
            raise OrderRuleViolation(
                f"{self.pair}: order value {price * amount} is below the minimum"
                f" {self.min_notional}"
            )


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """What makes an order a trigger order (stop or take-profit).

    ``tpsl`` is ``"sl"`` (stop-loss) or ``"tp"`` (take-profit); ``is_market`` makes the fired
    order a market order bounded by the request's price, else a limit order at that price.
    """

    price: Decimal
    is_market: bool
    tpsl: Literal["tp", "sl"]


Grouping = Literal["na", "normalTpsl", "positionTpsl"]
"""How orders of one placement relate: independent, entry + TP/SL legs, or TP/SL on the position."""


@dataclass(frozen=True, slots=True)
class PlaceOrderRequest:
    """One order to place. ``cloid`` is the exchange form of our client order id.

    ``trigger`` makes it a trigger order (then ``tif`` is not sent: triggers have none).
    """

    cloid: str
    pair: str
    side: Side
    amount: Decimal
    price: Decimal
    tif: TimeInForce = "Gtc"
    reduce_only: bool = False
    trigger: TriggerSpec | None = None


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """The outcome of placing one order.

    ``CONFIRMED`` carries the exchange order id and, when it traded at once, ``filled_amount`` and
    ``average_price``; ``REJECTED`` carries the exchange's ``reason``; ``UNKNOWN`` carries the
    ``reason`` (timeout, HTTP status...) and the ``raw`` reply text for the journal.
    """

    outcome: Outcome
    cloid: str
    exchange_order_id: str | None = None
    resting: bool = False
    filled_amount: Decimal = Decimal(0)
    average_price: Decimal | None = None
    reason: str | None = None
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class CancelResult:
    """The outcome of one cancel: confirmed, rejected (with the exchange's reason) or unknown."""

    outcome: Outcome
    reason: str | None = None
    raw: str | None = None


ActionResult = CancelResult
"""The outcome of an account action answered without per-order statuses (leverage, margin)."""


@dataclass(frozen=True, slots=True)
class OrderStatusReport:
    """An order's state as the exchange reports it (from a query or a stream)."""

    pair: str
    status: ExchangeOrderStatus
    cloid: str | None
    exchange_order_id: str | None
    side: Side | None = None
    amount: Decimal | None = None
    remaining: Decimal | None = None
    price: Decimal | None = None
    timestamp_ms: int = 0
    raw_status: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FillReport:
    """One trade of one of our orders. Identified by (venue, account, trade_id)."""

    trade_id: str
    pair: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    timestamp_ms: int
    exchange_order_id: str
    cloid: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PositionReport:
    """A perp position: signed size (+ long, − short) and entry price."""

    pair: str
    size: Decimal
    entry_price: Decimal | None
    unrealized_pnl: Decimal = Decimal(0)
    leverage: int | None = None


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price level of an order book."""

    price: Decimal
    amount: Decimal
    orders: int = 0


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """A full L2 snapshot of one pair (bids best first, asks best first)."""

    pair: str
    timestamp_ms: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


@dataclass(frozen=True, slots=True)
class BboUpdate:
    """Best bid and best offer of one pair; a side is None when the book is empty there."""

    pair: str
    timestamp_ms: int
    bid: BookLevel | None
    ask: BookLevel | None


@dataclass(frozen=True, slots=True)
class TradeReport:
    """One public trade of a pair (anyone's, not only ours).

    ``side`` is the aggressor's (taker's) side. ``hash``, ``buyer`` and ``seller`` (account
    addresses) are None when the venue does not publish them.
    """

    pair: str
    side: Side
    price: Decimal
    amount: Decimal
    trade_id: str
    timestamp_ms: int
    hash: str | None = None
    buyer: str | None = None
    seller: str | None = None


ReconnectCallback = Callable[[], Awaitable[None]]


@runtime_checkable
class ExchangeConnector(Protocol):
    """What the engine needs from any exchange.

    Streams (``order_updates``, ``fills``, ``book_updates``) are async iterators that survive
    reconnects; after every reconnect the connector awaits each registered reconnect callback so the
    engine can fill the gap (fills since the last journaled one, status of every open order).
    """

    venue: str
    account: str

    async def start(self) -> None:
        """Load trading rules and open the streams."""

    async def close(self) -> None:
        """Close sessions and sockets; idempotent."""

    def trading_rule(self, pair: str) -> TradingRule:
        """Rules of ``pair``; raises :class:`UnknownPair`."""
        ...

    async def place_orders(
        self,
        requests: Sequence[PlaceOrderRequest],
        expires_after_ms: int | None,
        grouping: Grouping = "na",
    ) -> list[PlaceResult]:
        """Place orders in one action; one result per request, in order.

        ``grouping="normalTpsl"``: ``requests`` are an entry order followed by its take-profit
        and/or stop-loss legs; ``"positionTpsl"``: TP/SL legs on the current position.
        """
        ...

    async def cancel_many_by_cloid(
        self, cancels: Sequence[tuple[str, str]], expires_after_ms: int | None
    ) -> list[CancelResult]:
        """Cancel ``(pair, cloid)`` orders in one action; one result per cancel, in order."""
        ...

    async def update_leverage(
        self, pair: str, leverage: int, is_cross: bool = True,
        expires_after_ms: int | None = None,
    ) -> ActionResult:
        """Set the leverage (and cross or isolated margin) of a perp for later orders."""
        ...

    async def update_isolated_margin(
        self, pair: str, amount: Decimal, expires_after_ms: int | None = None
    ) -> ActionResult:
        """Add (``amount`` > 0) or remove (< 0) quote-currency margin of an isolated position."""
        ...

    async def reference_price(self, pair: str, side: Side) -> Decimal:
        """The price a market order of ``side`` starts from: the best opposite quote of the
        book (or the mid when that side is empty). Raises :class:`ExchangeUnavailable`."""
        ...

    async def mark_price(self, pair: str) -> Decimal:
        """The mark price of a perp (what trigger orders fire on)."""
        ...

    async def leverage(self, pair: str) -> tuple[int, bool]:
        """``(leverage, is_cross)`` the exchange holds for ``pair`` on this account."""
        ...

    async def cancel_by_cloid(
        self, pair: str, cloid: str, expires_after_ms: int | None
    ) -> CancelResult:
        """Cancel one order by its client order id."""
        ...

    async def cancel(
        self, pair: str, exchange_order_id: str, expires_after_ms: int | None
    ) -> CancelResult:
        """Cancel one order by its exchange order id."""
        ...

    async def modify(
        self, order_id: str, request: PlaceOrderRequest, expires_after_ms: int | None
    ) -> PlaceResult:
        """Atomically cancel order ``order_id`` (exchange id) and place ``request`` instead.

        The result is the replacement's, as for a placement; the old order's fate is learned from
        its status when the result is not confirmed.
        """
        ...

    async def order_status(self, cloid: str) -> OrderStatusReport:
        """Ask the exchange for an order by client id; ``NOT_FOUND`` if it does not know it.

        Raises :class:`ExchangeUnavailable` when the answer itself is unknown.
        """
        ...

    async def open_orders(self) -> list[OrderStatusReport]:
        """Every open order of the account."""
        ...

    async def fills_since(self, start_ms: int) -> list[FillReport]:
        """Every fill of the account at or after ``start_ms``, oldest first."""
        ...

    async def positions(self) -> list[PositionReport]:
        """Open positions of the account."""
        ...

    async def schedule_cancel(self, at_ms: int | None) -> CancelResult:
        """Dead-man switch: cancel everything at ``at_ms`` unless renewed; ``None`` clears it."""
        ...

    def order_updates(self) -> AsyncIterator[OrderStatusReport]:
        """Pushed order status changes."""
        ...

    def fills(self) -> AsyncIterator[FillReport]:
        """Pushed fills (snapshots replayed after reconnect too; dedupe by trade id)."""
        ...

    def add_reconnect_callback(self, callback: ReconnectCallback) -> None:
        """Register ``callback`` to be awaited after every stream reconnect."""


@runtime_checkable
class KeepsNonces(Protocol):
    """A connector that signs with nonces it persists in a file (see the engine's default)."""

    @property
    def nonce_file(self) -> Path | None:
        """The nonce file in use (None: none yet)."""
        ...

    def keep_nonces_in(self, folder: Path) -> None:
        """Use ``folder``/``nonce-<signer>`` as the nonce file (before the first signature)."""
        ...


@runtime_checkable
class SendBudget(Protocol):
    """What a connector may expose about an exchange's per-account request budget, so a sender
    can hold orders back (and let cancels through) before the exchange would refuse them."""

    def address_room(self, is_cancel: bool) -> int:
        """Orders (``is_cancel=False``) or cancels the account may still send."""
        ...


class ExchangeUnavailable(ConnectionError):
    """The exchange could not be reached or gave an answer we cannot trust; outcome unknown."""
