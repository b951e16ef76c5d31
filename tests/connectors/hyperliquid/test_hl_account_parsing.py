"""Account answers → generic reports: good shapes, bad elements kept with their raw payload."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.hyperliquid.account_parsing import (
    parse_clearinghouse,
    parse_funding_rows,
    parse_ledger_rows,
    parse_spot_clearinghouse,
)
from connectors.hyperliquid.errors import UnexpectedReply

D = Decimal

STATE = {
    "assetPositions": [{"type": "oneWay", "position": {
        "coin": "ETH", "szi": "-0.5", "entryPx": "3000.0", "positionValue": "1450.0",
        "unrealizedPnl": "50.0", "marginUsed": "72.5", "liquidationPx": "4100.5",
        "leverage": {"type": "cross", "value": 20}, "maxLeverage": 25,
        "returnOnEquity": "0.69", "cumFunding": {"allTime": "0", "sinceChange": "0",
                                                  "sinceOpen": "0"}}}],
    "marginSummary": {"accountValue": "1050.0", "totalMarginUsed": "72.5",
                      "totalNtlPos": "1450.0", "totalRawUsd": "2500.0"},
    "crossMarginSummary": {"accountValue": "1050.0", "totalMarginUsed": "72.5",
                           "totalNtlPos": "1450.0", "totalRawUsd": "2500.0"},
    "crossMaintenanceMarginUsed": "36.25", "withdrawable": "977.5", "time": 1700000000000,
}


def test_clearinghouse_state_is_read_whole() -> None:
    snap = parse_clearinghouse(STATE)
    eth = snap.positions["ETH"]
    assert (eth.size, eth.entry_price, eth.mark_price) == (D("-0.5"), D("3000.0"), D("2900"))
    assert (eth.leverage, eth.leverage_type, eth.liquidation_price) == (20, "cross", D("4100.5"))
    assert (snap.account_value, snap.withdrawable, snap.total_margin_used) == (
        D("1050.0"), D("977.5"), D("72.5"))
    assert snap.cash == D("1000.0")  # account value − unrealized PnL


@pytest.mark.parametrize("broken", ["marginSummary", "withdrawable", "time", "assetPositions"])
def test_a_clearinghouse_answer_missing_a_field_is_refused_whole(broken: str) -> None:
    state = {k: v for k, v in STATE.items() if k != broken}
    with pytest.raises(UnexpectedReply, match="clearinghouseState") as caught:
        parse_clearinghouse(state)
    assert "withdrawable" in caught.value.raw or broken == "withdrawable"


def test_a_position_with_a_bad_size_refuses_the_answer() -> None:
    bad = {**STATE, "assetPositions": [{"position": {**STATE["assetPositions"][0]["position"],
                                                     "szi": "NaN"}}]}
    with pytest.raises(UnexpectedReply):
        parse_clearinghouse(bad)


def test_spot_balances() -> None:
    assert parse_spot_clearinghouse({"balances": [
        {"coin": "USDC", "token": 0, "total": "12.5", "hold": "0", "entryNtl": "0"}]}) == {
        "USDC": D("12.5")}


def test_funding_rows_keep_the_good_and_report_the_bad() -> None:
    good = {"time": 5, "hash": "0x" + "0" * 64, "delta": {
        "type": "funding", "coin": "ETH", "usdc": "-0.008151", "szi": "0.275",
        "fundingRate": "0.0000125", "nSamples": None}}
    bad = {"time": 6, "hash": "0x1", "delta": {"type": "funding", "coin": "ETH", "usdc": "1,5",
                                               "szi": "1", "fundingRate": "0.0001"}}
    payments, errors = parse_funding_rows([good, bad])
    assert [(p.pair, p.time_ms, p.usdc, p.size) for p in payments] == [
        ("ETH", 5, D("-0.008151"), D("0.275"))]
    [error] = errors
    assert error.what == "funding" and error.raw is bad


def test_ledger_rows_are_signed_from_the_perp_accounts_side() -> None:
    rows = [
        {"time": 1, "hash": "0xa", "delta": {"type": "deposit", "usdc": "100.0"}},
        {"time": 2, "hash": "0xb", "delta": {"type": "withdraw", "usdc": "40.0", "nonce": 1,
                                             "fee": "1.0"}},
        {"time": 3, "hash": "0xc", "delta": {"type": "accountClassTransfer", "usdc": "5",
                                             "toPerp": False}},
        {"time": 4, "hash": "0xd", "delta": {"type": "spotTransfer", "token": "PURR",
                                             "amount": "3"}},
        {"time": 5, "hash": "0xe", "delta": {"type": "deposit"}},
    ]
    reports, errors = parse_ledger_rows(rows)
    assert [(r.kind, r.usdc) for r in reports] == [
        ("deposit", D("100.0")), ("withdraw", D("-41.0")), ("accountClassTransfer", D("-5"))]
    assert reports[0].key == "ledger:0xa:1"
    assert errors == []  # a row with no usdc is not about perp collateral: skipped, not bad
