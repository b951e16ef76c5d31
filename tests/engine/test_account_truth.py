"""The account's truth end to end: the real engine, the local exchange over HTTP/WebSocket, the
official SDK as another client on the same account, a real SQLite journal.

After every reconciliation the engine's positions and cash equal the exchange's, and the journal
says why: an outside fill, a funding payment, a liquidation — or a correction with both values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

from engine_helpers import mid, wait_for
from kit.account import OutsideClient, account_events, account_problems

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from oms.domain.account_events import (
    AccountCorrected,
    AccountEvent,
    FundingPaid,
    LedgerUpdated,
    OutsideFill,
)
from oms.domain.enums import OrderType
from oms.engine import EngineConfig, OrderManager
from oms.engine.account_config import AccountConfig

D = Decimal
Factory = Callable[[], HyperliquidConnector]


def config(interval: float | None = 0.5) -> EngineConfig:
    return EngineConfig(
        expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5,
        account=AccountConfig(reconcile_interval_s=interval, settle_s=0.1),
    )


def of(events: list[AccountEvent], kind: type) -> list[AccountEvent]:
    return [e for e in events if isinstance(e, kind)]


def unexplained(events: list[AccountEvent]) -> list[AccountCorrected]:
    """Corrections other than the opening ones (the journal's first look at the account)."""
    return [e for e in events if isinstance(e, AccountCorrected) and "opening" not in e.reason]


async def test_outside_trades_while_running_and_while_down(
    sim: SimulatedExchange, make_connector: Factory, private_key: str, sqlite_url: str
) -> None:
    outside = OutsideClient(sim.base_url, private_key)
    oms = await OrderManager.open(sqlite_url, make_connector(), config=config())
    user = oms.connector.account
    try:
        await outside.market("ETH", True, D("0.05"))  # while the engine runs
        await wait_for(lambda: oms.account.position("ETH") == D("0.05"))
        await oms.reconcile_account()
        assert account_problems(oms.account, sim, user) == []
    finally:
        await oms.close()
    await sim.step_market()
    await outside.market("ETH", False, D("0.02"))  # while it is down
    await outside.market("SOL", False, D("1"))
    async with await OrderManager.open(sqlite_url, make_connector(), config=config()) as oms:
        assert account_problems(oms.account, sim, user) == []
        events = await account_events(oms.store, user)
        fills = of(events, OutsideFill)
        assert [(f.pair, f.side.value, f.amount) for f in fills] == [  # type: ignore[union-attr]
            ("ETH", "buy", D("0.05")), ("ETH", "sell", D("0.02")), ("SOL", "sell", D("1"))]
        assert {f.source for f in fills} == {"unknown_order"}  # type: ignore[union-attr]
        assert unexplained(events) == []  # every change was explained by a journaled fill
        assert oms.account.positions["ETH"].outside_fills == 2


async def test_liquidation_and_funding_while_running_and_while_down(
    sim: SimulatedExchange, make_connector: Factory, private_key: str, sqlite_url: str
) -> None:
    oms = await OrderManager.open(sqlite_url, make_connector(), config=config())
    user = oms.connector.account
    try:
        sim.withdraw(user, D("999900"))  # 100 USDC left: a small move liquidates
        px = await mid(oms.connector, "ETH")
        oms.buy("ETH", D("0.5"), OrderType.LIMIT, price=(px * D("1.01")).quantize(D("0.1")))
        await wait_for(lambda: oms.account.position("ETH") == D("0.5"))
        sim.pay_funding(D("0.0001"))  # while running: pushed on userEvents
        await wait_for(lambda: oms.account.positions["ETH"].funding != 0)
        entry = sim.truth.positions(user)["ETH"]["entry_px"]
        assert sim.set_mark("ETH", (entry * D("0.95")).quantize(D("0.1"))) == [user]
        await wait_for(lambda: oms.account.position("ETH") == 0)
        await oms.reconcile_account()
        assert account_problems(oms.account, sim, user) == []
    finally:
        await oms.close()
    # While it is down: a deposit, an outside position, funding, another liquidation.
    sim.deposit(user, D("100"))
    sim.set_mark("ETH", px)
    await sim.step_market()
    await OutsideClient(sim.base_url, private_key).market("ETH", True, D("0.3"))
    sim.pay_funding(D("0.0001"))
    entry = sim.truth.positions(user)["ETH"]["entry_px"]
    assert sim.set_mark("ETH", (entry * D("0.85")).quantize(D("0.1"))) == [user]
    async with await OrderManager.open(sqlite_url, make_connector(), config=config()) as oms:
        assert account_problems(oms.account, sim, user) == []
        events = await account_events(oms.store, user)
        liquidations = [e for e in of(events, OutsideFill) if e.source == "liquidation"]  # type: ignore[union-attr]
        assert len(liquidations) == 2
        assert {e.liquidation_method for e in liquidations} == {"market"}  # type: ignore[union-attr]
        assert all(e.liquidation_mark_price for e in liquidations)  # type: ignore[union-attr]
        assert len(of(events, FundingPaid)) == 2
        assert [e.kind for e in of(events, LedgerUpdated)] == [  # type: ignore[union-attr]
            "withdraw", "deposit"]
        assert unexplained(events) == []
        assert oms.account.position("ETH") == 0


async def test_divergence_is_corrected_within_one_interval_and_raised(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    interval = 0.5
    cfg = config(interval)
    async with await OrderManager.open(sqlite_url, make_connector(), config=cfg) as oms:
        user = oms.connector.account
        alerts: list[AccountEvent] = []
        oms.add_account_listener(on_alert=alerts.append)
        sim.shift_position(user, "ETH", D("0.07"))  # behind everyone's back: no fill, no push
        loop = asyncio.get_running_loop()
        began = loop.time()
        await wait_for(lambda: bool(alerts), limit_s=5.0)
        took = loop.time() - began
        [alert] = alerts
        assert isinstance(alert, AccountCorrected) and alert.field == "size:ETH"
        assert (alert.believed, alert.exchange) == (D(0), D("0.07"))
        assert "never told about" in alert.reason
        # One interval, plus the two reads a difference must survive, plus a loaded machine.
        assert took < interval + 3.0, took
        assert oms.account.position("ETH") == D("0.07")
        events = await account_events(oms.store, user)
        assert unexplained(events) == [alert]
