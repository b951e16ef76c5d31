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
    """Order types. A market order goes out as an aggressive IOC limit; limit-maker is post-only."""

    LIMIT = "limit"
    LIMIT_MAKER = "limit_maker"
    MARKET = "market"


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
