"""Property tests of the execution-algorithm decider against an independent model of the market.

For any interleaving of clock ticks, fills, rejects, IOC remainders and operator commands
(pause, resume, cancel, amend): the children never expose more than the parent's amount when one
is released, the executed amount equals what the market filled, a slice index is released at most
once, one child works at a time, a child an amend made unfit is canceled before anything else is
released, and a TWAP finishes by its (amended) deadline (``done`` with the exact total, or
``failed`` saying what was missing). The only way past the amount is a fill racing the cancel of a
child an amend cut short, and then the parent ends ``failed`` saying ``overshoot``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.parent import (
    ChildProgress,
    ParentAmended,
    ParentControl,
    ParentCreated,
    ParentEvent,
    ParentFinished,
    ParentSpec,
    ParentState,
    SliceReleased,
    decode_parent,
    encode_parent,
    evolve,
    fold,
)
from oms.domain.parent_decide import CancelChild, Finish, Release, decide

LOT = Decimal("0.01")
END = 1_000


@st.composite
def specs(draw: st.DrawFn) -> ParentSpec:
    kind = draw(st.sampled_from(["twap", "iceberg"]))
    lots = draw(st.integers(1, 400))
    slices = draw(st.integers(1, 12))
    display = LOT * draw(st.integers(1, 50))
    return ParentSpec(kind, "ETH", "buy", LOT * lots, Decimal("100"), 0,
                      END if kind == "twap" else 0, slices, display, LOT, LOT)  # fmt: skip


# What the market does to the working child, or what the clock/operator does.
actions = st.one_of(
    st.tuples(st.just("tick"), st.integers(1, 300)),
    st.tuples(st.just("fill"), st.integers(1, 100)),  # percent of the child's rest
    st.tuples(st.just("reject"), st.just(0)),
    st.tuples(st.just("ioc_rest"), st.just(0)),  # the rest of an IOC is canceled by the exchange
    st.tuples(st.sampled_from(["pause", "resume", "cancel"]), st.just(0)),
    st.tuples(st.sampled_from(["amend_amount", "amend_price", "amend_display", "amend_end"]),
              st.integers(0, 400)),
)


class Run:
    """Drives the decider like the engine does, with an independent ledger of the market's fills."""

    def __init__(self, spec: ParentSpec) -> None:
        self.spec = spec
        self.now = 0
        self.events: list[ParentEvent] = [ParentCreated("p", spec, 0)]
        self.state: ParentState | None = fold(self.events)
        self.market_fills: dict[str, Decimal] = {}
        self.released_indexes: list[int] = []
        self.finished_at: int | None = None
        self.child_price: dict[str, Decimal] = {}
        self.ever_stale: set[str] = set()

    def apply(self, event: ParentEvent) -> None:
        # every event survives the journal's JSON round trip unchanged
        assert decode_parent(*encode_parent(event)) == event
        self.events.append(event)
        self.state = evolve(self.state, event)
        assert self.state == fold(self.events)
        self.check()

    def check(self) -> None:
        s = self.state
        assert s is not None
        w = s.working
        if w is not None and w.stale:
            self.ever_stale.add(w.child_id)
        if s.executed > s.spec.amount:  # only a child an amend cut short can get here
            assert self.ever_stale and (s.status in ("completing", "failed") or s.working)
        elif w is None or not w.stale:
            assert s.exposed <= s.spec.amount
        if w is not None and not w.stale:  # a working child always fits the current spec
            assert self.child_price[w.child_id] == s.spec.price
            if s.spec.kind == "iceberg":
                assert w.amount - w.filled <= s.spec.display
        if s.status == "failed" and s.executed > s.spec.amount:
            assert "overshoot" in s.reason
        assert s.executed == sum(self.market_fills.values(), Decimal(0))
        assert sum(1 for c in s.children if not c.terminal) <= 1
        assert len(set(self.released_indexes)) == len(self.released_indexes)
        if self.spec.kind == "twap":  # at most one child per slice: refusals never spin
            assert len(s.children) <= self.spec.slices

    def step_decider(self) -> None:
        for _ in range(5):
            assert self.state is not None
            d = decide(self.state, self.now)
            if isinstance(d, Release):
                cid = f"c{d.index}"
                assert self.state.working is None  # a stale child is gone before a release
                self.released_indexes.append(d.index)
                self.market_fills[cid] = Decimal(0)
                self.child_price[cid] = self.state.spec.price
                self.apply(SliceReleased("p", d.index, cid, d.amount, self.now))
                assert self.state.exposed <= self.state.spec.amount
                if self.state.spec.kind == "iceberg":
                    assert d.amount <= self.state.spec.display
            elif isinstance(d, CancelChild):
                self.settle("canceled")
            elif isinstance(d, Finish):
                self.finished_at = self.now
                self.apply(ParentFinished("p", d.status, d.reason, self.now))
                return
            else:
                return

    def amended(self, kind: str, arg: int) -> ParentSpec | None:
        """A valid amend (as ``oms.algos.amend`` would accept), or None."""
        s = self.state
        assert s is not None
        spec = s.spec
        if s.status not in ("working", "paused") or s.cancel_requested:
            return None
        if kind == "amend_amount":
            amount = max(s.executed, LOT * arg)
            if amount <= 0 or (spec.kind == "iceberg" and spec.display > amount):
                return None
            if spec.kind == "twap" and amount / spec.slices < LOT and amount > s.executed:
                return None
            return replace(spec, amount=amount)
        if kind == "amend_price":
            return replace(spec, price=spec.price + arg % 7 - 3 or spec.price + 1)
        if kind == "amend_display" and spec.kind == "iceberg":
            return replace(spec, display=min(spec.amount, LOT * max(1, arg % 60)))
        if kind == "amend_end" and spec.kind == "twap":
            end = max(self.now + 1, arg * 5)
            return replace(spec, end_ns=end)
        return None

    def settle(self, state: str) -> None:
        assert self.state is not None
        w = self.state.working
        if w is not None:
            self.apply(
                ChildProgress("p", w.child_id, self.market_fills[w.child_id], True, state, self.now)
            )

    def act(self, kind: str, arg: int) -> None:
        assert self.state is not None
        w = self.state.working
        if kind == "tick":
            self.now += arg
        elif kind in ("pause", "resume", "cancel"):
            self.apply(ParentControl("p", kind, self.now))
        elif kind.startswith("amend"):
            spec = self.amended(kind, arg)
            if spec is None:
                return  # the runner refuses such an amend before journaling (amend_spec)
            self.apply(ParentAmended("p", spec, self.now))
        elif w is not None and kind == "fill":
            rest = w.amount - self.market_fills[w.child_id]
            qty = max(LOT, (rest * arg / 100).quantize(LOT))
            qty = min(qty, rest)
            self.market_fills[w.child_id] += qty
            done = self.market_fills[w.child_id] == w.amount
            state = "filled" if done else "partially_filled"
            self.apply(
                ChildProgress("p", w.child_id, self.market_fills[w.child_id], done, state, self.now)
            )
        elif w is not None and kind == "reject" and self.market_fills[w.child_id] == 0:
            self.settle("failed")
        elif w is not None and kind == "ioc_rest":
            self.settle("canceled")
        self.step_decider()


