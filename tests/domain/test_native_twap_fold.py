"""The native TWAP parent's fold: slice fills applied once whatever the order and repetition in
which a live poll and a restart's reconciliation deliver them; journal round trip exact."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from oms.domain.native_twap import (
    NativeEvent,
    NativeSliceFilled,
    NativeTwapLinked,
    NativeTwapRequested,
    decode_native,
    encode_native,
    fold_native,
)
from oms.domain.parent import ParentControl, ParentCreated, ParentFinished, ParentSpec

D = Decimal
SPEC = ParentSpec("native_twap", "ETH", "buy", D("1"), D("3000"), 0, 300 * 10**9, 11, D("1"),
                  D("0.0001"), D("0.0001"))  # fmt: skip
HEAD: list[NativeEvent] = [ParentCreated("p", SPEC, 0),
                           NativeTwapRequested("p", 5, True, False, 10_000, 0)]  # fmt: skip


def _fill(tid: int, sz: str) -> NativeSliceFilled:
    return NativeSliceFilled("p", f"{tid}:{1000 + tid}", str(tid), str(1000 + tid), D(sz),
                             D("3000.5"), D("0.01"), tid, tid)  # fmt: skip


fills = st.lists(st.tuples(st.integers(1, 40), st.sampled_from(["0.01", "0.02", "0.0153"])),
                 max_size=30, unique_by=lambda t: t[0])  # fmt: skip


@given(fills, st.lists(st.integers(0, 100), max_size=60), st.randoms())
def test_each_slice_fill_counts_once_in_any_delivery(
    unique: list[tuple[int, str]], repeats: list[int], rnd: object
) -> None:
    events = [_fill(tid, sz) for tid, sz in unique]
    delivered = events + [events[i % len(events)] for i in repeats] if events else []
    rnd.shuffle(delivered)  # type: ignore[attr-defined]
    state = fold_native([*HEAD, NativeTwapLinked("p", "7", "history", 1), *delivered])
    assert state is not None
    assert state.executed == sum((D(sz) for _, sz in unique), D(0))
    assert sorted(f.key for f in state.fills) == sorted(e.key for e in events)
    assert state.as_parent().executed == state.executed
    assert len(state.as_parent().children) == len(events)


def test_the_first_link_wins_and_terminal_states_ignore_a_late_cancel() -> None:
    state = fold_native([*HEAD, NativeTwapLinked("p", "7", "reply", 1),
                         NativeTwapLinked("p", "8", "history", 2),
                         ParentFinished("p", "done", "executed 1 of 1", 3),
                         ParentControl("p", "cancel", 4)])  # fmt: skip
    assert state is not None
    assert (state.twap_id, state.status, state.cancel_requested) == ("7", "done", False)


def test_every_event_survives_the_journal_round_trip() -> None:
    events: list[NativeEvent] = [*HEAD, NativeTwapLinked("p", "7", "reply", 1), _fill(3, "0.0153"),
                                 ParentControl("p", "cancel", 2),
                                 ParentFinished("p", "canceled", "x", 3)]  # fmt: skip
    for event in events:
        assert decode_native(*encode_native(event)) == event
