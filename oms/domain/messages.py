"""What the decider is asked about: commands (from the user) and observations (from the exchange).

Both are plain immutable values, free of any wire format: the engine translates a connector's
reports into observations and the user's calls into commands; ``oms.domain.decider`` decides the
events to append (and what the engine must do next) from them, the order's state and the time.

>>> Timing(now_ms=10_000, grace_ms=1_000, horizon_ms=5_000).deadline_from_now
15000
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from oms.domain.events import OrderCreated, OrderFilled
from oms.domain.ids import ClientOrderId


@dataclass(frozen=True, slots=True)
class Timing:
    """The clock as the decider sees it: time is passed in, never read.

    ``now_ms`` is the local wall clock in ms; ``grace_ms`` the extra wait past a deadline before
    "not found" or "still open" is trusted (clock skew); ``horizon_ms`` how far ahead a new
    action's ``expiresAfter`` deadline lies.
    """

    now_ms: int
    grace_ms: int
    horizon_ms: int

    @property
    def deadline_from_now(self) -> int:
        """The deadline of an action sent now."""
        return self.now_ms + self.horizon_ms

    @property
    def now_ns(self) -> int:
        """``now_ms`` in ns (the resolution of event timestamps decided here)."""
        return self.now_ms * 1_000_000


# ---------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place ``order`` (validated and quantized); ``refusal`` is the risk gate's reason, if any."""

    order: OrderCreated
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel an order (sent at once if the exchange knows it, else on its acknowledgement)."""

    client_order_id: ClientOrderId


Command = PlaceOrder | CancelOrder


# ------------------------------------------------------------------------------ observations


class Reply(enum.StrEnum):
    """The three-valued outcome of an action."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


class Seen(enum.StrEnum):
    """An order's status as the exchange reports it (pushed or queried)."""

    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    TRIGGERED = "triggered"
    NOT_FOUND = "not_found"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class PlaceReplied:
    """The reply to a placement (or to the placement half of a modify)."""

    outcome: Reply
    exchange_order_id: str | None = None
    reason: str | None = None
    filled_at_once: bool = False


@dataclass(frozen=True, slots=True)
class CancelReplied:
    """The reply to a cancel (a confirmed modify confirms its old order's cancel too)."""

    outcome: Reply
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StatusSeen:
    """The order's status on the exchange; ``executed`` is what it says was filled, if known."""

    status: Seen
    exchange_order_id: str | None = None
    raw_status: str | None = None
    executed: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FillSeen:
    """A trade of the order (pushed or fetched), as its candidate event."""

    fill: OrderFilled


Observation = PlaceReplied | CancelReplied | StatusSeen | FillSeen
