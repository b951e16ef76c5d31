"""API (agent) wallets: the agent signs, every query uses the account; an agent key given without
its account is refused at start with the fix named (its own address has nothing to reconcile)."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest
from eth_account import Account
from hyperliquid.utils.signing import get_timestamp_ms, sign_agent

from connectors.base import Outcome, PlaceOrderRequest
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.errors import AgentKeyWithoutAccount
from connectors.hyperliquid.simulator import SimulatedExchange


async def _approve(sim: SimulatedExchange, master_key: bytes, agent: str) -> None:
    master = Account.from_key(master_key)
    nonce = get_timestamp_ms()
    action = {"type": "approveAgent", "agentAddress": agent, "agentName": "", "nonce": nonce}
    signature = sign_agent(master, action, False)
    async with aiohttp.ClientSession() as session, session.post(
            sim.base_url + "/exchange", json={"action": action, "nonce": nonce,
                                              "signature": signature, "vaultAddress": None,
                                              "expiresAfter": None}) as resp:
        assert (await resp.json())["status"] == "ok"


async def test_agent_key_trades_for_the_account_and_is_refused_without_it(
        sim: SimulatedExchange) -> None:
    master, agent = Account.create(), Account.create()
    sim.fund(master.address)
    await _approve(sim, master.key, agent.address)
    agent_key = "0x" + bytes(agent.key).hex()
    lone = HyperliquidConnector(sim.base_url, private_key=agent_key, rules_refresh_s=0)
    with pytest.raises(AgentKeyWithoutAccount, match=master.address.lower()):
        await lone.start()
    await lone.close()
    async with HyperliquidConnector(sim.base_url, private_key=agent_key, rules_refresh_s=0,
                                    account_address=master.address) as conn:
        assert conn.account == master.address.lower()
        cloid = "0x" + "5a" * 16
        [result] = await conn.place_orders(
            [PlaceOrderRequest(cloid, "ETH", "buy", Decimal("0.01"), Decimal("1000"))],
            get_timestamp_ms() + 10_000)
        assert result.outcome is Outcome.CONFIRMED
        status = await conn.order_status(cloid)  # queried by the account, not the agent
        assert status.exchange_order_id == result.exchange_order_id
        assert sim.truth.orders(master.address)[cloid]["status"] == "open"
    role = await _info(sim, {"type": "userRole", "user": agent.address})
    assert role == {"role": "agent", "data": {"user": master.address.lower()}}
    assert await _info(sim, {"type": "userRole", "user": master.address}) == {"role": "user"}
    assert await _info(sim, {"type": "userRole", "user": "0x" + "77" * 20}) == {
        "role": "missing"}


async def _info(sim: SimulatedExchange, body: dict[str, str]) -> object:
    async with aiohttp.ClientSession() as session, session.post(sim.base_url + "/info",
                                                                json=body) as resp:
        return await resp.json()
