"""The dYdX subaccount's truth through the unchanged engine: funding payments, positions, cash,
deposits and a liquidation, reconciled from the Indexer (``connectors/dydx/account.py``).

The local dYdX exchange pays funding every few blocks on the oracle price and liquidates a
subaccount under its maintenance margin; the engine's reconciliation journals each payment once
(``FundingPaid``), the deposit (``LedgerUpdated``) and the liquidation fill (``OutsideFill`` from
a liquidation), and after it the engine's positions and cash equal the chain's — across a restart.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from engine_helpers import wait_for

from connectors.dydx import DydxConnector
from connectors.dydx.simulator import DydxSimConfig, DydxSimulator
from eventstore import EventStore
from oms.domain.account_events import (
    AccountCorrected,
    AccountEvent,
    FundingPaid,
    LedgerUpdated,
    OutsideFill,
    account_stream,
)
from oms.domain.codec import decode_account
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager
from oms.engine.account_config import AccountConfig

D = Decimal
WORDS = "legal winner thank year wave sausage worth useful legal winner thank yellow"
CONFIG = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5,
                      account=AccountConfig(reconcile_interval_s=None, settle_s=0.1))


def _connector(sim: DydxSimulator, tmp_path: Path) -> DydxConnector:
    return DydxConnector(sim.node_url, sim.rest_url, sim.ws_url, mnemonic=WORDS,
                         chain_id=sim.config.chain_id, client_id_file=tmp_path / "ids.jsonl",
                         block_time_s=0.1, request_timeout_s=2.0)


async def _events(url: str, account: str) -> list[AccountEvent]:
    store = await EventStore.open(url)
    try:
        return [decode_account(r.type, r.data, r.event_version)
                async for r in store.read_stream(account_stream("dydx", account))]
    finally:
        await store.close()


def _problems(oms: OrderManager, sim: DydxSimulator, address: str) -> list[str]:
    truth = sim.truth_account(address)
    problems = []
    if oms.account.cash != truth["cash"]:
        problems.append(f"cash: engine {oms.account.cash}, chain {truth['cash']}")
    ours = {p: v.size for p, v in oms.account.positions.items() if v.size}
    if ours != sim.truth_positions(address):
        problems.append(f"positions: engine {ours}, chain {sim.truth_positions(address)}")
    return problems


async def test_funding_positions_and_cash_equal_the_chain_across_a_restart(
    tmp_path: Path, sqlite_url: str
) -> None:
    config = DydxSimConfig(seed=3, block_interval_s=0.1, funding_interval_blocks=4,
                           funding_rate=D("0.001"))
    async with DydxSimulator(config) as sim:
        conn = _connector(sim, tmp_path)
        address = conn.address
        async with await OrderManager.open(sqlite_url, conn, config=CONFIG) as oms:
            with sim.chain.lock:
                price = sim.chain.oracle_prices["ETH-USD"] * D("1.05")
            buy = oms.buy("ETH-USD", D("0.5"), OrderType.LIMIT, price=price)
            await wait_for(lambda: oms.get_order(buy).state is OrderState.FILLED)  # type: ignore[union-attr]
            await wait_for(lambda: len(sim.db.funding.get((address, 0), [])) >= 2)
            report = await oms.reconcile_account()
            assert report.completed and report.funding_fetched >= 2, report.as_dict()
            payments = len(sim.db.funding[(address, 0)])
        async with await OrderManager.open(sqlite_url, _connector(sim, tmp_path),
                                           config=CONFIG) as oms:
            await wait_for(lambda: len(sim.db.funding[(address, 0)]) > payments)
            sim.market_paused = True  # nothing more trades: the maker holds still
            sim.chain.settlement.funding_paused = True
            await wait_for(lambda: D(sim.db.usdc[(address, 0)]).scaleb(-6)
                           == sim.truth_account(address)["usdc"])  # indexed up to the chain
            report = await oms.reconcile_account()
            assert report.completed, report.as_dict()
            assert _problems(oms, sim, address) == []
    events = await _events(sqlite_url, f"{address}/0")
    funding = [e for e in events if isinstance(e, FundingPaid)]
    assert len(funding) == len({e.key for e in funding}) >= 3, "each payment journaled once"
    assert all(e.usdc < 0 and e.size == D("0.5") for e in funding), "a long pays a positive rate"
    deposits = [e for e in events if isinstance(e, LedgerUpdated)]
    assert [(e.kind, e.usdc) for e in deposits] == [("deposit", D("1000000"))]
    assert not [e for e in events if isinstance(e, AccountCorrected)], "nothing unexplained"


async def test_liquidation_is_an_outside_fill_and_the_account_follows(
    tmp_path: Path, sqlite_url: str
) -> None:
    config = DydxSimConfig(seed=6, block_interval_s=0.1, funding_interval_blocks=0,
                           initial_usdc=D("200"))
    async with DydxSimulator(config) as sim:
        conn = _connector(sim, tmp_path)
        address = conn.address
        async with await OrderManager.open(sqlite_url, conn, config=CONFIG) as oms:
            with sim.chain.lock:
                oracle = sim.chain.oracle_prices["ETH-USD"]
            buy = oms.buy("ETH-USD", D("0.5"), OrderType.LIMIT, price=oracle * D("1.05"))
            await wait_for(lambda: oms.get_order(buy).state is OrderState.FILLED)  # type: ignore[union-attr]
            sim.set_oracle("ETH-USD", oracle * D("0.8"))  # equity < 0.03 × notional
            await wait_for(lambda: sim.truth_positions(address) == {})
            await wait_for(lambda: (address, 0) in sim.db.usdc and not sim.db.open_costs[
                (address, 0)].get(1, (0, 0))[0])
            report = await oms.reconcile_account()
            assert report.completed, report.as_dict()
            assert _problems(oms, sim, address) == []
    events = await _events(sqlite_url, f"{address}/0")
    [liquidation] = [e for e in events if isinstance(e, OutsideFill)]
    assert liquidation.source == "liquidation" and liquidation.amount == D("0.5")
    assert not [e for e in events if isinstance(e, AccountCorrected)]
