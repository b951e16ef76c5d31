"""Matching: price-time priority, partial fills, IOC, ALO, reduce-only, rules, cloids, modify."""

from __future__ import annotations

from decimal import Decimal

from eth_account.signers.local import LocalAccount
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_helpers import Api, cloid, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange
from connectors.hyperliquid.simulator.matching import OrderBook, RestingOrder

ETH, BTC, PURR = 1, 0, 10000
D = Decimal


def _rest(oid: int, user: str, is_buy: bool, px: str, sz: str) -> RestingOrder:
    return RestingOrder(oid, user, is_buy, D(px), D(sz), D(sz), oid)


def test_book_price_then_time_priority() -> None:
    book = OrderBook("ETH")
    book.add(_rest(1, "a", False, "3001", "1"))
    book.add(_rest(2, "b", False, "3000", "1"))
    book.add(_rest(3, "c", False, "3000", "1"))
    result = book.match(True, D("3001"), D("2.5"), "t")
    assert [(m.maker.oid, m.px, m.sz) for m in result.matches] == [
        (2, D("3000"), D("1")), (3, D("3000"), D("1")), (1, D("3001"), D("0.5"))]
    assert result.remaining == 0 and book.get(1) is not None and book.get(1).sz == D("0.5")
    assert book.best_ask() == D("3001") and len(book) == 1


def test_book_self_trade_cancels_maker_and_stops_at_limit() -> None:
    book = OrderBook("ETH")
    book.add(_rest(1, "t", True, "3000", "1"))
    book.add(_rest(2, "m", True, "2999", "1"))
    result = book.match(False, D("3000"), D("1"), "t")
    assert [o.oid for o in result.self_trade_cancelled] == [1]
    assert result.matches == [] and result.remaining == D("1")
    assert book.levels(True) == [(D("2999"), D("1"), 1)]


_OPS = st.lists(st.tuples(
    st.sampled_from(["add", "cancel", "match"]), st.booleans(),
    st.integers(2995, 3005), st.integers(1, 30), st.sampled_from(["a", "b", "c"]),
), max_size=120)


@settings(max_examples=150, deadline=None)
@given(_OPS)
def test_level_totals_survive_any_sequence(ops: list[tuple]) -> None:
    """The book keeps running level totals (a snapshot never re-sums a level): after any mix of
    adds, cancels and matches they equal the sums (and counts) of what rests."""
    book, live, next_oid = OrderBook("ETH"), set(), 1
    for kind, is_buy, px, qty, user in ops:
        size = D(qty) / 10
        if kind == "add" and not book.crosses(is_buy, D(px)):
            book.add(_rest(next_oid, user, is_buy, str(px), str(size)))
            live.add(next_oid)
            next_oid += 1
        elif kind == "cancel" and live:
            oid = min(live) if is_buy else max(live)
            book.remove(oid)
            live.discard(oid)
        elif kind == "match":
            book.match(is_buy, D(px), size, user)
            live = {oid for oid in live if book.get(oid) is not None}
        for side in (True, False):
            resting = [o for o in book.orders() if o.is_buy == side]
            want = {}
            for o in resting:
                assert o.sz > 0
                total, count = want.get(o.px, (D(0), 0))
                want[o.px] = (total + o.sz, count + 1)
            got = {px: (total, n) for px, total, n in book.levels(side, depth=100)}
            assert got == want
    assert len(book) == len(live)


async def test_partial_fill_then_rest(sim: SimulatedExchange, api: Api, alice: LocalAccount,
                                      bob: LocalAccount) -> None:
    maker = await api.order(bob, order_wire(ETH, False, "3000", "0.5", c=cloid(1)))
    taker = await api.order(alice, order_wire(ETH, True, "3000", "0.8", c=cloid(2)))
    assert "resting" in taker[0] and taker[0]["resting"]["cloid"] == cloid(2)
    maker_order = sim.truth.orders(bob.address)[cloid(1)]
    taker_order = sim.truth.orders(alice.address)[cloid(2)]
    assert maker_order["status"] == "filled" and maker_order["oid"] == maker[0]["resting"]["oid"]
    assert taker_order["status"] == "open" and taker_order["filled_sz"] == D("0.5")
    assert taker_order["remaining_sz"] == D("0.3")
    [fill] = sim.truth.fills(alice.address)
    [maker_fill] = sim.truth.fills(bob.address)
    assert fill["tid"] == maker_fill["tid"] and fill["crossed"] and not maker_fill["crossed"]
    assert fill["fee"] == D("0.675000") and maker_fill["fee"] == D("0.225000")
    assert sim.truth.positions(alice.address)["ETH"]["szi"] == D("0.5")
    assert sim.truth.positions(bob.address)["ETH"]["szi"] == D("-0.5")
    raw = (await api.info({"type": "userFills", "user": alice.address}))[0]
    assert raw["dir"] == "Open Long" and raw["startPosition"] == "0.0"
    assert raw["cloid"] == cloid(2) and raw["feeToken"] == "USDC" and raw["hash"].startswith("0x")


