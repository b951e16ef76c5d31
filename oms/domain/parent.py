"""Parent orders (execution algorithms): their events, their state, and the fold of the events.

A parent order (a TWAP or an iceberg) is journaled in its own stream, ``algo-<parent id>``, never in
an ``order-*`` stream: the order projections skip it, and a parent's history reads on its own. Its
children are ordinary orders; the parent -> child link is the :class:`SliceReleased` event,
journaled (durably) *before* the child's order is created, with the child's client order id
chosen by the parent. So after a crash a released slice is either an order the journal knows
(reconciled like any order) or one never journaled, hence never sent (the engine journals first).

Amounts are ``Decimal``; times are integer nanoseconds.

>>> spec = ParentSpec("twap", "ETH", "buy", Decimal("1"), Decimal("3000"), 0, 10, 2,
...                   Decimal("1"), Decimal("0.01"), Decimal("0.01"))
>>> s = fold([ParentCreated("p1", spec, 0)])
>>> (s.status, s.executed)
('working', Decimal('0'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar

from oms.domain.dataclass_json import from_json, to_json

PARENT_STREAM_PREFIX = "algo-"
PARENT_INDEX_STREAM = "algos-index"
"""A stream of :class:`ParentOpened` pointers, so resume finds every parent without a full scan."""

ACTIVE = ("working", "paused", "completing")
TERMINAL = ("done", "canceled", "failed")


def parent_stream(parent_id: str) -> str:
    """The stream name of a parent order: ``algo-<parent id>``."""
    return PARENT_STREAM_PREFIX + parent_id


@dataclass(frozen=True, slots=True)
class ParentSpec:
    """What the parent must do. ``kind`` is ``twap`` or ``iceberg``; ``side`` ``buy``/``sell``.

    TWAP: ``slices`` children spread evenly over [``start_ns``, ``end_ns``], each an IOC at the
    limit ``price``. Iceberg: one resting child at a time of at most ``display`` (``start_ns`` =
    ``end_ns`` = no deadline). ``lot`` is the amount step; ``min_child`` the smallest child.
    """

    kind: str
    pair: str
    side: str
    amount: Decimal
    price: Decimal
    start_ns: int
    end_ns: int
    slices: int
    display: Decimal
    lot: Decimal
    min_child: Decimal


@dataclass(frozen=True, slots=True)
class ParentCreated:
    """The parent exists (status ``working``); nothing has been sent yet."""

    TYPE: ClassVar[str] = "ParentCreated"
    parent_id: str
    spec: ParentSpec
    at_ns: int


@dataclass(frozen=True, slots=True)
class SliceReleased:
    """Slice ``index`` is released as child ``child_id`` of ``amount`` (before it exists)."""

    TYPE: ClassVar[str] = "SliceReleased"
    parent_id: str
    index: int
    child_id: str
    amount: Decimal
    at_ns: int


@dataclass(frozen=True, slots=True)
class ChildProgress:
    """A child's cumulative fill and whether it is finished (``state`` as the order has it, or
    ``never_sent`` for a released child the journal never held)."""

    TYPE: ClassVar[str] = "ChildProgress"
    parent_id: str
    child_id: str
    filled: Decimal
    terminal: bool
    state: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class ParentControl:
    """An operator command: ``pause``, ``resume`` or ``cancel``."""

    TYPE: ClassVar[str] = "ParentControl"
    parent_id: str
    action: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class ParentAmended:
    """An operator amend: ``spec`` replaces the parent's spec (amount, price, end, display).

    The working child is marked stale (canceled, then replaced under the new spec) when it no
    longer fits: another price, a rest past the new amount, or more shown than the new display.
    """

    TYPE: ClassVar[str] = "ParentAmended"
    parent_id: str
    spec: ParentSpec
    at_ns: int


@dataclass(frozen=True, slots=True)
class ParentAnomaly:
    """Something the parent cannot undo, recorded not hidden: e.g. a late fill on a child already
    canceled pushed the executed amount past the parent's amount (an overshoot)."""

    TYPE: ClassVar[str] = "ParentAnomaly"
    parent_id: str
    kind: str
    detail: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class ParentFinished:
    """The parent is over: ``status`` ``done``, ``canceled`` or ``failed``; ``reason`` says why."""

    TYPE: ClassVar[str] = "ParentFinished"
    parent_id: str
    status: str
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class ParentOpened:
    """Index entry: a parent stream exists (written to :data:`PARENT_INDEX_STREAM`)."""

    TYPE: ClassVar[str] = "ParentOpened"
    parent_id: str
    at_ns: int


ParentEvent = (
    ParentCreated | SliceReleased | ChildProgress | ParentControl | ParentAmended | ParentAnomaly
    | ParentFinished
)


@dataclass(frozen=True, slots=True)
class Child:
    """One released slice as the parent knows it."""

    index: int
    child_id: str
    amount: Decimal
    filled: Decimal = Decimal(0)
    terminal: bool = False
    state: str = "released"
    stale: bool = False  # an amend made it unfit: cancel it, then release under the new spec


