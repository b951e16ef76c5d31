"""The in-place replay fold (``step``) and the pure ``evolve`` agree on any event sequence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from kit.orders import (
    accepted,
    anomaly,
    cancel_rejected,
    cancel_requested,
    canceled,
    created,
    filled,
    not_found,
    rejected,
    submitted,
    unknown,
)

from oms.domain import InFlightOrder, OrderEvent, OrderRecord, decide, evolve, step

EVENTS = st.one_of(
    st.just(created()),
    st.integers(1, 3).map(submitted),
    st.sampled_from(["E1", "E2"]).map(accepted),
    st.just(rejected()),
    st.builds(
        filled, st.sampled_from(["T1", "T2", "T3", "T4"]), st.sampled_from(["0.1", "0.3", "0.6"])
    ),
    st.integers(1, 2).map(cancel_requested),
    st.just(canceled()),
    st.just(cancel_rejected()),
    st.just(unknown()),
    st.just(not_found()),
    st.just(anomaly()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, max_size=25))
def test_step_equals_evolve(events: list[OrderEvent]) -> None:
    pure: InFlightOrder | None = None
    fast: OrderRecord | None = None
    for event in events:
        before = pure
        pure = evolve(pure, event)
        fast = step(fast, event)
        assert (None if fast is None else fast.freeze()) == pure
        # decide agrees with evolve: appended iff it changes the order (or counts an anomaly)
        out = decide(before, event)
        if out == (event,):
            assert pure is not None or before is None
        else:
            assert pure == before
        if pure is not None:
            assert pure.executed_base <= pure.amount
