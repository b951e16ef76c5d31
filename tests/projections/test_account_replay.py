"""Property test: any sequence of our fills, outside fills, funding and corrections, appended to a
real SQLite journal, folds to the same account live (``Projector.apply`` per recorded event), on a
replay from zero (the ``RowFolder`` fast path), from a snapshot, and in the SQL read model."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import ANY, EventStore, NewEvent
from oms.domain.account_events import (
    AccountCorrected,
    FundingPaid,
    OutsideFill,
    account_stream,
)
from oms.domain.codec import encode
from oms.domain.enums import OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.events import OrderAccepted, OrderCreated, OrderFilled, OrderSubmitted
from oms.domain.ids import ClientOrderId, order_stream
from projections import Projector, ReadModelProjection, load_state, save_snapshot
from projections.account_read_model import read_account

D = Decimal
STREAM = account_stream("hyperliquid", "0xabc")
step = st.tuples(
    st.sampled_from(("own", "outside", "funding", "correct", "repeat")),
    st.sampled_from(("ETH", "SOL")),
    st.sampled_from((TradeSide.BUY, TradeSide.SELL)),
    st.integers(1, 30).map(lambda n: D(n) / 10),
    st.integers(90, 110).map(D),
)


def _order(i: int, pair: str, side: TradeSide, sz: Decimal, px: Decimal) -> list[Any]:
    cid = ClientOrderId(f"{i + 1:032x}")
    return [
        OrderCreated(cid, pair, side, OrderType.LIMIT, sz, px, TimeInForce.GTC, False,
                     PositionAction.OPEN, None, i, "hyperliquid", "0xabc"),
        OrderSubmitted(cid, 1, i + 5000, i),
        OrderAccepted(cid, str(1000 + i), i),
        OrderFilled(cid, f"t{i}", px, sz, D("0.01"), "USDC", True, i, str(1000 + i)),
    ]


async def _run(steps: list[tuple[str, str, TradeSide, Decimal, Decimal]], path: Path) -> None:
    store = await EventStore.open(f"sqlite+aiosqlite:///{path}")
    live = Projector()
    last_account_event: Any = None
    try:
        for i, (kind, pair, side, sz, px) in enumerate(steps):
            if kind == "own":
                stream, events = order_stream(ClientOrderId(f"{i + 1:032x}")), _order(
                    i, pair, side, sz, px)
            else:
                stream = STREAM
                if kind == "outside":
                    event: Any = OutsideFill(f"fill:{i}:7", pair, side, px, sz, D("0.02"), "USDC",
                                             str(i), "7", "liquidation", "market", px, None, i)
                elif kind == "funding":
                    event = FundingPaid(f"funding:{pair}:{i}", pair, -sz / 100, sz, D("1e-4"), i)
                elif kind == "correct":
                    event = AccountCorrected(f"size:{pair}", D(0), sz, px, "test", i)
                else:
                    event = last_account_event
                    if event is None:
                        continue
                events = [event]
                last_account_event = event
            result = await store.append(
                stream, [NewEvent(type=t, data=d, version=v) for t, d, v in map(encode, events)],
                expected_version=ANY)
            for recorded in result.events:
                live.apply(recorded)
        replayed = await load_state(store, use_checkpoint=False)
        assert replayed.projector.account.as_dict() == live.account.as_dict()
        assert replayed.projector.account.seen == live.account.seen
        # The SQL read model, folded in small checkpointed batches, holds the same account.
        await ReadModelProjection(store, batch_size=3).catch_up()
        async with store.engine.connect() as conn:
            in_sql = await read_account(conn, STREAM)
        if live.account.events_applied:
            assert in_sql is not None
            assert in_sql.as_dict() == live.account.as_dict() and in_sql.seen == live.account.seen
        await save_snapshot(store, replayed.projector)
        from_snapshot = await load_state(store)
        assert from_snapshot.from_snapshot
        assert from_snapshot.projector.account == replayed.projector.account
        # Our own fills moved the account exactly as they moved the positions book.
        for position in live.positions:
            own = sum(
                (s[3] if s[2] is TradeSide.BUY else -s[3]) for s in steps
                if s[0] == "own" and s[1] == position.pair)
            assert position.net_size == own
    finally:
        await store.close()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_account_live_equals_replay_and_snapshot(steps: list[Any], tmp_path: Path) -> None:
    path = tmp_path / f"acct-{abs(hash(tuple(map(str, steps))))}.db"
    asyncio.run(_run(steps, path))
