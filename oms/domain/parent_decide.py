"""The execution algorithms as one pure decider: ``decide(parent state, clock) -> next step``.

The children's results are already in the state (``ChildProgress`` events). The decision is one of:
release a slice, cancel the working child, finish the parent, or wait. Nothing here does I/O or
reads a clock; the engine (``oms.algos``) journals what it returns, then acts on it.

Invariants (property-tested in ``tests/domain/test_parent_properties.py``):

- ``exposed`` (executed + the working child's unfilled rest) never exceeds the parent's amount
  when a child is released, so the children can never execute more than the parent (only a fill
  racing the cancel of a child an amend cut short, or a late fill, can: then ``failed`` says
  ``overshoot``);
- at most one child works at a time and a slice index is released at most once;
- after an amend (``ParentAmended``) a working child that no longer fits is canceled before
  anything else is released, and every later child is sized under the amended spec;
- a TWAP finishes by its deadline: after ``end_ns`` nothing new is released, the working child is
  canceled, and the parent ends ``done`` (exact total) or ``failed`` saying what was refused.

>>> from decimal import Decimal
>>> from oms.domain.parent import ParentCreated, ParentSpec, fold
>>> spec = ParentSpec("twap", "ETH", "buy", Decimal("1"), Decimal("3000"), 0, 10, 2,
...                   Decimal("1"), Decimal("0.01"), Decimal("0.01"))
>>> decide(fold([ParentCreated("p", spec, 0)]), 0)
Release(index=0, amount=Decimal('0.50'))
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from oms.domain.parent import TERMINAL, ParentState


@dataclass(frozen=True, slots=True)
class Release:
    """Release slice ``index`` as a new child of ``amount``."""

    index: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CancelChild:
    """Cancel the working child (deadline, pause or parent cancel)."""

    child_id: str


@dataclass(frozen=True, slots=True)
class Finish:
    """End the parent with ``status`` (``done``/``canceled``/``failed``) and ``reason``."""

    status: str
    reason: str


Decision = Release | CancelChild | Finish | None


def _lots(amount: Decimal, lot: Decimal) -> Decimal:
    return ((amount / lot).to_integral_value(rounding=ROUND_DOWN) * lot).quantize(lot)


def due_slices(state: ParentState, now_ns: int) -> int:
    """How many of a TWAP's slices are due at ``now_ns`` (the first one at its start)."""
    spec = state.spec
    if now_ns >= spec.end_ns or spec.slices <= 1:
        return spec.slices
    interval = (spec.end_ns - spec.start_ns) / spec.slices
    return min(spec.slices, int(max(0, now_ns - spec.start_ns) // interval) + 1)


def twap_target(state: ParentState, now_ns: int) -> Decimal:
    """How much a TWAP should have executed by ``now_ns`` (whole lots; all of it at the end)."""
    due = due_slices(state, now_ns)
    if due >= state.spec.slices:
        return state.spec.amount
    return _lots(state.spec.amount * due / state.spec.slices, state.spec.lot)


def decide(state: ParentState | None, now_ns: int) -> Decision:
    """The next step of the parent at time ``now_ns`` (None: nothing to do now)."""
    if state is None or state.status in TERMINAL:
        return None
    spec = state.spec
    remaining = spec.amount - state.executed
    working = state.working
    deadline = spec.kind == "twap" and now_ns >= spec.end_ns
    if state.cancel_requested or state.status == "paused" or deadline:
        if working is not None:
            return CancelChild(working.child_id)
        if state.cancel_requested:
            return Finish("canceled", f"canceled by request with {state.executed} executed")
        if state.status == "paused":
            return None
    if working is not None:
        return CancelChild(working.child_id) if working.stale else None
    if remaining == 0:
        return Finish("done", f"executed {state.executed} of {spec.amount}")
    if remaining < 0:  # a late fill on a child already canceled (or one an amend cut short)
        return Finish("failed", f"overshoot: executed {state.executed} of {spec.amount}, "
                                f"{-remaining} too much (see the parent's anomalies)")
    if deadline:
        return Finish("failed", _shortfall(state, "deadline reached"))
    if spec.kind == "iceberg":
        amount = min(spec.display, remaining)
    elif len(state.children) >= due_slices(state, now_ns):
        return None  # one child per due slice: a refused slice waits for the next one
    else:
        amount = min(twap_target(state, now_ns) - state.executed, remaining)
        if amount < spec.min_child and remaining > amount:
            return None  # too little due yet: wait for the schedule to accumulate a sendable child
    amount = _lots(amount, spec.lot)
    if amount < spec.min_child:
        if spec.kind == "iceberg" or now_ns >= spec.end_ns:
            return Finish(
                "failed", _shortfall(state, f"rest {remaining} is below the minimum order")
            )
        return None
    if spec.kind == "iceberg" and state.refusals >= 3:
        return Finish("failed", _shortfall(state, "the exchange refused 3 children"))
    return Release(state.next_index, amount)


def _shortfall(state: ParentState, why: str) -> str:
    refused = f"; {state.refusals} children refused by the market" if state.refusals else ""
    return f"{why}: executed {state.executed} of {state.spec.amount}{refused}"
