"""Account commands (leverage, isolated margin) as journaled events with three-valued outcomes.

Like an order, an account command is journaled before it leaves (``AccountCommandRequested``,
with the ``expiresAfter`` deadline it is sent with), and its outcome is journaled when known:
confirmed, rejected with the exchange's reason, or unknown (timeout, reset) until the engine
resolves it by reading the exchange's state after the deadline. ``fold_leverage`` gives the
leverage per pair that the journal says the exchange holds; recovery compares it with the
exchange and journals what it finds.

All leverage and margin commands of an account live in one stream (:func:`leverage_stream`,
``leverage-<venue>-<account>``); the order and account projections skip them as foreign events.

>>> req = AccountCommandRequested("r1", "ETH", "set_leverage", 5, False, None, 10, 1)
>>> fold_leverage([req, AccountCommandConfirmed("r1", 2)]).leverage["ETH"]
(5, False)
>>> decode_leverage_event(*encode_leverage_event(req)) == req
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Union

from oms.domain.dataclass_json import from_json, to_json

SET_LEVERAGE = "set_leverage"
ISOLATED_MARGIN = "isolated_margin"


def leverage_stream(venue: str, account: str) -> str:
    """The stream of one account's leverage and margin commands: ``leverage-<venue>-<account>``
    (not ``account-…``: those streams hold the account's fold of issue 16)."""
    return f"leverage-{venue}-{account}"


@dataclass(frozen=True, slots=True)
class AccountCommandRequested:
    """A leverage change (``leverage``, ``cross``) or an isolated margin change (``amount``,
    USDC, negative removes) was journaled and is about to be sent."""

    TYPE: ClassVar[str] = "AccountCommandRequested"
    VERSION: ClassVar[int] = 1

    request_id: str
    pair: str
    command: str
    leverage: int | None
    cross: bool | None
    amount: Decimal | None
    expires_after_ms: int
    at_ns: int


@dataclass(frozen=True, slots=True)
class AccountCommandConfirmed:
    """The exchange applied the command."""

    TYPE: ClassVar[str] = "AccountCommandConfirmed"
    VERSION: ClassVar[int] = 1

    request_id: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class AccountCommandRejected:
    """The exchange refused the command; ``reason`` is its text."""

    TYPE: ClassVar[str] = "AccountCommandRejected"
    VERSION: ClassVar[int] = 1

    request_id: str
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class AccountCommandUnknown:
    """The outcome is unknown (timeout, reset, unreadable reply) until resolved."""

    TYPE: ClassVar[str] = "AccountCommandUnknown"
    VERSION: ClassVar[int] = 1

    request_id: str
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class LeverageObserved:
    """Reconciliation read the exchange's leverage of ``pair`` and it differed from the journal
    (set elsewhere, or an outcome that was never learned): the exchange's value is the truth."""

    TYPE: ClassVar[str] = "LeverageObserved"
    VERSION: ClassVar[int] = 1

    pair: str
    leverage: int
    cross: bool
    at_ns: int


LeverageEvent = Union[  # noqa: UP007 - a named union reads better in signatures
    AccountCommandRequested,
    AccountCommandConfirmed,
    AccountCommandRejected,
    AccountCommandUnknown,
    LeverageObserved,
]
LEVERAGE_EVENT_CLASSES: tuple[type[LeverageEvent], ...] = (
    AccountCommandRequested,
    AccountCommandConfirmed,
    AccountCommandRejected,
    AccountCommandUnknown,
    LeverageObserved,
)
_BY_TYPE = {c.TYPE: c for c in LEVERAGE_EVENT_CLASSES}


def encode_leverage_event(event: LeverageEvent) -> tuple[str, dict[str, Any], int]:
    """``(type, JSON-ready data, version)`` of an account event (Decimals as strings)."""
    return event.TYPE, to_json(event), event.VERSION


def decode_leverage_event(type_: str, data: dict[str, Any], version: int) -> LeverageEvent:
    """The inverse of :func:`encode_leverage_event`; ``ValueError`` on an unknown type/version."""
    cls = _BY_TYPE.get(type_)
    if cls is None or version != cls.VERSION:
        raise ValueError(f"unknown account event {type_!r} v{version}: upgrade this program")
    return from_json(cls, data)


@dataclass(slots=True)
class LeverageState:
    """The fold of an account stream: leverage per pair and commands not yet settled."""

    leverage: dict[str, tuple[int, bool]] = field(default_factory=dict)
    pending: dict[str, AccountCommandRequested] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    outcomes: dict[str, str] = field(default_factory=dict)  # request id -> confirmed/rejected

    def apply(self, event: LeverageEvent) -> None:
        """Fold one event (an outcome of an unknown request id is ignored)."""
        if isinstance(event, AccountCommandRequested):
            self.pending[event.request_id] = event
            return
        if isinstance(event, LeverageObserved):
            self.leverage[event.pair] = (event.leverage, event.cross)
            return
        request = self.pending.get(event.request_id)
        if request is None:
            return
        if isinstance(event, AccountCommandUnknown):
            self.unknown.add(event.request_id)
            return
        del self.pending[event.request_id]
        self.unknown.discard(event.request_id)
        confirmed = isinstance(event, AccountCommandConfirmed)
        self.outcomes[event.request_id] = "confirmed" if confirmed else "rejected"
        if confirmed and request.command == SET_LEVERAGE:
            assert request.leverage is not None and request.cross is not None
            self.leverage[request.pair] = (request.leverage, request.cross)


def fold_leverage(events: list[LeverageEvent]) -> LeverageState:
    """The account state after ``events``."""
    state = LeverageState()
    for event in events:
        state.apply(event)
    return state
