"""Property tests of the execution-algorithm decider against an independent model of the market.

For any interleaving of clock ticks, fills, rejects, IOC remainders and operator commands: the
children never expose more than the parent's amount, the executed amount equals what the market
filled, a slice index is released at most once, one child works at a time, and a TWAP finishes by
its deadline (``done`` with the exact total, or ``failed`` saying what was missing).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.parent import (
    ChildProgress,
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
        assert s.exposed <= self.spec.amount
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
                self.released_indexes.append(d.index)
                self.market_fills[cid] = Decimal(0)
                self.apply(SliceReleased("p", d.index, cid, d.amount, self.now))
            elif isinstance(d, CancelChild):
                self.settle("canceled")
            elif isinstance(d, Finish):
                self.finished_at = self.now
                self.apply(ParentFinished("p", d.status, d.reason, self.now))
                return
            else:
                return

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