async def test_ioc_partial_and_no_match(sim: SimulatedExchange, api: Api, alice: LocalAccount,
                                        bob: LocalAccount) -> None:
    await api.order(bob, order_wire(ETH, False, "3000", "0.2"))
    [partial] = await api.order(alice, order_wire(ETH, True, "3010", "0.5", tif="Ioc",
                                                  c=cloid(3)))
    assert partial["filled"]["totalSz"] == "0.2" and partial["filled"]["avgPx"] == "3000.0"
    assert sim.truth.orders(alice.address)[cloid(3)]["status"] == "canceled"
    [none] = await api.order(alice, order_wire(ETH, True, "3010", "0.5", tif="Ioc", c=cloid(4)))
    assert none == {"error": "Order could not immediately match against any resting orders. "
                             "asset=1"}
    status = await api.info({"type": "orderStatus", "user": alice.address, "oid": cloid(4)})
    assert status["order"]["status"] == "iocCancelRejected"


async def test_alo_crossing_rejected(api: Api, alice: LocalAccount, bob: LocalAccount) -> None:
    await api.order(bob, order_wire(ETH, False, "3000", "0.2"),
                    order_wire(ETH, True, "2990", "0.2"))
    [rejected] = await api.order(alice, order_wire(ETH, True, "3000", "0.1", tif="Alo"))
    assert rejected == {"error": "Post only order would have immediately matched, bbo was "
                                 "2990.0@3000.0. asset=1"}
    [resting] = await api.order(alice, order_wire(ETH, True, "2995", "0.1", tif="Alo"))
    assert "resting" in resting


async def test_rule_errors(api: Api, alice: LocalAccount) -> None:
    statuses = await api.order(
        alice,
        order_wire(ETH, True, "3000.15", "0.01"),      # 6 sig figs
        order_wire(BTC, True, "60000.5", "0.001"),     # 6 sig figs
        order_wire(ETH, True, "3000", "0.00001"),      # 5 decimals > szDecimals 4
        order_wire(ETH, True, "3000", "0.003"),        # $9 < $10
        order_wire(PURR, True, "0.2", "10"),           # 2 USDC < 10 USDC
        order_wire(BTC, True, "123456", "0.001"),      # integer price: always valid
    )
    assert statuses[0] == {"error": "Price must be divisible by tick size. asset=1"}
    assert statuses[1] == {"error": "Price must be divisible by tick size. asset=0"}
    assert statuses[2] == {"error": "Order has invalid size. asset=1"}
    assert statuses[3] == {"error": "Order must have minimum value of $10. asset=1"}
    assert statuses[4] == {"error": "Order must have minimum value of 10 USDC. asset=10000"}
    assert "resting" in statuses[5]


async def test_reduce_only(sim: SimulatedExchange, api: Api, alice: LocalAccount,
                           bob: LocalAccount) -> None:
    [rejected] = await api.order(alice, order_wire(ETH, False, "3000", "0.1", reduce_only=True))
    assert rejected == {"error": "Reduce only order would increase position. asset=1"}
    await api.order(bob, order_wire(ETH, False, "3000", "0.1"))
    await api.order(alice, order_wire(ETH, True, "3000", "0.1"))
    await api.order(bob, order_wire(ETH, True, "3000", "1"))
    [closed] = await api.order(alice, order_wire(ETH, False, "3000", "0.5", reduce_only=True))
    assert closed["filled"]["totalSz"] == "0.1"   # clipped to the position
    assert sim.truth.positions(alice.address) == {}


async def test_duplicate_open_cloid_refused(api: Api, alice: LocalAccount) -> None:
    await api.order(alice, order_wire(ETH, True, "2900", "0.01", c=cloid(9)))
    [dup] = await api.order(alice, order_wire(ETH, True, "2901", "0.01", c=cloid(9)))
    assert "error" in dup and cloid(9) in dup["error"]
    status = await api.info({"type": "orderStatus", "user": alice.address, "oid": cloid(9)})
    assert status["order"]["order"]["limitPx"] == "2900.0"


