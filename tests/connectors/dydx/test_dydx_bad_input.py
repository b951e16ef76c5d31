"""Bad input on dYdX: malformed Indexer rows, an unknown account, a sequence mismatch."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from dydx_helpers import connector_for

from connectors.base import ExchangeOrderStatus, Outcome, PlaceOrderRequest, UnknownPair
from connectors.dydx import AccountNotFound, DydxConnector, UnexpectedReply
from connectors.dydx.parsing import parse_fill, parse_order, parse_positions
from connectors.dydx.simulator import DydxSimulator


def _none(row: object) -> None:
    return None


def test_partial_and_malformed_order_rows() -> None:
    partial = {"id": "u1", "subaccountId": "s", "clientId": "7", "status": "BEST_EFFORT_CANCELED",
               "orderFlags": "0", "removalReason": "ORDER_REMOVAL_REASON_USER_CANCELED"}
    report = parse_order(partial, _none, "ETH-USD")
    assert report.status is ExchangeOrderStatus.CANCELED and report.amount is None
    assert report.raw_status == "BEST_EFFORT_CANCELED (ORDER_REMOVAL_REASON_USER_CANCELED)"
    for bad, message in (({"id": "u1"}, "without"), ({**partial, "status": "WEIRD"}, "unknown"),
                         ({**partial, "size": "NaN"}, "not finite"),
                         ({**partial, "size": "1e"}, "not a number"),
                         ({**partial, "side": "UP"}, "side")):
        with pytest.raises(UnexpectedReply, match=message):
            parse_order(bad, _none, "ETH-USD")
    with pytest.raises(UnexpectedReply, match="ticker"):
        parse_order(partial, _none, None)


def test_malformed_fills_and_positions() -> None:
    fill = {"id": "f", "side": "BUY", "liquidity": "TAKER", "market": "ETH-USD", "price": "3000",
            "size": "0.1", "fee": "-0.01", "createdAt": "2026-01-01T00:00:00.000Z",
            "orderId": "o"}
    parsed = parse_fill(fill, _none)
    assert parsed.fee == Decimal("-0.01") and parsed.timestamp_ms == 1_767_225_600_000
    for key in ("orderId", "createdAt", "price"):
        with pytest.raises(UnexpectedReply):
            parse_fill({k: v for k, v in fill.items() if k != key}, _none)
    body = {"subaccount": {"openPerpetualPositions": {
        "ETH-USD": {"size": "0.5", "side": "SHORT", "entryPrice": "3000"}}}}
    assert parse_positions(body)[0].size == Decimal("-0.5")
    with pytest.raises(UnexpectedReply):
        parse_positions({"subaccount": {}})


async def test_the_stream_skips_a_bad_row_and_keeps_its_neighbours(
    dydx_conn: DydxConnector,
) -> None:
    updates = dydx_conn.order_updates()
    rows = [{"id": "x", "status": "??"}, {"id": "y", "status": "OPEN", "ticker": "ETH-USD"}]
    before = dydx_conn.ws.stats.malformed
    dydx_conn.streams.handle("v4_subaccounts", dydx_conn.account, {"orders": rows}, False)
    report = await updates.__anext__()
    assert report.exchange_order_id == "y"
    assert dydx_conn.ws.stats.malformed == before + 1


async def test_an_unfunded_account_is_a_clear_error(dydx_sim: DydxSimulator) -> None:
    conn = connector_for(dydx_sim, None, mnemonic=("zoo " * 11 + "wrong").strip())
    with pytest.raises(AccountNotFound, match="deposit USDC"):
        await conn.start()
    await conn.close()


async def test_unknown_market_is_refused_before_sending(dydx_conn: DydxConnector) -> None:
    req = PlaceOrderRequest("0x" + "1" * 32, "DOGE-USD", "buy", Decimal("1"), Decimal("1"))
    with pytest.raises(UnknownPair):
        await dydx_conn.place_orders([req], None)
    assert len(dydx_conn.ids) == 0


async def test_a_sequence_mismatch_is_resynced_and_the_order_placed(
    dydx_sim: DydxSimulator, dydx_conn: DydxConnector, tmp_path: Path
) -> None:
    # Another process on the same account sends a stateful order: our local sequence is stale.
    other = connector_for(dydx_sim, tmp_path / "other.jsonl")
    await other.start()
    for n in range(10):  # its own client ids start higher (one file per subaccount, normally)
        other.ids.allocate(f"0x{n:032x}", "ETH-USD", 1, 64, 0, 1, 0)
    try:
        first = PlaceOrderRequest("0x" + "2" * 32, "ETH-USD", "buy", Decimal("0.01"),
                                  Decimal("2000"))
        assert (await other.place_orders([first], None))[0].outcome is Outcome.CONFIRMED
    finally:
        await other.close()
    sender = dydx_conn._sender
    assert sender is not None
    req = PlaceOrderRequest("0x" + "3" * 32, "ETH-USD", "buy", Decimal("0.01"), Decimal("2000"))
    [result] = await dydx_conn.place_orders([req], time.time_ns() // 1_000_000 + 2000)
    assert result.outcome is Outcome.CONFIRMED, result.reason
    assert sender.sequence_resyncs == 1 and sender.sequence == 2
