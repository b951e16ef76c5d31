"""The fold's result never depends on the tracker's capacity (issue 12, defect 2).

A journal where orders complete, are evicted by a small capacity and then receive late events
(a fill after the cancel, a duplicate of a fill already applied, an anomaly) must replay to the
same positions and the same orders with capacity 1 as with the default 50,000.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journal_harness import Harness, order_created

from eventstore import EventStore
from oms.domain import (
    CancelRequested,
    ClientOrderId,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderSubmitted,
)
from projections import load_state

# One step of the script: (kind, order index, amount index, trade index)
STEP = st.tuples(
    st.sampled_from(["fill", "cancel", "late_fill", "dup_fill", "new"]),
    st.integers(0, 7),
    st.integers(0, 3),
    st.integers(0, 40),
)
AMOUNTS = [Decimal("0.1"), Decimal("0.2"), Decimal("0.25"), Decimal("0.5")]


async def _build(store: EventStore, script: list[tuple[str, int, int, int]]) -> None:
    """Write a journal of orders that complete and then see late events, as the engine would."""
    h = Harness(store)
    cids: list[ClientOrderId] = []
    trade = 0

    async def new() -> None:
        cid = ClientOrderId(f"{len(cids) + 1:032x}")
        cids.append(cid)
        await h.submit(order_created(cid, amount="1", pair="ETH" if len(cids) % 2 else "BTC"))
        await h.submit(OrderSubmitted(cid, 1, 5_000, 1))
        await h.submit(OrderAccepted(cid, f"oid-{len(cids)}", 2))

    for _ in range(3):
        await new()
    for kind, index, amount_index, trade_ref in script:
        if kind == "new":
            await new()
            continue
        cid = cids[index % len(cids)]
        amount = AMOUNTS[amount_index]
        if kind in ("fill", "late_fill"):
            trade += 1
            price = Decimal(3000 + trade)
            await h.submit(OrderFilled(cid, f"t{trade}", price, amount, Decimal("0.01"), "USDC",
                                       False, 1_000 + trade, None))
        elif kind == "dup_fill" and trade:
            ref = 1 + trade_ref % trade  # a trade id already used: ignored wherever it lands
            await h.submit(OrderFilled(cid, f"t{ref}", Decimal(3000), amount, Decimal(0),
                                       "USDC", False, 1_000, None))
        elif kind == "cancel":
            await h.submit(CancelRequested(cid, 1, 9_000, 3))
            await h.submit(OrderCanceled(cid, "user", 4))


async def _check(script: list[tuple[str, int, int, int]]) -> None:
    folder = tempfile.mkdtemp(prefix="oms-cap-")
    try:
        store = await EventStore.open(f"sqlite+aiosqlite:///{Path(folder) / 'oms.db'}")
        try:
            await _build(store, script)
            full = await load_state(store, use_checkpoint=False)
            for capacity in (1, 2, 3):
                small = await load_state(store, use_checkpoint=False, completed_capacity=capacity)
                assert small.positions.as_dict() == full.positions.as_dict(), capacity
                assert not [n for n in small.tracker.notes if n.kind == "orphan_stream"]
                for record in small.tracker.records():
                    cid = record.client_order_id
                    assert full.tracker.get(cid) == small.tracker.get(cid), (capacity, cid)
        finally:
            await store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=5, max_size=40))
def test_replay_is_the_same_for_every_capacity(script: list[tuple[str, int, int, int]]) -> None:
    asyncio.run(_check(script))


def test_late_fill_of_an_evicted_order_is_applied() -> None:
    """The case the crash torture found: cancel, eviction by later completions, late fill."""
    script = [
        ("cancel", 0, 0, 0),  # order 1 canceled...
        ("cancel", 1, 0, 0),  # ...then two more complete: with capacity 1 order 1 is evicted
        ("cancel", 2, 0, 0),
        ("late_fill", 0, 2, 0),  # a late fill of order 1 after its cancel
        ("dup_fill", 0, 1, 0),  # and a second report of the same trade
    ]
    asyncio.run(_check(script))
