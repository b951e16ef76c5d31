"""Trigger orders, TP/SL groups, leverage and isolated margin on the local exchange (real HTTP).

The expected answers are the recorded ones of the reference (§13.1, §13.2, §13.5): statuses of
grouped placements, nesting in ``frontendOpenOrders``, the leverage-switch refusal, ``rawUsd``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from sim_helpers import Api, cloid, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange

ETH = 1
D = Decimal


def trigger(is_buy: bool, px: str, sz: str, trigger_px: str, tpsl: str, is_market: bool = True,
            reduce_only: bool = True, c: str | None = None) -> dict[str, Any]:
    wire = order_wire(ETH, is_buy, px, sz, reduce_only=reduce_only, c=c)
    wire["t"] = {"trigger": {"isMarket": is_market, "triggerPx": trigger_px, "tpsl": tpsl}}
    return wire


async def grouped(api: Api, wallet: LocalAccount, grouping: str, *wires: dict[str, Any]) -> Any:
    action = {"type": "order", "orders": list(wires), "grouping": grouping}
    body = await api.exchange(wallet, action)
    assert body["status"] == "ok", body
    return body["response"]["data"]["statuses"]


async def open_long(api: Api, alice: LocalAccount, bob: LocalAccount, sz: str = "0.01") -> None:
    await api.order(bob, order_wire(ETH, False, "3000", sz))
    [status] = await api.order(alice, order_wire(ETH, True, "3000", sz, tif="Ioc"))
    assert "filled" in status


async def test_stop_market_fires_on_the_mark_and_closes_the_position(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    await open_long(api, alice, bob)
    await api.order(bob, order_wire(ETH, True, "2880", "0.05"))  # liquidity below
    [placed] = await api.order(alice, trigger(False, "2610", "0.01", "2900", "sl", c=cloid(1)))
    oid = placed["resting"]["oid"]
    [entry] = [o for o in await api.info({"type": "frontendOpenOrders", "user": alice.address})
               if o["oid"] == oid]
    assert entry["isTrigger"] is True and entry["orderType"] == "Stop Market"
    assert entry["triggerCondition"] == "Price below 2900" and entry["triggerPx"] == "2900.0"
    assert entry["tif"] is None and entry["reduceOnly"] is True
    # Not on the book until it fires.
    book = await api.info({"type": "l2Book", "coin": "ETH"})
    assert [lv["px"] for lv in book["levels"][1]] == []
    sim.set_mark("ETH", D("2950"))
    assert sim.truth.orders(alice.address)[cloid(1)]["status"] == "open"
    sim.set_mark("ETH", D("2899"))
    truth = sim.truth.orders(alice.address)[cloid(1)]
    assert truth["status"] == "filled" and truth["oid"] == oid
    assert sim.truth.positions(alice.address) == {}
    status = await api.info({"type": "orderStatus", "user": alice.address, "oid": cloid(1)})
    assert status["order"]["status"] == "filled"


async def test_buy_take_profit_already_met_fires_at_placement(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    await api.order(bob, order_wire(ETH, False, "3001", "0.05"))
    # A buy take-profit fires when the mark is at or below its trigger: 3100 is above the mark.
    [placed] = await api.order(
        alice, trigger(True, "3100", "0.01", "3100", "tp", is_market=False, reduce_only=False,
                       c=cloid(2)))
    assert "resting" in placed
    truth = sim.truth.orders(alice.address)[cloid(2)]
    assert truth["status"] == "filled" and truth["trigger_state"] is None


async def test_normal_tpsl_resting_entry_nests_children_and_cancel_takes_them(
    sim: SimulatedExchange, api: Api, alice: LocalAccount
) -> None:
    statuses = await grouped(
        api, alice, "normalTpsl",
        order_wire(ETH, True, "2900", "0.01", c=cloid(10)),
        trigger(False, "3300", "0.01", "3300", "tp", is_market=False, c=cloid(11)),
        trigger(False, "2600", "0.01", "2700", "sl", c=cloid(12)),
    )
    assert statuses[1:] == ["waitingForFill", "waitingForFill"]
    parent_oid = statuses[0]["resting"]["oid"]
    entries = await api.info({"type": "frontendOpenOrders", "user": alice.address})
    by_oid = {e["oid"]: e for e in entries}
    assert len(entries) == 3  # children also listed at top level
    nested = by_oid[parent_oid]["children"]
    assert {c["cloid"] for c in nested} == {cloid(11), cloid(12)}
    assert all(c["isTrigger"] and c["reduceOnly"] and not c["isPositionTpsl"] for c in nested)
    sim.set_mark("ETH", D("2650"))  # would fire the stop, but it is not armed
    assert sim.truth.orders(alice.address)[cloid(12)]["status"] == "open"
    assert await api.cancel(alice, ETH, parent_oid) == "success"
    truth = sim.truth.orders(alice.address)
    assert [truth[cloid(n)]["status"] for n in (10, 11, 12)] == ["canceled"] * 3


async def test_normal_tpsl_filled_entry_arms_children_and_sibling_is_canceled(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    await api.order(bob, order_wire(ETH, False, "3000", "0.01"))
    statuses = await grouped(
        api, alice, "normalTpsl",
        order_wire(ETH, True, "3000", "0.01", c=cloid(20)),
        trigger(False, "3200", "0.01", "3200", "tp", is_market=False, c=cloid(21)),
        trigger(False, "2600", "0.01", "2700", "sl", c=cloid(22)),
    )
    assert "filled" in statuses[0]
    assert statuses[1:] == ["waitingForTrigger", "waitingForTrigger"]
    await api.order(bob, order_wire(ETH, True, "3200", "0.05"))
    sim.set_mark("ETH", D("3201"))
    truth = sim.truth.orders(alice.address)
    assert truth[cloid(21)]["status"] == "filled"
    assert truth[cloid(22)]["status"] == "siblingFilledCanceled"
    assert sim.truth.positions(alice.address) == {}


async def test_normal_tpsl_with_a_non_reduce_only_leg_is_refused_whole(
    sim: SimulatedExchange, api: Api, alice: LocalAccount
) -> None:
    statuses = await grouped(
        api, alice, "normalTpsl",
        order_wire(ETH, True, "2900", "0.01", c=cloid(30)),
        trigger(False, "3300", "0.01", "3300", "tp", reduce_only=False, c=cloid(31)),
    )
    assert len(statuses) == 1 and "reduce-only" in statuses[0]["error"]
    assert sim.truth.orders(alice.address) == {}


async def test_position_tpsl_waits_for_trigger_and_is_flagged(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    await open_long(api, alice, bob)
    statuses = await grouped(
        api, alice, "positionTpsl",
        trigger(False, "3300", "0.01", "3300", "tp", is_market=False, c=cloid(40)),
        trigger(False, "2600", "0.01", "2700", "sl", c=cloid(41)),
    )
    assert statuses == ["waitingForTrigger", "waitingForTrigger"]
    entries = await api.info({"type": "frontendOpenOrders", "user": alice.address})
    assert [e["isPositionTpsl"] for e in entries] == [True, True]
    # Closing the position by hand cancels the reduce-only legs (reduceOnlyCanceled, §13.3).
    await api.order(bob, order_wire(ETH, True, "2990", "0.01"))
    await api.order(alice, order_wire(ETH, False, "2990", "0.01", tif="Ioc", reduce_only=True))
    truth = sim.truth.orders(alice.address)
    assert truth[cloid(40)]["status"] == truth[cloid(41)]["status"] == "reduceOnlyCanceled"


async def test_bad_trigger_price_and_tick(api: Api, alice: LocalAccount, bob: LocalAccount) -> None:
    await open_long(api, alice, bob)
    [bad_px] = await api.order(alice, trigger(False, "2950", "0.01", "2900", "sl"))
    assert bad_px == {"error": "Invalid TP/SL price. asset=1"}
    [tick] = await api.order(alice, trigger(False, "2800", "0.01", "2900.123", "sl"))
    assert tick == {"error": "Price must be divisible by tick size. asset=1"}


async def test_leverage_switch_with_position_and_isolated_margin(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    lev = {"type": "updateLeverage", "asset": ETH, "isCross": True, "leverage": 30}
    assert (await api.exchange(alice, lev))["response"].startswith("Invalid leverage value")
    margin = {"type": "updateIsolatedMargin", "asset": ETH, "isBuy": True, "ntli": 5_000_000}
    assert (await api.exchange(alice, margin)) == {
        "status": "err", "response": "Position does not use isolated margin."}
    assert (await api.exchange(alice, {**lev, "isCross": False, "leverage": 10}))["status"] == "ok"
    await open_long(api, alice, bob)
    refused = await api.exchange(alice, {**lev, "leverage": 10})
    assert refused == {"status": "err",
                       "response": "Cannot switch leverage type with open position."}
    assert (await api.exchange(alice, margin))["status"] == "ok"
    state = await api.info({"type": "clearinghouseState", "user": alice.address})
    position = state["assetPositions"][0]["position"]
    leverage = position["leverage"]
    assert leverage["type"] == "isolated" and leverage["value"] == 10
    mark = D(position["positionValue"]) / D(position["szi"])
    assert D(leverage["rawUsd"]) == D(position["marginUsed"]) - D(position["szi"]) * mark
    assert D(position["marginUsed"]) == D("3") + D("5")  # 30 notional / 10 + 5 added
    remove = {**margin, "ntli": -6_000_000}
    assert (await api.exchange(alice, remove))["status"] == "err"
    assert sim.truth.leverage(alice.address) == {"ETH": (10, False)}


async def test_resting_orders_are_margin_canceled_when_the_mark_moves(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    account = sim.engine.account(alice.address.lower())
    account.usdc = D("200")
    await open_long(api, alice, bob, "0.5")  # 1500 notional at 20x: 75 margin
    [rest] = await api.order(alice, order_wire(ETH, True, "2000", "1", c=cloid(50)))
    assert "resting" in rest  # 2000 / 20 = 100 more margin: 175 of 200 used
    sim.set_mark("ETH", D("2900"))  # the long loses 50: value 150 < 175 used
    assert sim.truth.orders(alice.address)[cloid(50)]["status"] == "marginCanceled"
