"""A journal belongs to one account: the first engine's claim binds it, an engine of another
account is refused before it writes anything (so the rightful engine keeps trading, unfenced),
and ``oms history`` / ``oms audit export`` name the account of every event. Real local exchange,
real SQLite journal, the ``oms`` command as a subprocess."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from cli_helpers import oms
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.domain.enums import OrderState, OrderType
from oms.engine import OrderManager, RecoveryFailed
from oms.engine.lease import JournalOfAnotherAccount

D = Decimal


def _connector(sim: SimulatedExchange, tmp_path: Path, name: str,
               key: str | None = None) -> HyperliquidConnector:
    key = key or "0x" + bytes(Account.create().key).hex()
    return HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / name)


async def _engine_of_another_account_is_refused(tmp_path: Path, url: str) -> tuple[str, str]:
    config = SimulatorConfig(seed=3, market_maker=False)
    async with SimulatedExchange(config) as sim:
        await sim.step_market()
        key = "0x" + bytes(Account.create().key).hex()
        mine = _connector(sim, tmp_path, "a", key)
        async with await OrderManager.open(url, mine) as first:
            cid = first.buy("ETH", D("0.01"), OrderType.LIMIT, price=D("2000"))
            await first.flush()
            other = _connector(sim, tmp_path, "b")
            with pytest.raises(RecoveryFailed) as refused:
                await OrderManager.open(url, other)
            cause = refused.value.__cause__
            assert isinstance(cause, JournalOfAnotherAccount)
            message = str(refused.value)
            assert f"belongs to account {mine.account} on hyperliquid" in message
            assert f"not to {other.account}" in message and "one journal per account" in message
            await other.close()
            # Nothing was written by the refused engine: the first is not fenced and trades on.
            second = first.buy("ETH", D("0.01"), OrderType.LIMIT, price=D("2001"))
            await first.flush()
            assert first.is_trading
            for c in (cid, second):
                order = first.get_order(c)
                assert order is not None and order.state is OrderState.OPEN
        # The same account opens it again after a restart.
        async with await OrderManager.open(url, _connector(sim, tmp_path, "a", key)) as again:
            assert again.is_trading and len(again.active_orders) == 2
        return mine.account, str(cid)


def test_journal_is_bound_to_its_account_and_shows_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}"
    account, cid = asyncio.run(_engine_of_another_account_is_refused(tmp_path, url))
    lines = oms("audit", "export", "--url", url).stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    assert exported and {(r["venue"], r["account"]) for r in exported} == {
        ("hyperliquid", account)}
    claims = [r for r in exported if r["type"] == "EngineClaimed"]
    assert len(claims) == 2  # first start and restart; the refused engine wrote nothing
    shown = json.loads(oms("history", cid, "--url", url, "--json").stdout)
    assert shown and all(row["account"] == account for row in shown)
    table = oms("history", cid, "--url", url)
    assert table.returncode == 0 and account in table.stdout.replace("\n", "")