@settings(max_examples=300, deadline=None)
@given(specs(), st.lists(actions, max_size=60))
def test_parent_invariants_hold_for_any_interleaving(
    spec: ParentSpec, script: list[tuple[str, int]]
) -> None:
    run = Run(spec)
    run.step_decider()
    for kind, arg in script:
        if run.finished_at is not None:
            break
        run.act(kind, arg)
    assert run.state is not None
    for c in run.state.children:  # released ids are unique and indexes dense: 0, 1, 2...
        assert c.child_id == f"c{c.index}"
    assert [c.index for c in run.state.children] == list(range(len(run.state.children)))


@settings(max_examples=200, deadline=None)
@given(specs(), st.lists(st.sampled_from(["fill", "reject", "ioc_rest", "tick"]), max_size=40))
def test_twap_finishes_by_its_deadline_and_says_why(spec: ParentSpec, script: list[str]) -> None:
    if spec.kind != "twap":
        return
    run = Run(spec)
    run.step_decider()
    for kind in script:
        run.act(kind, 100 if kind == "fill" else 37)
    # The deadline passes: whatever is working is canceled, the parent finishes at once.
    run.now = max(run.now, END)
    run.step_decider()
    assert run.finished_at is not None and run.finished_at <= max(END, run.now)
    s = run.state
    assert s is not None
    if s.executed == spec.amount:
        assert s.status == "done"
    else:
        assert s.status == "failed" and str(s.executed) in s.reason and "deadline" in s.reason