async def test_cancel_by_oid_and_cloid(api: Api, alice: LocalAccount) -> None:
    [a, b] = await api.order(alice, order_wire(ETH, True, "2900", "0.01", c=cloid(5)),
                             order_wire(ETH, True, "2901", "0.01", c=cloid(6)))
    assert await api.cancel(alice, ETH, a["resting"]["oid"]) == "success"
    assert await api.cancel(alice, ETH, a["resting"]["oid"]) == {
        "error": "Order was never placed, already canceled, or filled. asset=1"}
    reply = await api.exchange(alice, {"type": "cancelByCloid",
                                       "cancels": [{"asset": ETH, "cloid": cloid(6)},
                                                   {"asset": ETH, "cloid": cloid(7)}]})
    assert reply["response"] == {"type": "cancel", "data": {"statuses": [
        "success", {"error": "Order was never placed, already canceled, or filled. asset=1"}]}}
    status = await api.info({"type": "orderStatus", "user": alice.address, "oid": cloid(6)})
    assert status["order"]["status"] == "canceled"
    assert b["resting"]["oid"] == status["order"]["order"]["oid"]


async def test_modify_and_batch_modify(sim: SimulatedExchange, api: Api,
                                       alice: LocalAccount) -> None:
    [placed] = await api.order(alice, order_wire(ETH, True, "2900", "0.01", c=cloid(11)))
    oid = placed["resting"]["oid"]
    reply = await api.exchange(alice, {"type": "modify", "oid": oid,
                                       "order": order_wire(ETH, True, "2910", "0.02", c=cloid(11))})
    assert reply == {"status": "ok", "response": {"type": "default"}}
    order = sim.truth.orders(alice.address)[cloid(11)]
    assert order["limit_px"] == D("2910") and order["orig_sz"] == D("0.02")
    reply = await api.exchange(alice, {"type": "batchModify", "modifies": [
        {"oid": cloid(11), "order": order_wire(ETH, True, "2920", "0.02", c=cloid(11))},
        {"oid": 42, "order": order_wire(ETH, True, "2920", "0.02")}]})
    statuses = reply["response"]["data"]["statuses"]
    assert "resting" in statuses[0]
    assert statuses[1] == {"error": "Cannot modify canceled or filled order"}
    assert sim.truth.orders(alice.address)[cloid(11)]["limit_px"] == D("2920")
    open_orders = await api.info({"type": "openOrders", "user": alice.address})
    assert len(open_orders) == 1


async def test_margin_and_leverage(api: Api, alice: LocalAccount) -> None:
    # 1,000,000 USDC at 20x buys at most 20M notional.
    [too_big] = await api.order(alice, order_wire(BTC, True, "60000", "400"))
    assert too_big == {"error": "Insufficient margin to place order. asset=0"}
    reply = await api.exchange(alice, {"type": "updateLeverage", "asset": BTC, "isCross": True,
                                       "leverage": 40})
    assert reply == {"status": "ok", "response": {"type": "default"}}
    [ok] = await api.order(alice, order_wire(BTC, True, "60000", "400"))
    assert "resting" in ok
    reply = await api.exchange(alice, {"type": "updateLeverage", "asset": BTC, "isCross": True,
                                       "leverage": 41})
    assert reply["status"] == "err"


async def test_schedule_cancel_fires(sim: SimulatedExchange, api: Api,
                                     alice: LocalAccount) -> None:
    [placed] = await api.order(alice, order_wire(ETH, True, "2900", "0.01", c=cloid(12)))
    too_early = await api.exchange(alice, {"type": "scheduleCancel", "time": 1})
    assert too_early["response"] == ("Scheduled cancel time too early, must be at least 5 "
                                     "seconds from now.")
    # Fire it by moving the exchange's notion of "now" forward instead of sleeping 5 s.
    sim.engine.scheduled_cancels[alice.address.lower()] = 0
    sim.engine.fire_scheduled_cancels(1)
    assert sim.truth.orders(alice.address)[cloid(12)]["status"] == "scheduledCancel"
    assert placed["resting"]["oid"] == sim.truth.orders(alice.address)[cloid(12)]["oid"]


async def test_reduce_only_stop_without_position_is_refused(api: Api, alice: LocalAccount) -> None:
    wire = order_wire(ETH, False, "2800", "0.01", reduce_only=True)
    wire["t"] = {"trigger": {"isMarket": True, "triggerPx": "2800", "tpsl": "sl"}}
    [status] = await api.order(alice, wire)
    assert status == {"error": "Reduce only order would increase position. asset=1"}


async def test_spot_trade_moves_balances(sim: SimulatedExchange, api: Api, alice: LocalAccount,
                                         bob: LocalAccount) -> None:
    await api.order(bob, order_wire(PURR, True, "0.2", "100"))
    [sold] = await api.order(alice, order_wire(PURR, False, "0.2", "100"))
    assert sold == {"error": "Insufficient spot balance asset=10000"}
    sim.engine.account(bob.address.lower()).spot["PURR"] = D(1000)  # give bob something to sell
    await api.order(bob, order_wire(PURR, False, "0.21", "100"))
    [bought] = await api.order(alice, order_wire(PURR, True, "0.21", "100"))
    assert bought["filled"]["totalSz"] == "100.0"
    assert sim.truth.balances(alice.address)["spot:PURR"] == D("100")
