"""The replay fast path (raw rows → ``RowFolder``) equals ``Projector.apply`` and pure ``evolve``.

Random interleaved event sequences of a few orders are encoded as journal rows (current and old
schema versions, foreign streams, payloads naming another order) and folded three ways: the fast
path in random batch splits, the live path (one ``RecordedEvent`` at a time), and ``evolve`` per
order. Every observable of the projector must agree, also when a row makes the fold raise.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kit.orders import (  # the shared builders (tests/kit)
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

from eventstore import RawRow, RecordedEvent
from oms.domain import (
    ClientOrderId,
    InFlightOrder,
    MalformedEvent,
    OrderEvent,
    TradeSide,
    UnknownEventType,
    UnsupportedEventVersion,
    decode,
    encode,
    evolve,
)
from projections import Projector
from projections.row_fold import RowFolder

CIDS = [ClientOrderId(f"{i:032x}") for i in (1, 2, 3)]

EVENTS = st.one_of(
    st.sampled_from(["0.5", "1"]).flatmap(
        lambda amount: st.sampled_from(list(TradeSide)).map(lambda side: created(amount, side))
    ),
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

# How a row is written: as this code writes it, as old code wrote it (v1, upcast on read),
# in another part of the system's stream, or in one order's stream naming another order.
SHAPES = st.sampled_from(["current"] * 8 + ["old", "foreign", "mismatch"])


def to_row(position: int, cid: str, event: OrderEvent, shape: str) -> RawRow:
    type_, data, version = encode(dataclasses.replace(event, client_order_id=ClientOrderId(cid)))
    stream = f"order-{cid}"
    if shape == "old" and type_ == "OrderCreated":
        data, version = {k: v for k, v in data.items() if k not in ("venue", "account")}, 1
    elif shape == "old" and type_ == "OrderFilled":
        drop = ("fee_asset", "exchange_order_id", "closed_pnl")
        data, version = {k: v for k, v in data.items() if k not in drop}, 1
    elif shape == "foreign":
        stream = f"audit-{cid}"
    elif shape == "mismatch":
        stream = f"order-{CIDS[(CIDS.index(ClientOrderId(cid)) + 1) % len(CIDS)]}"
    return position, stream, type_, version, orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def recorded(row: RawRow) -> RecordedEvent:
    position, stream, type_, version, raw = row
    return RecordedEvent(
        stream_id=stream, version=0, position=position, type=type_, data=orjson.loads(raw),
        event_version=version,
    )


def observe(p: Projector) -> dict[str, Any]:
    """Everything a caller can see of a projector (records in the tracker's own order)."""
    t = p.tracker
    return {
        "active": [(r.client_order_id, r.freeze()) for r in t._active.values()],
        "completed": [(c, r.freeze()) for c, r in t._completed.items()],
        "lost": sorted(t._lost),
        "by_exchange_id": dict(t._by_exchange_id),
        "notes": list(t.notes),
        "last_position": t.last_position,
        "events_applied": p.events_applied,
        "foreign_events": p.foreign_events,
        "positions": {pos.pair: pos for pos in p.positions},
        "types": {c: type(c).__name__ for c in [*t._active, *t._completed]},
    }


def fold_both(rows: Sequence[RawRow], cuts: Sequence[int], capacity: int) -> tuple[Any, Any]:
    """Fold ``rows`` fast (split at ``cuts``) and live: each side's state and error (or None)."""
    fast, live = Projector(completed_capacity=capacity), Projector(completed_capacity=capacity)
    folder = RowFolder(fast)
    fast_error = live_error = None
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(rows)), len(rows)]
    try:
        for lo, hi in itertools.pairwise(bounds):
            folder.fold(rows[lo:hi])
    except Exception as exc:
        fast_error = (type(exc), str(exc))
    try:
        for row in rows:
            live.apply(recorded(row))
    except Exception as exc:
        live_error = (type(exc), str(exc))
    return (observe(fast), fast_error), (observe(live), live_error)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(CIDS), EVENTS, SHAPES), max_size=40),
    st.lists(st.integers(0, 40), max_size=4),
    st.sampled_from([1, 2, 50]),
)
def test_fast_fold_equals_live_apply_and_evolve(
    script: list[tuple[str, OrderEvent, str]], cuts: list[int], capacity: int
) -> None:
    rows = [to_row(i + 1, cid, ev, shape) for i, (cid, ev, shape) in enumerate(script)]
    fast, live = fold_both(rows, cuts, capacity)
    assert fast == live
    # And the records are the pure fold of each order's own (well-addressed) events.
    state, error = fast
    assert error is None
    if capacity < len(CIDS):
        return  # an evicted order may come back as a new record: no longer one pure fold
    held = dict(state["active"] + state["completed"])
    for cid in CIDS:
        pure: InFlightOrder | None = None
        for (c, _, shape), (_, _, type_, version, raw) in zip(script, rows, strict=True):
            if c == cid and shape in ("current", "old"):  # as read back: old rows upcast
                pure = evolve(pure, decode(type_, orjson.loads(raw), version))
        if cid in held:
            assert held[cid] == pure