@settings(max_examples=200, deadline=None)
@given(specs())
def test_a_market_that_fills_everything_completes_the_exact_total(spec: ParentSpec) -> None:
    run = Run(spec)
    run.step_decider()
    for _ in range(10_000):
        if run.finished_at is not None:
            break
        run.act("fill", 100)
        run.act("tick", 50)
    s = run.state
    assert s is not None and s.status == "done" and s.executed == spec.amount
    assert run.finished_at is not None and (spec.kind != "twap" or run.finished_at <= END)


def test_a_slice_is_released_at_most_once_even_if_journaled_twice() -> None:
    spec = ParentSpec("iceberg", "ETH", "buy", Decimal("1"), Decimal("100"), 0, 0, 1,
                      Decimal("0.3"), LOT, LOT)  # fmt: skip
    released = SliceReleased("p", 0, "c0", Decimal("0.3"), 1)
    s = fold([ParentCreated("p", spec, 0), released, released])
    assert s is not None and len(s.children) == 1 and decide(s, 2) is None


@settings(max_examples=200, deadline=None)
@given(specs(), st.lists(actions, max_size=40))
def test_an_amended_twap_still_finishes_by_its_amended_deadline(
    spec: ParentSpec, script: list[tuple[str, int]]
) -> None:
    if spec.kind != "twap":
        return
    run = Run(spec)
    run.step_decider()
    for kind, arg in script:
        if run.finished_at is not None or kind in ("cancel", "pause"):
            continue
        run.act(kind, arg)
    s = run.state
    assert s is not None
    run.now = max(run.now, s.spec.end_ns)  # the end as amended, not the original one
    run.step_decider()
    run.step_decider()  # a stale/working child is canceled first, then the parent finishes
    s = run.state
    assert s is not None and run.finished_at is not None
    if s.executed == s.spec.amount:
        assert s.status == "done"
    elif s.executed > s.spec.amount:
        assert s.status == "failed" and "overshoot" in s.reason
    else:
        assert s.status == "failed" and "deadline" in s.reason, s.reason


def test_an_amend_that_cuts_the_working_child_short_cancels_it_then_resizes() -> None:
    spec = ParentSpec("iceberg", "ETH", "buy", Decimal("1"), Decimal("100"), 0, 0, 1,
                      Decimal("0.5"), LOT, LOT)  # fmt: skip
    s = fold([ParentCreated("p", spec, 0), SliceReleased("p", 0, "c0", Decimal("0.5"), 1),
              ChildProgress("p", "c0", Decimal("0.2"), False, "partially_filled", 2)])  # fmt: skip
    assert s is not None and decide(s, 3) is None
    s = evolve(s, ParentAmended("p", replace(spec, display=Decimal("0.2")), 4))
    assert s is not None and s.working is not None and s.working.stale
    assert decide(s, 5) == CancelChild("c0")
    s = evolve(s, ChildProgress("p", "c0", Decimal("0.2"), True, "canceled", 6))
    assert decide(s, 7) == Release(1, Decimal("0.2"))  # the new display size
    unchanged = evolve(s, ParentAmended("p", replace(spec, amount=Decimal("0.9")), 8))
    assert unchanged is not None and unchanged.working is None  # nothing working to cancel