@dataclass(frozen=True, slots=True)
class ParentState:
    """The fold of a parent's events. ``children`` are in release order."""

    parent_id: str
    spec: ParentSpec
    status: str = "working"
    children: tuple[Child, ...] = ()
    reason: str = ""
    cancel_requested: bool = False
    version: int = 0  # events folded (the stream's next expected version is version - 1)
    refusals: int = 0
    anomalies: tuple[str, ...] = ()

    @property
    def executed(self) -> Decimal:
        """Sum of the children's fills."""
        return sum((c.filled for c in self.children), Decimal(0))

    @property
    def working(self) -> Child | None:
        """The child not yet finished, if any (the algorithms keep at most one)."""
        return next((c for c in self.children if not c.terminal), None)

    @property
    def exposed(self) -> Decimal:
        """Executed plus what the working child can still fill: never above the parent's amount."""
        w = self.working
        return self.executed + (w.amount - w.filled if w is not None else Decimal(0))

    @property
    def next_index(self) -> int:
        """The index the next released slice gets."""
        return len(self.children)


def evolve(state: ParentState | None, event: ParentEvent) -> ParentState | None:
    """Fold one event. Total: an event that does not fit the state leaves it unchanged."""
    if isinstance(event, ParentCreated):
        return ParentState(event.parent_id, event.spec, version=1) if state is None else state
    if state is None:
        return None
    bumped = replace(state, version=state.version + 1)
    if isinstance(event, SliceReleased):
        if any(c.child_id == event.child_id for c in state.children):
            return bumped
        child = Child(event.index, event.child_id, event.amount)
        return replace(bumped, children=(*state.children, child))
    if isinstance(event, ChildProgress):
        children = tuple(
            replace(
                c,
                filled=max(c.filled, event.filled),
                terminal=c.terminal or event.terminal,
                state=event.state,
            )
            if c.child_id == event.child_id
            else c
            for c in state.children
        )
        refused = event.terminal and event.filled == 0 and event.state == "failed"
        return replace(bumped, children=children, refusals=state.refusals + refused)
    if isinstance(event, ParentControl):
        if state.status in TERMINAL:
            return bumped
        if event.action == "cancel":
            return replace(bumped, cancel_requested=True, status="completing")
        if event.action == "pause" and state.status == "working":
            return replace(bumped, status="paused")
        if event.action == "resume" and state.status == "paused":
            return replace(bumped, status="working")
        return bumped
    if isinstance(event, ParentAmended):
        if state.status in TERMINAL or state.cancel_requested:
            return bumped
        return _amended(replace(bumped, spec=event.spec), state.spec)
    if isinstance(event, ParentAnomaly):
        return replace(bumped, anomalies=(*state.anomalies, f"{event.kind}: {event.detail}"))
    if isinstance(event, ParentFinished):
        return replace(bumped, status=event.status, reason=event.reason)
    return bumped


def child_unfit(state: ParentState, child: Child, old: ParentSpec) -> bool:
    """Whether ``child`` (working) no longer fits ``state.spec`` after an amend from ``old``."""
    spec = state.spec
    rest = child.amount - child.filled
    return (
        spec.price != old.price
        or state.executed + rest > spec.amount
        or (spec.kind == "iceberg" and rest > spec.display)
    )


def _amended(state: ParentState, old: ParentSpec) -> ParentState:
    working = state.working
    if working is None or working.stale or not child_unfit(state, working, old):
        return state
    children = tuple(
        replace(c, stale=True) if c.child_id == working.child_id else c for c in state.children
    )
    return replace(state, children=children)


def fold(events: Iterable[ParentEvent]) -> ParentState | None:
    """The state after ``events`` (None before a :class:`ParentCreated`)."""
    state: ParentState | None = None
    for event in events:
        state = evolve(state, event)
    return state


_CLASSES: Mapping[str, type[Any]] = {
    c.TYPE: c
    for c in (ParentCreated, SliceReleased, ChildProgress, ParentControl, ParentAmended,
              ParentAnomaly, ParentFinished, ParentOpened)
}  # fmt: skip
class ParentDecodeError(ValueError):
    """A parent stream holds a payload this code cannot read (upgrade before resuming)."""


def encode_parent(event: ParentEvent | ParentOpened) -> tuple[str, dict[str, Any]]:
    """``(type, JSON-ready data)``: decimals as strings, so nothing is lost to floats."""
    return event.TYPE, to_json(event)


def decode_parent(type_: str, data: Mapping[str, Any]) -> ParentEvent | ParentOpened:
    """The inverse of :func:`encode_parent`; raises :class:`ParentDecodeError` on bad input."""
    cls = _CLASSES.get(type_)
    if cls is None:
        raise ParentDecodeError(f"unknown parent event type {type_!r}: upgrade this program")
    try:
        event: ParentEvent | ParentOpened = from_json(cls, data)
    except (TypeError, ArithmeticError, ValueError) as exc:
        raise ParentDecodeError(f"malformed {type_} payload: {exc}") from exc
    return event
