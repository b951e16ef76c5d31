"""Bad account input: a fill in an asset the exchange does not list, a funding row with a
malformed amount, a clearinghouse answer missing fields. Each is journaled as an anomaly with the
raw payload; nothing crashes and no position moves on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from kit.account import account_events, account_problems

from connectors.base import ExchangeUnavailable
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, handlers_info
from oms.domain.account_events import AccountAnomaly, AccountEvent
from oms.engine import EngineConfig, OrderManager
from oms.engine.account_config import AccountConfig
from oms.engine.errors import RecoveryFailed

D = Decimal
Factory = Callable[[], HyperliquidConnector]
CONFIG = EngineConfig(
    account=AccountConfig(reconcile_interval_s=None, settle_s=0.05), recovery_read_retry_s=0.5
)


def anomalies(events: list[AccountEvent]) -> list[AccountAnomaly]:
    return [e for e in events if isinstance(e, AccountAnomaly)]


async def test_fill_in_unknown_asset_is_an_anomaly_once(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=CONFIG) as oms:
        user = oms.connector.account
        fill = {"coin": "NOPE", "px": "1.5", "sz": "10", "side": "B", "time": 1, "oid": 424242,
                "tid": 99, "fee": "0.01", "feeToken": "USDC", "crossed": True, "cloid": None,
                "hash": "0x" + "ab" * 32, "dir": "Open Long", "startPosition": "0",
                "closedPnl": "0"}
        for _ in range(3):  # live, then again as if in a snapshot and a gap fill
            sim.engine.pending_fills[user].append(dict(fill))
            sim._flush()
        events: list[AccountEvent] = []

        async def read() -> None:
            events[:] = await account_events(oms.store, user)

        for _ in range(100):  # bounded: 5 s
            await read()
            if anomalies(events):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the two repeats have had time to arrive too
        await read()
        [anomaly] = anomalies(events)
        assert anomaly.kind == "unknown_asset"
        assert anomaly.raw["coin"] == "NOPE" and anomaly.raw["tid"] == 99
        assert "NOPE" not in oms.account.positions
        assert account_problems(oms.account, sim, user) == []


async def test_malformed_funding_row_is_an_anomaly_with_its_raw_payload(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=CONFIG) as oms:
        user = oms.connector.account
        now = (await oms.connector.rest.info({"type": "exchangeStatus"}))["time"]
        bad = {"time": now, "hash": "0x" + "0" * 64,
               "delta": {"type": "funding", "coin": "ETH", "usdc": "12,5", "szi": "1",
                         "fundingRate": "0.0001", "nSamples": None}}
        sim.engine.history.fundings.setdefault(user, []).append(bad)
        report = await oms.reconcile_account()
        assert report.completed and report.anomalies == 1
        [anomaly] = anomalies(await account_events(oms.store, user))
        assert anomaly.kind == "malformed_funding"
        assert anomaly.raw["delta"]["usdc"] == "12,5"
        assert oms.account.positions.get("ETH") is None  # nothing applied
        assert account_problems(oms.account, sim, user) == []


async def test_clearinghouse_missing_fields_never_moves_a_position(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = handlers_info.clearinghouse_state

    def without_summary(*args: Any) -> dict[str, Any]:
        answer = real(*args)
        del answer["marginSummary"]
        return answer

    async with await OrderManager.open(sqlite_url, make_connector(), config=CONFIG) as oms:
        user = oms.connector.account
        sim.shift_position(user, "ETH", D("0.2"))  # a real difference the bad answer hides
        monkeypatch.setattr(handlers_info, "clearinghouse_state", without_summary)
        with pytest.raises(ExchangeUnavailable, match="clearinghouseState"):
            await oms.reconcile_account()
        assert oms.is_trading  # a failed periodic round is retried, never a crash
        [anomaly] = anomalies(await account_events(oms.store, user))
        assert anomaly.kind == "malformed_clearinghouse"
        assert "assetPositions" in anomaly.raw["reply"]  # the raw answer, kept
        assert oms.account.position("ETH") == 0  # no silently wrong position
        monkeypatch.setattr(handlers_info, "clearinghouse_state", real)
        await oms.reconcile_account()
        assert oms.account.position("ETH") == D("0.2")
    # At start-up the same answer keeps the engine closed, saying why.
    monkeypatch.setattr(handlers_info, "clearinghouse_state", without_summary)
    with pytest.raises(RecoveryFailed, match="account"):
        await OrderManager.open(sqlite_url, make_connector(), config=CONFIG)
