"""A native TWAP (the exchange runs the slices) as a parent order: its events and their fold.

The parent lives in its own stream ``algo-<parent id>`` like the other parents, and starts with the
same :class:`~oms.domain.parent.ParentCreated` (``spec.kind == "native_twap"``) journaled together
with :class:`NativeTwapRequested` *before* the ``twapOrder`` leaves. The exchange's TWAP id is
linked when known (:class:`NativeTwapLinked`: from the reply, or found in the exchange's TWAP
history after a lost reply); each slice fill is journaled once (:class:`NativeSliceFilled`, keyed
by trade id and order id); :class:`~oms.domain.parent.ParentFinished` ends it. Pointers to these
parents are kept in :data:`NATIVE_INDEX_STREAM` (apart from the schedule-driven parents, whose
runner reads ``algos-index``).

>>> from decimal import Decimal
>>> from oms.domain.parent import ParentCreated, ParentSpec
>>> spec = ParentSpec("native_twap", "ETH", "buy", Decimal("1"), Decimal("3000"), 0, 300, 11,
...                   Decimal("1"), Decimal("0.01"), Decimal("0.01"))
>>> s = fold_native([ParentCreated("p", spec, 0), NativeTwapRequested("p", 5, False, False, 9, 0),
...                  NativeTwapLinked("p", "77", "reply", 1),
...                  NativeSliceFilled("p", "5:100", "5", "100", Decimal("0.4"), Decimal("3001"),
...                                    Decimal("0.01"), 2, 2)])
>>> (s.twap_id, s.executed, s.status)
('77', Decimal('0.4'), 'working')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar

from oms.domain.dataclass_json import from_json, to_json
from oms.domain.parent import (
    TERMINAL,
    Child,
    ParentControl,
    ParentCreated,
    ParentDecodeError,
    ParentFinished,
    ParentOpened,
    ParentSpec,
    ParentState,
    decode_parent,
    encode_parent,
)

NATIVE_KIND = "native_twap"
NATIVE_INDEX_STREAM = "algos-index-native"
"""Pointers (:class:`~oms.domain.parent.ParentOpened`) to every native TWAP parent."""


@dataclass(frozen=True, slots=True)
class NativeTwapRequested:
    """What is sent as ``twapOrder``, and the deadline (``expiresAfter``) it carries: a TWAP the
    exchange does not list once that deadline has passed was never placed, with certainty."""

    TYPE: ClassVar[str] = "NativeTwapRequested"
    parent_id: str
    minutes: int
    randomize: bool
    reduce_only: bool
    expires_after_ms: int
    at_ns: int


@dataclass(frozen=True, slots=True)
class NativeTwapLinked:
    """The exchange's id of the TWAP (``how``: ``reply`` or ``history`` after a lost reply)."""

    TYPE: ClassVar[str] = "NativeTwapLinked"
    parent_id: str
    twap_id: str
    how: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class NativeSliceFilled:
    """One fill of one of the TWAP's slices (``key`` = ``<trade id>:<order id>``, applied once)."""

    TYPE: ClassVar[str] = "NativeSliceFilled"
    parent_id: str
    key: str
    trade_id: str
    exchange_order_id: str
    amount: Decimal
    price: Decimal
    fee: Decimal
    time_ms: int
    at_ns: int


NativeEvent = ParentCreated | NativeTwapRequested | NativeTwapLinked | NativeSliceFilled | \
    ParentControl | ParentFinished


@dataclass(frozen=True, slots=True)
class NativeTwapState:
    """The fold of a native TWAP parent's events."""

    parent_id: str
    spec: ParentSpec
    request: NativeTwapRequested | None = None
    twap_id: str | None = None
    fills: tuple[NativeSliceFilled, ...] = ()
    status: str = "working"
    reason: str = ""
    cancel_requested: bool = False
    version: int = 0

    @property
    def executed(self) -> Decimal:
        """Sum of the slice fills journaled."""
        return sum((f.amount for f in self.fills), Decimal(0))

    @property
    def notional(self) -> Decimal:
        """Sum of price x amount of the slice fills."""
        return sum((f.amount * f.price for f in self.fills), Decimal(0))

    def has_fill(self, key: str) -> bool:
        """Whether the slice fill ``key`` is journaled."""
        return any(f.key == key for f in self.fills)

    def as_parent(self) -> ParentState:
        """The parent as the other algorithms show theirs: one filled child per slice fill."""
        children = tuple(
            Child(i, f"{self.twap_id}:{f.key}", f.amount, f.amount, True, "filled")
            for i, f in enumerate(self.fills)
        )
        return ParentState(self.parent_id, self.spec, self.status, children, self.reason,
                           self.cancel_requested, self.version)  # fmt: skip


def evolve_native(state: NativeTwapState | None, event: NativeEvent) -> NativeTwapState | None:
    """Fold one event; total (an event that does not fit leaves the state as it is)."""
    if isinstance(event, ParentCreated):
        return NativeTwapState(event.parent_id, event.spec, version=1) if state is None else state
    if state is None:
        return None
    state = replace(state, version=state.version + 1)
    if isinstance(event, NativeTwapRequested):
        return replace(state, request=event)
    if isinstance(event, NativeTwapLinked):
        return state if state.twap_id is not None else replace(state, twap_id=event.twap_id)
    if isinstance(event, NativeSliceFilled):
        if state.has_fill(event.key):
            return state
        return replace(state, fills=(*state.fills, event))
    if isinstance(event, ParentControl):
        if event.action == "cancel" and state.status not in TERMINAL:
            return replace(state, cancel_requested=True, status="completing")
        return state
    if isinstance(event, ParentFinished):
        return replace(state, status=event.status, reason=event.reason)
    return state


def fold_native(events: Iterable[NativeEvent]) -> NativeTwapState | None:
    """The state after ``events`` (None before a :class:`ParentCreated`)."""
    state: NativeTwapState | None = None
    for event in events:
        state = evolve_native(state, event)
    return state


_OWN: Mapping[str, type[Any]] = {
    c.TYPE: c for c in (NativeTwapRequested, NativeTwapLinked, NativeSliceFilled)
}


def encode_native(event: NativeEvent | ParentOpened) -> tuple[str, dict[str, Any]]:
    """``(type, JSON-ready data)`` of any event of a native TWAP's stream or index."""
    if isinstance(event, NativeTwapRequested | NativeTwapLinked | NativeSliceFilled):
        return event.TYPE, to_json(event)
    return encode_parent(event)


def decode_native(type_: str, data: Mapping[str, Any]) -> NativeEvent | ParentOpened:
    """The inverse of :func:`encode_native`; :class:`ParentDecodeError` on bad input."""
    cls = _OWN.get(type_)
    if cls is None:
        event = decode_parent(type_, data)
        if isinstance(event, ParentCreated | ParentControl | ParentFinished | ParentOpened):
            return event
        raise ParentDecodeError(f"{type_} cannot be part of a native TWAP (corrupt stream?)")
    try:
        native: NativeEvent = from_json(cls, data)
    except (TypeError, ArithmeticError, ValueError) as exc:
        raise ParentDecodeError(f"malformed {type_} payload: {exc}") from exc
    return native
