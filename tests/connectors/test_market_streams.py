"""Typed ``trades``, ``bbo`` and ``userEvents`` streams of the Hyperliquid connector.

Parsers are checked on good and malformed JSON; the streams end to end over real loopback sockets:
against the local exchange simulator (two accounts crossing, the background market, a self-trade
cancel), and against a tiny WebSocket server that pushes malformed messages between good ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import websockets

from connectors.base import (
    BboUpdate,
    BookLevel,
    ExchangeOrderStatus,
    Outcome,
    PlaceOrderRequest,
    Side,
    TimeInForce,
    TradeReport,
    UnknownPair,
)
from connectors.hyperliquid import HyperliquidConnector, UnexpectedReply, cloid_from_client_order_id
from connectors.hyperliquid.market_parsing import (
    parse_bbo,
    parse_funding,
    parse_liquidation,
    parse_non_user_cancel,
    parse_trade,
    parse_trades,
    parse_user_event,
)
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from connectors.hyperliquid.streams import Subscription
from connectors.hyperliquid.user_events import (
    FundingPayment,
    Liquidation,
    NonUserCancel,
    UserEventFills,
)

ALICE_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
BOB_KEY = "0x1111111111111111111111111111111111111111111111111111111111111111"
ALICE = "0x14791697260e4c9a71f18484c9f997b308e59325"  # the address of ALICE_KEY
SELLER = "0x" + "b0" * 20
T = TypeVar("T")

TRADE = {
    "coin": "ETH", "side": "B", "px": "3000.5", "sz": "0.25", "hash": "0xabc", "time": 1_700,
    "tid": 42, "users": ["0xAAAA000000000000000000000000000000000001", SELLER],
}
FILL = {
    "coin": "ETH", "px": "3000.1", "sz": "0.5", "side": "A", "time": 1_701, "oid": 7, "tid": 43,
    "fee": "0.01", "feeToken": "USDC", "crossed": True, "cloid": None,
}
FUNDING = {"time": 1_702, "coin": "ETH", "usdc": "-0.125", "szi": "-1.5", "fundingRate": "0.0001"}
LIQUIDATION = {
    "lid": 9, "liquidator": "0xABC0000000000000000000000000000000000001",
    "liquidated_user": ALICE, "liquidated_ntl_pos": "1234.5",
    "liquidated_account_value": "61.2",
}


# ----- parsers ------------------------------------------------------------------------------


def test_parse_trade() -> None:
    trade = parse_trade(TRADE)
    assert trade == TradeReport(
        pair="ETH", side="buy", price=Decimal("3000.5"), amount=Decimal("0.25"), trade_id="42",
        timestamp_ms=1_700, hash="0xabc", buyer="0xaaaa000000000000000000000000000000000001",
        seller=SELLER,
    )
    sold = parse_trade({**TRADE, "side": "A", "users": None, "hash": ""})
    assert (sold.side, sold.buyer, sold.seller, sold.hash) == ("sell", None, None, None)


@pytest.mark.parametrize(
    "bad",
    [
        {**TRADE, "px": "abc"},
        {**TRADE, "side": "X"},
        {**TRADE, "tid": None},
        {k: v for k, v in TRADE.items() if k != "time"},
        {**TRADE, "users": ["0x1"]},
        ["not", "an", "object"],
        None,
    ],
)
def test_parse_trade_malformed_raises_unexpected_reply(bad: Any) -> None:
    with pytest.raises(UnexpectedReply) as caught:
        parse_trade(bad)
    assert caught.value.raw == repr(bad)


def test_parse_trades_keeps_good_elements_and_reports_bad_ones() -> None:
    trades, errors = parse_trades([TRADE, {**TRADE, "sz": None}, {**TRADE, "tid": 44}, 17])
    assert [t.trade_id for t in trades] == ["42", "44"]
    assert len(errors) == 2 and all(isinstance(e, UnexpectedReply) for e in errors)
    assert parse_trades({"coin": "ETH"})[0] == []
    assert len(parse_trades({"coin": "ETH"})[1]) == 1


def test_parse_bbo() -> None:
    update = parse_bbo(
        {"coin": "ETH", "time": 5, "bbo": [{"px": "2999.5", "sz": "1.2", "n": 3}, None]}
    )
    assert update == BboUpdate("ETH", 5, BookLevel(Decimal("2999.5"), Decimal("1.2"), 3), None)
    both = parse_bbo({"coin": "BTC", "time": 6, "bbo": [None, {"px": "60001", "sz": "0.1"}]})
    assert both.bid is None and both.ask == BookLevel(Decimal("60001"), Decimal("0.1"), 0)


@pytest.mark.parametrize(
    "bad",
    [
        {"coin": "ETH", "time": 5},
        {"coin": "ETH", "time": 5, "bbo": [None]},
        {"coin": "ETH", "time": 5, "bbo": [{"px": "x", "sz": "1"}, None]},
        {"coin": "ETH", "time": 5, "bbo": [{"sz": "1"}, None]},
        {"coin": "ETH", "time": "soon", "bbo": [None, None]},
        "bbo",
    ],
)
def test_parse_bbo_malformed_raises_unexpected_reply(bad: Any) -> None:
    with pytest.raises(UnexpectedReply):
        parse_bbo(bad)


def test_parse_user_event_kinds() -> None:
    events, errors = parse_user_event({"fills": [FILL, {**FILL, "px": None}]})
    assert len(errors) == 1
    [fills] = events
    assert isinstance(fills, UserEventFills)
    assert [(f.trade_id, f.side, f.price) for f in fills.fills] == [
        ("43", "sell", Decimal("3000.1"))
    ]
    assert parse_user_event({"funding": FUNDING}) == (
        [FundingPayment("ETH", 1_702, Decimal("-0.125"), Decimal("-1.5"), Decimal("0.0001"))],
        [],
    )
    assert parse_user_event({"liquidation": LIQUIDATION}) == (
        [
            Liquidation(
                "9", "0xabc0000000000000000000000000000000000001", ALICE, Decimal("1234.5"),
                Decimal("61.2"),
            )
        ],
        [],
    )
    events, errors = parse_user_event(
        {"nonUserCancel": [{"coin": "ETH", "oid": 11}, {"coin": "SOL"}, {"coin": "BTC", "oid": 12}]}
    )
    assert events == [NonUserCancel("ETH", "11"), NonUserCancel("BTC", "12")]
    assert len(errors) == 1
    assert parse_non_user_cancel({"coin": "ETH", "oid": "13"}) == NonUserCancel("ETH", "13")
    assert parse_funding(FUNDING).size == Decimal("-1.5")
    assert parse_liquidation(LIQUIDATION).liquidated_user == ALICE


@pytest.mark.parametrize(
    "bad",
    [
        {"funding": {**FUNDING, "usdc": "lots"}},
        {"funding": None},
        {"liquidation": {"lid": 3}},
        {"nonUserCancel": {"coin": "ETH", "oid": 1}},
        {"nonUserCancel": [{"coin": "ETH", "oid": "x"}]},
        {"fills": "none"},
        {"fills": [{"coin": "ETH"}]},
        {"mystery": []},
        [1, 2],
        None,
    ],
)
def test_parse_user_event_malformed_is_reported_not_raised(bad: Any) -> None:
    events, errors = parse_user_event(bad)
    assert events == []
    assert len(errors) == 1 and isinstance(errors[0], UnexpectedReply) and errors[0].raw


# ----- against the local exchange simulator -------------------------------------------------


async def _next(sub: Subscription[T], pred: Callable[[T], bool], timeout_s: float = 10.0) -> T:
    async def first() -> T:
        async for item in sub:
            if pred(item):
                return item
        raise AssertionError("stream ended")

    return await asyncio.wait_for(first(), timeout_s)


async def _barrier(conn: HyperliquidConnector, pair: str = "ETH") -> BboUpdate:
    """Subscribe ``bbo`` last and wait for its snapshot: the exchange handles one socket's
    messages in order, so every subscription asked for before is live once it arrives."""
    return await _next(conn.subscribe_bbo(pair), lambda q: q.pair == pair)


@pytest.fixture
async def quiet_sim() -> AsyncIterator[Any]:
    """A simulator without the background market: only our own orders are on the books."""
    async with SimulatedExchange(SimulatorConfig(seed=7, market_maker=False)) as exchange:
        yield exchange


def _connector(sim: Any, key: str, nonce_file: Path) -> HyperliquidConnector:
    return HyperliquidConnector(
        sim.base_url, private_key=key, nonce_file=nonce_file, request_timeout_s=2.0
    )


@pytest.fixture
async def conn(sim: Any, tmp_path: Path) -> AsyncIterator[HyperliquidConnector]:
    async with _connector(sim, ALICE_KEY, tmp_path / "alice-nonce") as connector:
        yield connector


@pytest.fixture
async def alice(quiet_sim: Any, tmp_path: Path) -> AsyncIterator[HyperliquidConnector]:
    async with _connector(quiet_sim, ALICE_KEY, tmp_path / "alice-nonce") as connector:
        yield connector


@pytest.fixture
async def bob(quiet_sim: Any, tmp_path: Path) -> AsyncIterator[HyperliquidConnector]:
    async with _connector(quiet_sim, BOB_KEY, tmp_path / "bob-nonce") as connector:
        yield connector


def _order(
    name: str, side: Side, amount: str, price: str, tif: TimeInForce = "Gtc"
) -> PlaceOrderRequest:
    cloid = cloid_from_client_order_id(name)
    return PlaceOrderRequest(cloid, "ETH", side, Decimal(amount), Decimal(price), tif)


async def test_two_accounts_crossing_show_up_on_trades_and_bbo(
    quiet_sim: Any, alice: HyperliquidConnector, bob: HyperliquidConnector
) -> None:
    assert alice.account == ALICE and bob.account != ALICE
    with pytest.raises(UnknownPair):
        alice.subscribe_trades("NOPE")
    trades, same_pair = alice.subscribe_trades("ETH"), alice.subscribe_trades("ETH")
    quotes = alice.subscribe_bbo("ETH")
    fills = alice.fills()
    empty = await _next(quotes, lambda q: q.pair == "ETH")  # the snapshot after subscribing
    assert empty.bid is None and empty.ask is None  # nothing on the book yet
    assert len(quiet_sim.hub.subscribers[("trades", "ETH")]) == 1  # subscribed once

    [ask] = await bob.place_orders([_order("bob-ask", "sell", "0.02", "3010")], None)
    [bid] = await alice.place_orders([_order("alice-bid", "buy", "0.01", "2990")], None)
    assert ask.resting and bid.resting, (ask, bid)
    quote = await _next(quotes, lambda q: q.bid is not None and q.ask is not None)
    assert quote.bid is not None and quote.ask is not None
    assert quote.bid.price == Decimal("2990") < quote.ask.price == Decimal("3010")
    assert (quote.bid.amount, quote.ask.amount) == (Decimal("0.01"), Decimal("0.02"))

    taker = _order("alice-lift", "buy", "0.01", "3010", "Ioc")
    [lifted] = await alice.place_orders([taker], None)
    assert lifted.outcome is Outcome.CONFIRMED and lifted.filled_amount == Decimal("0.01")
    trade = await _next(trades, lambda t: True)
    assert (trade.pair, trade.side, trade.price, trade.amount) == (
        "ETH", "buy", Decimal("3010"), Decimal("0.01")
    )
    assert (trade.buyer, trade.seller) == (alice.account, bob.account)
    assert trade.hash and trade.hash.startswith("0x") and trade.timestamp_ms > 0
    assert await _next(same_pair, lambda t: True) == trade  # both subscriptions see it
    fill = await _next(fills, lambda f: f.cloid == taker.cloid)
    assert fill.trade_id == trade.trade_id
    after = await _next(quotes, lambda q: q.ask is not None and q.ask.amount == Decimal("0.01"))
    assert after.bid is not None and after.bid.price == Decimal("2990")
    assert alice.ws.stats.errors == 0 and alice.ws.stats.malformed == 0


async def test_bbo_of_the_background_market(conn: HyperliquidConnector) -> None:
    quotes = conn.subscribe_bbo("ETH")
    assert conn.subscribe_bbo("ETH") is not quotes
    seen: list[BboUpdate] = []
    for _ in range(3):  # the market maker requotes every tick
        seen.append(await _next(quotes, lambda q: q.bid is not None and q.ask is not None))
    for quote in seen:
        assert quote.pair == "ETH" and quote.timestamp_ms > 0
        assert quote.bid is not None and quote.ask is not None
        assert 0 < quote.bid.price < quote.ask.price
        assert quote.bid.amount > 0 and quote.ask.amount > 0
    assert conn.ws.stats.malformed == 0


async def test_user_events_carry_our_fills_after_a_fill(
    sim: Any, conn: HyperliquidConnector
) -> None:
    events = conn.user_events()
    assert conn.user_events() is not events
    fills = conn.fills()
    quotes = conn.subscribe_bbo("ETH")  # subscribed after userEvents: a barrier too
    quote = await _next(quotes, lambda q: q.ask is not None)
    assert quote.ask is not None
    assert sim.hub.subscribers[("user", conn.account)]
    rule = conn.trading_rule("ETH")
    price = rule.quantize_price(quote.ask.price * Decimal("1.01"))
    request = PlaceOrderRequest(
        cloid_from_client_order_id("ue-taker"), "ETH", "buy", Decimal("0.01"), price, "Ioc"
    )
    [result] = await conn.place_orders([request], None)
    assert result.outcome is Outcome.CONFIRMED and result.filled_amount > 0, result
    pushed = await _next(
        events,
        lambda e: isinstance(e, UserEventFills) and any(f.cloid == request.cloid for f in e.fills),
    )
    assert isinstance(pushed, UserEventFills)
    ours = [f for f in pushed.fills if f.cloid == request.cloid]
    assert sum(f.amount for f in ours) == result.filled_amount
    assert all(f.side == "buy" and not f.is_maker and f.price <= price for f in ours)
    streamed = await _next(fills, lambda f: f.cloid == request.cloid)
    assert streamed.trade_id in {f.trade_id for f in ours}


async def test_self_trade_cancel_is_a_non_user_cancel(
    quiet_sim: Any, alice: HyperliquidConnector
) -> None:
    events = alice.user_events()
    updates = alice.order_updates()
    await _barrier(alice)
    assert quiet_sim.hub.subscribers[("user", alice.account)]
    resting = _order("rest-bid", "buy", "0.01", "2990")
    [placed] = await alice.place_orders([resting], None)
    assert placed.resting and placed.exchange_order_id
    # Our own sell would trade with our bid: the exchange cancels the bid instead (expire maker).
    crossing_sell = _order("self-sell", "sell", "0.01", "2990", "Ioc")
    [crossing] = await alice.place_orders([crossing_sell], None)
    assert crossing.outcome is Outcome.REJECTED  # nothing else to match the IOC against
    cancel = await _next(events, lambda e: isinstance(e, NonUserCancel))
    assert cancel == NonUserCancel("ETH", placed.exchange_order_id)
    update = await _next(
        updates, lambda u: u.cloid == resting.cloid and u.status is ExchangeOrderStatus.CANCELED
    )
    assert update.raw_status == "selfTradeCanceled"
    assert (await alice.order_status(resting.cloid)).status is ExchangeOrderStatus.CANCELED


# ----- malformed pushes over a real socket --------------------------------------------------


def _push(channel: str, data: Any) -> str:
    return json.dumps({"channel": channel, "data": data})


GOOD_CANCEL = {"coin": "ETH", "oid": 77}


def _canned_pushes(account: str) -> list[str]:
    return [
        _push("trades", [TRADE, {**TRADE, "side": "X", "tid": 2}]),  # 1 malformed
        _push("trades", {"coin": "ETH"}),  # 1 malformed
        _push("bbo", {"coin": "ETH", "time": 1, "bbo": [{"px": "oops", "sz": "1"}, None]}),  # 1
        _push("bbo", {"coin": "ETH", "time": 2, "bbo": [{"px": "2999", "sz": "1", "n": 1}, None]}),
        _push("user", {"fills": [{**FILL, "tid": 5}]}),
        _push("user", {"nonUserCancel": [{"coin": "ETH", "oid": "x"}, GOOD_CANCEL]}),  # 1
        _push("user", {"funding": FUNDING}),
        _push("user", {"liquidation": {"lid": 3}}),  # 1 malformed
        _push("user", {"mystery": 1}),  # 1 malformed
        _push("user", "garbage"),  # 1 malformed
        _push("user", {"liquidation": LIQUIDATION}),
        _push("userFills", {"user": account, "fills": [{**FILL, "tid": 6}]}),
    ]


async def test_malformed_pushes_are_counted_and_skipped(sim: Any, tmp_path: Path) -> None:
    account = ALICE

    async def exchange(ws: websockets.ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in ws:
                subscription = json.loads(message).get("subscription", {})
                if subscription == {"type": "userEvents", "user": account}:
                    for push in _canned_pushes(account):
                        await ws.send(push)

    async with websockets.serve(exchange, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        connector = HyperliquidConnector(
            sim.base_url, private_key=ALICE_KEY, nonce_file=tmp_path / "nonce",
            ws_url=f"ws://127.0.0.1:{port}/ws",
        )
        async with connector:
            trades = connector.subscribe_trades("ETH")
            quotes = connector.subscribe_bbo("ETH")
            fills = connector.fills()
            events = connector.user_events()
            # userFills is pushed last: once its fill is here, every push has been handled.
            fill = await _next(fills, lambda f: True)
            assert fill.trade_id == "6"  # the userEvents fill (tid 5) did not feed fills()
            assert connector.ws.stats.malformed == 7
            assert await _next(trades, lambda t: True) == parse_trade(TRADE)
            quote = await _next(quotes, lambda q: True)
            assert quote.bid == BookLevel(Decimal("2999"), Decimal("1"), 1) and quote.ask is None
            received = [await _next(events, lambda e: True) for _ in range(4)]
        assert isinstance(received[0], UserEventFills)
        assert [f.trade_id for f in received[0].fills] == ["5"]
        assert received[1:] == [
            NonUserCancel("ETH", "77"), parse_funding(FUNDING), parse_liquidation(LIQUIDATION)
        ]
        # close() ends every stream, including ones asked for afterwards
        assert [t async for t in trades] == []
        assert [q async for q in connector.subscribe_bbo("BTC")] == []
        assert [e async for e in events] == []
