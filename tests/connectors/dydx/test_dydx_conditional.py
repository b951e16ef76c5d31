"""Conditional orders (flags 32) on the local dYdX exchange: chain rules, triggering on the oracle
price, the Indexer's statuses (UNTRIGGERED → OPEN/FILLED/CANCELED) and the connector's reports."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from dydx_helpers import ADDRESS, MNEMONIC
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from connectors.base import (
    ExchangeOrderStatus,
    OrderRuleViolation,
    Outcome,
    PlaceOrderRequest,
    TriggerSpec,
)
from connectors.dydx import DydxConnector, NotYetCertain
from connectors.dydx.signing import DydxKey, TxSigner
from connectors.dydx.simulator import DydxSimConfig, DydxSimulator
from connectors.dydx.simulator.chain import Chain

D = Decimal


def _conditional(client_id: int, *, condition: int = 1, trigger: int = 2_900_000_000,
                 tif: int = 0, side: int = 2) -> MsgPlaceOrder:
    oid = OrderId(subaccount_id=SubaccountId(owner=ADDRESS, number=0), client_id=client_id,
                  order_flags=32, clob_pair_id=1)
    return MsgPlaceOrder(order=Order(
        order_id=oid, side=side, quantums=10_000_000, subticks=2_800_000_000, time_in_force=tif,
        good_til_block_time=int(time.time()) + 600, condition_type=condition,
        conditional_order_trigger_subticks=trigger))


def test_chain_checks_and_triggers_conditional_orders() -> None:
    config = DydxSimConfig(block_interval_s=0, market_maker=False, auto_fund=False,
                           funded=(ADDRESS,))
    chain = Chain(config)
    account = chain.account(ADDRESS)
    assert account is not None
    signer = TxSigner(DydxKey.from_mnemonic(MNEMONIC), config.chain_id, account.number)
    no_type = chain.broadcast(signer.sign([_conditional(1, condition=0)], 0))
    assert (no_type.codespace, no_type.code) == ("clob", 6000)
    no_trigger = chain.broadcast(signer.sign([_conditional(1, trigger=0)], 0))
    assert (no_trigger.code, "cannot be 0" in no_trigger.raw_log) == (6001, True)
    off_tick = chain.broadcast(signer.sign([_conditional(1, trigger=2_900_050_000)], 0))
    assert (off_tick.code, "SubticksPerTick 100000" in off_tick.raw_log) == (6001, True)
    # A sell stop-loss at 2900 (oracle 3000): written in the next block, UNTRIGGERED.
    assert chain.broadcast(signer.sign([_conditional(1)], 0)).code == 0
    chain.produce_block()
    key = (ADDRESS, 0, 1, 32, 1)
    assert chain.clob.conditionals.untriggered[key].status == "UNTRIGGERED"
    chain.oracle_prices["ETH-USD"] = D("2950")  # above 2900: nothing fires
    chain.produce_block()
    assert key in chain.clob.conditionals.untriggered
    chain.oracle_prices["ETH-USD"] = D("2900")  # at the trigger: fires, placed next block
    chain.produce_block()
    assert key in chain.clob.conditionals.triggered
    chain.produce_block()
    order = chain.clob.live[key]  # a stop-limit rests at its limit once triggered
    assert order.status == "OPEN" and chain.clob.books[1].orders[key] is order


async def _status(conn: DydxConnector, cloid: str) -> ExchangeOrderStatus | None:
    try:
        return (await conn.order_status(cloid)).status
    except NotYetCertain:
        return None


async def _until(conn: DydxConnector, cloid: str, status: ExchangeOrderStatus) -> None:
    deadline = time.monotonic() + 5
    while (seen := await _status(conn, cloid)) is not status:
        assert time.monotonic() < deadline, f"{cloid}: still {seen}, expected {status}"
        await asyncio.sleep(0.05)


def _deadline() -> int:
    return time.time_ns() // 1_000_000 + 1000


async def test_connector_places_triggers_and_cancels_conditional_orders(
    dydx_sim: DydxSimulator, dydx_conn: DydxConnector
) -> None:
    stop = PlaceOrderRequest("0x" + "1" * 32, "ETH-USD", "sell", D("0.01"), D("2800"),
                             trigger=TriggerSpec(D("2900"), False, "sl"))
    take = PlaceOrderRequest("0x" + "2" * 32, "ETH-USD", "buy", D("0.01"), D("2950"),
                             trigger=TriggerSpec(D("2800"), True, "tp"))
    results = await dydx_conn.place_orders([stop, take], _deadline())
    assert [(r.outcome, r.reason) for r in results] == [
        (Outcome.CONFIRMED, "waitingForTrigger")] * 2
    record = dydx_conn.ids.by_cloid(stop.cloid)
    assert record is not None and record.flags == 32
    await _until(dydx_conn, stop.cloid, ExchangeOrderStatus.OPEN)  # UNTRIGGERED
    await _until(dydx_conn, take.cloid, ExchangeOrderStatus.OPEN)
    row = await dydx_conn.rest.get(f"/v4/orders/{record.order_id}")
    assert (row["status"], row["type"], row["triggerPrice"]) == ("UNTRIGGERED", "STOP_LIMIT",
                                                                 "2900")
    assert {o.cloid for o in await dydx_conn.open_orders()} == {stop.cloid, take.cloid}
    # The oracle falls through the stop: it triggers, then rests at 2800 (TRIGGERED, live).
    dydx_sim.set_oracle("ETH-USD", D("2890"))
    await _until(dydx_conn, stop.cloid, ExchangeOrderStatus.TRIGGERED)
    assert dydx_sim.truth_orders(ADDRESS)[record.client_id]["status"] == "OPEN"
    # The take-profit buy (fires at ≤ 2800) waits; it is canceled while untriggered.
    cancel = await dydx_conn.cancel_by_cloid("ETH-USD", take.cloid, _deadline())
    assert cancel.outcome is Outcome.CONFIRMED, cancel.reason
    await _until(dydx_conn, take.cloid, ExchangeOrderStatus.CANCELED)
    take_id = dydx_conn.ids.by_cloid(take.cloid)
    assert take_id is not None
    truth = dydx_sim.truth_orders(ADDRESS)[take_id.client_id]
    assert truth["reason"] == "ORDER_REMOVAL_REASON_USER_CANCELED"
    # A market take-profit with an empty book: triggers, finds nothing, canceled as an IOC.
    ioc = PlaceOrderRequest("0x" + "3" * 32, "ETH-USD", "sell", D("0.01"), D("2700"),
                            trigger=TriggerSpec(D("2950"), True, "tp"))
    await dydx_conn.place_orders([ioc], _deadline())
    await _until(dydx_conn, ioc.cloid, ExchangeOrderStatus.OPEN)
    dydx_sim.set_oracle("ETH-USD", D("2960"))
    await _until(dydx_conn, ioc.cloid, ExchangeOrderStatus.CANCELED)
    ioc_id = dydx_conn.ids.by_cloid(ioc.cloid)
    assert ioc_id is not None
    assert dydx_sim.truth_orders(ADDRESS)[ioc_id.client_id]["reason"] == (
        "ORDER_REMOVAL_REASON_IMMEDIATE_OR_CANCEL_WOULD_REST_ON_BOOK")


async def test_bad_conditional_requests_are_refused_before_sending(
    dydx_conn: DydxConnector,
) -> None:
    reduce_limit = PlaceOrderRequest("0x" + "4" * 32, "ETH-USD", "sell", D("0.01"), D("2800"),
                                     reduce_only=True, trigger=TriggerSpec(D("2900"), False, "sl"))
    with pytest.raises(OrderRuleViolation, match="reduce_only=False"):
        await dydx_conn.place_orders([reduce_limit], _deadline())
    off_tick = PlaceOrderRequest("0x" + "5" * 32, "ETH-USD", "sell", D("0.01"), D("2800"),
                                 trigger=TriggerSpec(D("2900.05"), False, "sl"))
    with pytest.raises(OrderRuleViolation, match="tick"):
        await dydx_conn.place_orders([off_tick], _deadline())
    with pytest.raises(OrderRuleViolation, match="normalTpsl"):
        await dydx_conn.place_orders([off_tick], _deadline(), "normalTpsl")
    assert len(dydx_conn.ids) == 0, "nothing journaled, nothing sent"
