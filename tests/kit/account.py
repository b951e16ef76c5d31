"""Helpers of the account tests: another client on the same account (the official SDK through an
API wallet the account approved), reading the account's journal stream, comparing with the
exchange's truth."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import eth_account
from hyperliquid.exchange import Exchange

from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import EventStore
from oms.domain.account import AccountState
from oms.domain.account_events import AccountEvent, account_stream
from oms.domain.codec import decode_account


class OutsideClient:
    """The official ``hyperliquid-python-sdk`` trading the engine's account through its own API
    wallet (another bot, or the web UI): its orders are unknown to the engine. The SDK is
    synchronous, so every call runs in a thread while the simulator serves on this loop."""

    def __init__(self, base_url: str, private_key: str) -> None:
        self.base_url = base_url
        self.wallet = eth_account.Account.from_key(private_key)
        self._agent: Exchange | None = None

    async def _exchange(self) -> Exchange:
        if self._agent is None:
            def build() -> Exchange:
                owner = Exchange(self.wallet, self.base_url)
                approved, agent_key = owner.approve_agent()
                assert approved["status"] == "ok", approved
                agent = eth_account.Account.from_key(agent_key)
                return Exchange(agent, self.base_url, account_address=self.wallet.address)

            self._agent = await asyncio.to_thread(build)
        return self._agent

    async def prepare(self) -> None:
        """Approve the API wallet now (one action signed by the account's own key)."""
        await self._exchange()

    async def market(self, coin: str, is_buy: bool, size: Decimal) -> dict[str, Any]:
        """A market order (IOC at 5 % slippage) of ``size``; returns the exchange's status."""
        agent = await self._exchange()
        reply = await asyncio.to_thread(agent.market_open, coin, is_buy, float(size), None, 0.05)
        status: dict[str, Any] = reply["response"]["data"]["statuses"][0]
        assert "filled" in status, reply
        return status


async def account_events(store: EventStore, account: str) -> list[AccountEvent]:
    """Every event of the account's journal stream, in order."""
    stream = account_stream("hyperliquid", account)
    return [decode_account(r.type, r.data, r.event_version)
            async for r in store.read_stream(stream)]


def account_problems(account: AccountState, sim: SimulatedExchange, user: str) -> list[str]:
    """Differences between the engine's account and the exchange's: perp sizes, entry prices,
    cash (collateral incl. realized PnL, fees and funding) and margin used."""
    problems: list[str] = []
    truth = sim.truth.positions(user)
    pairs = {p for p, v in account.positions.items() if v.size} | set(truth)
    for pair in sorted(pairs):
        ours = account.position(pair)
        theirs = truth[pair]["szi"] if pair in truth else Decimal(0)
        if ours != theirs:
            problems.append(f"{pair}: engine size {ours}, exchange {theirs}")
    cash = sim.truth.balances(user)["USDC"]
    if abs(account.cash - cash) > Decimal("0.000001"):
        problems.append(f"cash: engine {account.cash}, exchange {cash}")
    return problems
