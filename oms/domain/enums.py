"""The order domain's closed vocabularies, as string enums (values are what the journal holds)."""

from __future__ import annotations

import enum


class TradeSide(enum.StrEnum):
    """Which way an order trades. On perpetuals a buy adds to the net position, a sell subtracts."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell (the sign of the position change)."""
        return 1 if self is TradeSide.BUY else -1


class OrderType(enum.StrEnum):
    """Order types. A market order goes out as an aggressive IOC limit; limit-maker is post-only.

    The four trigger types rest on the exchange (not on the book) until the mark price crosses
    their trigger price, then become a market order (``*_MARKET``, bounded by the order's price)
    or a limit order at the order's price (``*_LIMIT``). A stop-loss (``sl``) fires when the mark
    moves against the position being protected, a take-profit (``tp``) when it moves in favour.

    >>> OrderType.STOP_MARKET.tpsl, OrderType.STOP_MARKET.is_market_trigger
    ('sl', True)
    """

    LIMIT = "limit"
    LIMIT_MAKER = "limit_maker"
    MARKET = "market"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"

    @property
    def is_trigger(self) -> bool:
        """True for the four stop / take-profit types."""
        return self in _TRIGGER_TPSL

    @property
    def tpsl(self) -> str | None:
        """``"sl"`` for stops, ``"tp"`` for take-profits, None for the other types."""
        return _TRIGGER_TPSL.get(self)

    @property
    def is_market_trigger(self) -> bool:
        """True for STOP_MARKET and TAKE_PROFIT_MARKET (the wire's ``isMarket``)."""
        return self in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)


_TRIGGER_TPSL = {
    OrderType.STOP_MARKET: "sl",
    OrderType.STOP_LIMIT: "sl",
    OrderType.TAKE_PROFIT_MARKET: "tp",
    OrderType.TAKE_PROFIT_LIMIT: "tp",
}


class TriggerState(enum.StrEnum):
    """Where a trigger order stands on the exchange (a flag beside its ``OrderState``).

    ``WAITING_FOR_FILL``: a TP/SL child whose parent has not filled yet (not armed);
    ``WAITING_FOR_TRIGGER``: armed, watching the mark price; ``TRIGGERED``: the mark crossed
    the trigger price and the resulting order is executing (it then fills, rests or cancels,
    which the order's state says). The flag only moves forward.
    """

    WAITING_FOR_FILL = "waiting_for_fill"
    WAITING_FOR_TRIGGER = "waiting_for_trigger"
    TRIGGERED = "triggered"

    @property
    def rank(self) -> int:
        """Order of the stages (a report of an earlier stage than the known one is stale)."""
        return _TRIGGER_RANK[self]


_TRIGGER_RANK = {
    TriggerState.WAITING_FOR_FILL: 0,
    TriggerState.WAITING_FOR_TRIGGER: 1,
    TriggerState.TRIGGERED: 2,
}


class Grouping(enum.StrEnum):
    """How an order was sent with others: alone, as a bracket's leg, or as a position TP/SL.

    Spelled as Hyperliquid's ``grouping`` field (``na``, ``normalTpsl``, ``positionTpsl``).
    """

    NONE = "na"
    NORMAL_TPSL = "normalTpsl"
    POSITION_TPSL = "positionTpsl"


class TimeInForce(enum.StrEnum):
    """Hyperliquid's time-in-force values, spelled as the wire spells them."""

    GTC = "Gtc"
    IOC = "Ioc"
    ALO = "Alo"


class PositionAction(enum.StrEnum):
    """Whether an order opens (or adds to) a position or closes (reduces) one."""

    OPEN = "open"
    CLOSE = "close"


class OrderState(enum.StrEnum):
    """The states of an order's life; see ``oms.domain.transitions`` for the moves between them."""

    PENDING_CREATE = "pending_create"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELED = "canceled"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """True for FILLED, CANCELED and FAILED: the order will not trade again, bar a late fill."""
        return self in _TERMINAL


_TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELED, OrderState.FAILED})
