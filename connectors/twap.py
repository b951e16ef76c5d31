"""Generic reports about an exchange's native TWAP (a TWAP whose slices the exchange runs).

A connector that offers one implements :class:`NativeTwapVenue`; the engine's native TWAP
(``oms.algos.native_twap``) uses only these types, never an exchange's JSON.

Example::

    result = await connector.twap_order(NativeTwapRequest("ETH", "buy", Decimal("1"), 30), deadline)
    result.outcome, result.twap_id      # (Outcome.CONFIRMED, '15503')
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from connectors.base import CancelResult, FillReport, Outcome, Side

#: Statuses of a native TWAP that end it (the others: ``activated``, ``waitingForTrigger``).
TWAP_ENDED = frozenset({"finished", "terminated", "error", "stopped"})


class InvalidTwap(ValueError):
    """A native TWAP the exchange would refuse (duration, size, value); nothing was sent."""


@dataclass(frozen=True, slots=True)
class NativeTwapRequest:
    """A native TWAP to place: ``amount`` of ``pair`` over ``minutes``."""

    pair: str
    side: Side
    amount: Decimal
    minutes: int
    randomize: bool = False
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class TwapPlaceResult:
    """Three-valued outcome of a ``twapOrder``: the TWAP's id when confirmed, the exchange's
    reason when rejected, the reason and raw text when unknown (resolve by :class:`TwapStatus`)."""

    outcome: Outcome
    twap_id: str | None = None
    reason: str | None = None
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class TwapStatus:
    """One status row of a native TWAP (``twapHistory``): its parameters and its progress.

    ``created_ms`` is when the exchange accepted it (``state.timestamp``); ``time_ms`` when this
    status was reached; ``status`` is the exchange's word (``activated``, ``finished``,
    ``terminated``, ``error``...), ``description`` its explanation when there is one.
    """

    twap_id: str
    pair: str
    side: Side
    amount: Decimal
    executed: Decimal
    executed_notional: Decimal
    minutes: int
    reduce_only: bool
    randomize: bool
    created_ms: int
    time_ms: int
    status: str
    description: str = ""

    @property
    def ended(self) -> bool:
        """Whether this status ends the TWAP."""
        return self.status in TWAP_ENDED


@dataclass(frozen=True, slots=True)
class TwapSliceFill:
    """A fill of one of a native TWAP's slices."""

    twap_id: str
    fill: FillReport


@runtime_checkable
class NativeTwapVenue(Protocol):
    """What the engine needs from an exchange that runs TWAPs itself."""

    def check_twap(self, request: NativeTwapRequest, price: Decimal) -> None:
        """Raise :class:`InvalidTwap` for what the exchange would refuse (``price`` values it);
        ``UnknownPair`` for a pair it does not list."""
        ...

    async def twap_order(
        self, request: NativeTwapRequest, expires_after_ms: int | None
    ) -> TwapPlaceResult:
        """Place a native TWAP (three-valued; never raises for a lost reply)."""
        ...

    async def twap_cancel(
        self, pair: str, twap_id: str, expires_after_ms: int | None
    ) -> CancelResult:
        """Stop a running native TWAP."""
        ...

    async def twap_history(self) -> list[TwapStatus]:
        """Every status row of the account's native TWAPs, oldest first."""
        ...

    async def twap_slice_fills(self, start_ms: int | None = None) -> list[TwapSliceFill]:
        """Slice fills, oldest first (the newest ones, or those at or after ``start_ms``)."""
        ...