def test_created_rows_make_client_order_ids() -> None:
    cid = CIDS[0]
    folder = RowFolder(Projector())
    folder.fold([to_row(1, cid, created(), "current")])
    record = folder.projector.tracker._active[cid]
    assert type(record.client_order_id) is ClientOrderId
    pure = evolve(None, dataclasses.replace(created(), client_order_id=cid))
    assert folder.projector.tracker.get(cid) == pure


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ((3, f"order-{CIDS[0]}", "OrderExploded", 1, b"{}"), UnknownEventType),
        ((3, f"order-{CIDS[0]}", "OrderFilled", 4, b"{}"), UnsupportedEventVersion),
        ((3, f"order-{CIDS[0]}", "OrderAccepted", 1, b'{"client_order_id": "x"}'), MalformedEvent),
        ((3, f"order-{CIDS[0]}", "OrderAccepted", 1, b"[1, 2]"), MalformedEvent),
        ((3, f"order-{CIDS[0]}", "OrderCanceled", 1, b"not json"), orjson.JSONDecodeError),
    ],
)
def test_bad_rows_raise_like_the_live_path(row: RawRow, error: type[Exception]) -> None:
    good = [to_row(1, CIDS[0], created(), "current"), to_row(2, CIDS[0], submitted(), "current")]
    fast, live = fold_both([*good, row, to_row(4, CIDS[0], canceled(), "current")], [], 50)
    assert fast == live
    assert fast[1] is not None and issubclass(fast[1][0], error)
    assert fast[0]["last_position"] == 2 and fast[0]["events_applied"] == 2


@pytest.mark.parametrize(
    "patch",
    [
        {"amount": "abc"},  # not a decimal
        {"side": "up"},  # not a side
        {"pair": 7},  # not a string: the live path's behaviour, whatever it is
        {"price": None},  # a market order: fine
    ],
)
def test_odd_created_payloads_behave_like_the_live_path(patch: dict[str, Any]) -> None:
    _, data, version = encode(dataclasses.replace(created(), client_order_id=CIDS[0]))
    row = (1, f"order-{CIDS[0]}", "OrderCreated", version, orjson.dumps({**data, **patch}))
    fast, live = fold_both([row, to_row(2, CIDS[0], submitted(), "current")], [], 50)
    assert fast == live


@pytest.mark.parametrize("missing", ["sent_at_ns", "attempt", "client_order_id"])
def test_a_missing_field_is_malformed_on_the_fast_path_too(missing: str) -> None:
    _, data, version = encode(dataclasses.replace(submitted(), client_order_id=CIDS[0]))
    del data[missing]
    row = (2, f"order-{CIDS[0]}", "OrderSubmitted", version, orjson.dumps(data))
    fast, live = fold_both([to_row(1, CIDS[0], created(), "current"), row], [], 50)
    assert fast == live
    assert fast[1] is not None and fast[1][0] is MalformedEvent
