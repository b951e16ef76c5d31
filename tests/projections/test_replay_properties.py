"""Stateful property test: random commands and exchange reports through the real event store.

Orders are plain limits, stops and take-profits (some linked to a parent as bracket legs), and
the exchange's trigger reports arrive in any order. After every step: executed never exceeds the
amount; a trigger order's trigger state only moves forward; terminal orders stay terminal (bar a
late fill completing a canceled order); replay from position 1, replay from the latest snapshot, the
pure ``evolve`` fold, the as-of view and the SQL read models all equal the live state; positions
equal the sum of applied fills.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from journal_harness import Harness, order_created

from eventstore import EventStore
from oms.domain import (
    CancelRejected,
    CancelRequested,
    ClientOrderId,
    InFlightOrder,
    OrderAccepted,
    OrderAnomaly,
    OrderCanceled,
    OrderFilled,
    OrderNotFound,
    OrderRejected,
    OrderState,
    OrderStatusUnknown,
    OrderSubmitted,
    OrderType,
    TradeSide,
    TriggerState,
    TriggerStateChanged,
    decode,
    evolve,
)
from projections import ReadModelProjection, load_state, orders_as_of, save_snapshot
from projections.schema import fills as fills_table
from projections.schema import orders as orders_table

AMOUNTS = ["0.1", "0.25", "0.4", "0.5", "1"]
KINDS = [OrderType.LIMIT, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_LIMIT]


class OrderLifeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="oms-prop-")
        self.loop = asyncio.new_event_loop()
        url = f"sqlite+aiosqlite:///{Path(self.dir) / 'oms.db'}"
        self.store = self.loop.run_until_complete(EventStore.open(url))
        self.h = Harness(self.store)
        self.cids: list[ClientOrderId] = []
        self.applied_fills: list[tuple[str, TradeSide, OrderFilled]] = []
        self.trade_seq = 0
        self.seen_states: dict[str, OrderState] = {}
        self.overfills = 0
        self.seen_trigger: dict[str, TriggerState] = {}

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.store.close())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def live(self, cid: str) -> InFlightOrder | None:
        return self.h.projector.tracker.get(cid)

    def submit(self, candidate):  # type: ignore[no-untyped-def]
        out = self.run(self.h.submit(candidate))
        for ev in out:
            if isinstance(ev, OrderAnomaly) and ev.kind == "overfill":
                self.overfills += 1
            if isinstance(ev, OrderFilled):
                order = self.live(ev.client_order_id)
                assert order is not None
                self.applied_fills.append((order.pair, order.side, ev))
        return out

    # -- commands --

    @rule(
        amount=st.sampled_from(AMOUNTS),
        side=st.sampled_from(list(TradeSide)),
        pair=st.sampled_from(["ETH", "BTC"]),
        kind=st.sampled_from(KINDS),
        linked=st.booleans(),
    )
    def create(
        self, amount: str, side: TradeSide, pair: str, kind: OrderType, linked: bool
    ) -> None:
        cid = ClientOrderId.new()
        parent = self.cids[-1] if linked and kind.is_trigger and self.cids else None
        self.cids.append(cid)
        self.submit(order_created(cid, amount, side, pair, kind, parent))

    @precondition(lambda self: self.cids)
    @rule(
        data=st.data(),
        stage=st.sampled_from(list(TriggerState)),
        mark=st.sampled_from([None, "2949.5"]),
    )
    def trigger_report(self, data: st.DataObject, stage: TriggerState, mark: str | None) -> None:
        cid = data.draw(st.sampled_from(self.cids))
        price = None if mark is None else Decimal(mark)
        self.submit(TriggerStateChanged(cid, stage, stage.value, price, 9))

    @precondition(lambda self: self.cids)
    @rule(data=st.data())
    def submit_order(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.cids))
        self.submit(OrderSubmitted(cid, data.draw(st.integers(1, 3)), 60_000, 1))

    @precondition(lambda self: self.cids)
    @rule(data=st.data(), eoid=st.sampled_from(["E1", "E2"]))
    def ack(self, data: st.DataObject, eoid: str) -> None:
        cid = data.draw(st.sampled_from(self.cids))
        self.submit(OrderAccepted(cid, f"{cid[:8]}-{eoid}", 2))

    @precondition(lambda self: self.cids)
    @rule(data=st.data(), source=st.sampled_from(["exchange", "risk"]))
    def reject(self, data: st.DataObject, source: str) -> None:
        self.submit(OrderRejected(data.draw(st.sampled_from(self.cids)), "no", source, 3))

    @precondition(lambda self: self.cids)
    @rule(
        data=st.data(),
        amount=st.sampled_from(AMOUNTS),
        price=st.sampled_from(["2999", "3001.5"]),
    )
    def fill(self, data: st.DataObject, amount: str, price: str) -> None:
        cid = data.draw(st.sampled_from(self.cids))
        self.trade_seq += 1
        fee_asset = data.draw(st.sampled_from(["USDC", "HYPE"]))
        trade = f"T{self.trade_seq}"
        fee = Decimal("0.01")
        self.submit(
            OrderFilled(
                cid, trade, Decimal(price), Decimal(amount), fee, fee_asset, True, 1, None
            )
        )

    @precondition(lambda self: self.applied_fills)
    @rule(data=st.data())
    def duplicate_fill(self, data: st.DataObject) -> None:
        _, _, fill = data.draw(st.sampled_from(self.applied_fills))
        before = self.live(fill.client_order_id)
        head = self.h.projector.last_position
        assert self.submit(fill) == ()
        assert self.live(fill.client_order_id) == before
        assert self.h.projector.last_position == head

    @precondition(lambda self: self.cids)
    @rule(data=st.data())
    def request_cancel(self, data: st.DataObject) -> None:
        self.submit(CancelRequested(data.draw(st.sampled_from(self.cids)), 1, 90_000, 4))

    @precondition(lambda self: self.cids)
    @rule(data=st.data())
    def cancel_confirmed(self, data: st.DataObject) -> None:
        self.submit(OrderCanceled(data.draw(st.sampled_from(self.cids)), "user", 5))

    @precondition(lambda self: self.cids)
    @rule(data=st.data())
    def cancel_refused(self, data: st.DataObject) -> None:
        self.submit(CancelRejected(data.draw(st.sampled_from(self.cids)), "too late", 5))

    @precondition(lambda self: self.cids)
    @rule(data=st.data())
    def outcome_unknown(self, data: st.DataObject) -> None:
        self.submit(OrderStatusUnknown(data.draw(st.sampled_from(self.cids)), "timeout", 6))

    @precondition(lambda self: self.cids)
    @rule(data=st.data())
    def not_found(self, data: st.DataObject) -> None:
        self.submit(OrderNotFound(data.draw(st.sampled_from(self.cids)), "unknown cloid", 7))

    @rule()
    def report_for_unknown_order(self) -> None:
        stranger = ClientOrderId.new()
        (out,) = self.submit(OrderCanceled(stranger, "exchange says canceled", 8))
        assert isinstance(out, OrderAnomaly) and out.kind == "orphan_stream"
        assert stranger not in self.h.projector.tracker

    @rule()
    def checkpoint(self) -> None:
        self.run(save_snapshot(self.store, self.h.projector))

    # -- invariants --

    def live_orders(self) -> dict[str, InFlightOrder]:
        return {r.client_order_id: r.freeze() for r in self.h.projector.tracker.records()}

    @invariant()
    def executed_within_amount_and_terminal_is_sticky(self) -> None:
        for cid, order in self.live_orders().items():
            assert order.executed_base <= order.amount
            assert order.executed_base == sum(
                (f.amount for _, _, f in self.applied_fills if f.client_order_id == cid),
                Decimal(0),
            )
            before = self.seen_states.get(cid)
            if before is not None and before.is_terminal:
                assert order.state is before or (
                    before is OrderState.CANCELED and order.state is OrderState.FILLED
                ), f"{cid} left terminal {before} for {order.state}"
            self.seen_states[cid] = order.state
            if order.trigger_state is not None:
                assert order.order_type.is_trigger
                known = self.seen_trigger.get(cid)
                assert known is None or order.trigger_state.rank >= known.rank
                self.seen_trigger[cid] = order.trigger_state

    @invariant()
    def replays_equal_live(self) -> None:
        live = self.live_orders()
        zero = self.run(load_state(self.store, use_checkpoint=False))
        snap = self.run(load_state(self.store, use_checkpoint=True))
        for state in (zero, snap):
            assert state.last_position == self.h.projector.last_position
            assert {r.client_order_id: r.freeze() for r in state.tracker.records()} == live
            assert state.positions.as_dict() == self.h.projector.positions.as_dict()
        assert self.run(orders_as_of(self.store, self.h.projector.last_position)) == live

    @invariant()
    def pure_evolve_agrees_with_fast_fold(self) -> None:
        async def folds() -> dict[str, InFlightOrder]:
            out: dict[str, InFlightOrder] = {}
            for cid in self.cids:
                order = None
                async for rec in self.store.read_stream(f"order-{cid}"):
                    order = evolve(order, decode(rec.type, rec.data, rec.event_version))
                if order is not None:
                    out[cid] = order
            return out

        assert self.run(folds()) == self.live_orders()

    @invariant()
    def positions_equal_sum_of_fills(self) -> None:
        book = self.h.projector.positions
        for pair in ("ETH", "BTC"):
            mine = [(s, f) for p, s, f in self.applied_fills if p == pair]
            pos = book.get(pair)
            if not mine:
                assert pos is None
                continue
            assert pos is not None
            assert pos.net_size == sum((s.sign * f.amount for s, f in mine), Decimal(0))
            assert pos.fill_count == len(mine)
            for asset in ("USDC", "HYPE"):
                paid = sum((f.fee for _, f in mine if f.fee_asset == asset), Decimal(0))
                assert pos.fees.get(asset, Decimal(0)) == paid
            # realized + unrealized at the last price == cash flow of the fills (to 30 digits)
            mark = mine[-1][1].price
            cash = sum((-s.sign * f.amount * f.price for s, f in mine), Decimal(0))
            total = pos.realized_pnl + pos.unrealized_pnl(mark)
            assert abs(total - (cash + pos.net_size * mark)) < Decimal("1e-25")

    @invariant()
    def read_models_equal_live(self) -> None:
        runner = ReadModelProjection(self.store, batch_size=7)
        self.run(runner.catch_up())
        assert self.run(runner.checkpoint()) == self.h.projector.last_position

        async def rows() -> tuple[dict[str, tuple[str, str]], int]:
            async with self.store.engine.connect() as conn:
                got = {
                    r.client_order_id: (r.state, r.executed_base)
                    for r in await conn.execute(sa.select(orders_table))
                }
                count = await conn.scalar(sa.select(sa.func.count()).select_from(fills_table))
            return got, int(count or 0)

        got, fill_rows = self.run(rows())
        live = self.live_orders()
        assert got == {c: (o.state.value, str(o.executed_base)) for c, o in live.items()}
        assert fill_rows == len(self.applied_fills)


OrderLifeMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOrderLife = OrderLifeMachine.TestCase
