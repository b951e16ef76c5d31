"""Signature checks: accepted signers, tampered payloads, unknown signers, API wallets, vaults.

These run with the live account rule (``auto_fund=False``): with accounts funded on first use, a
tampered payload would recover a random address that the exchange then treats as a new wallet.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.signing import sign_agent
from sim_helpers import Api, fresh_nonce, order_action, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from connectors.hyperliquid.simulator.auth import l1_action_hash


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    """A quiet simulator that funds no account on first use (the live behaviour)."""
    async with SimulatedExchange(SimulatorConfig(market_maker=False, auto_fund=False)) as exchange:
        yield exchange


VECTORS = Path(__file__).resolve().parents[1] / "data" / "hyperliquid_vectors.json"
ETH = 1


def test_action_hash_matches_official_vectors() -> None:
    vectors = json.loads(VECTORS.read_text())["l1_vectors"]
    checked = 0
    for vec in vectors:
        got = l1_action_hash(vec["action"], vec["vault_address"], vec["nonce"],
                             vec["expires_after"])
        assert "0x" + got.hex() == vec["connection_id"], vec["name"]
        checked += 1
    assert checked >= 3


async def test_valid_signature_places_order(api: Api, alice: LocalAccount) -> None:
    statuses = await api.order(alice, order_wire(ETH, True, "2900", "0.01"))
    assert "resting" in statuses[0]


async def test_tampered_action_recovers_other_address(api: Api, alice: LocalAccount) -> None:
    body = api.envelope(alice, order_action(order_wire(ETH, True, "2900", "0.01")))
    body["action"]["orders"][0]["p"] = "2901"  # signed 2900, sent 2901
    status, reply = await api.post_raw(body)
    assert status == 200 and reply["status"] == "err"
    message = reply["response"]
    assert message.startswith("User or API Wallet 0x") and message.endswith(" does not exist.")
    assert alice.address.lower() not in message


async def test_trailing_zero_price_changes_the_signer(api: Api, alice: LocalAccount) -> None:
    # The exchange re-serialises "2900.0" as "2900": a client that hashed "2900.0" is refused.
    reply = await api.exchange(alice, order_action(order_wire(ETH, True, "2900.0", "0.01")))
    assert reply["status"] == "err" and "does not exist" in reply["response"]


async def test_mainnet_signature_on_testnet_exchange_is_refused(api: Api,
                                                                alice: LocalAccount) -> None:
    reply = await api.exchange(alice, order_action(order_wire(ETH, True, "2900", "0.01")),
                               is_mainnet=True)
    assert reply["status"] == "err" and "does not exist" in reply["response"]


async def test_unknown_signer_does_not_exist(api: Api) -> None:
    stranger = Account.create()
    reply = await api.exchange(stranger, order_action(order_wire(ETH, True, "2900", "0.01")))
    assert reply == {"status": "err",
                     "response": f"User or API Wallet {stranger.address.lower()} does not exist."}


async def _approve(api: Api, user: LocalAccount, agent: str, name: str | None = None) -> dict:
    nonce = fresh_nonce()
    action = {"type": "approveAgent", "agentAddress": agent, "agentName": name or "",
              "nonce": nonce}
    signature = sign_agent(user, action, False)
    if name is None:
        del action["agentName"]
    status, reply = await api.post_raw({"action": action, "nonce": nonce, "signature": signature,
                                        "vaultAddress": None, "expiresAfter": None})
    assert status == 200
    return reply


async def test_agent_orders_act_for_the_user(sim: SimulatedExchange, api: Api,
                                             alice: LocalAccount) -> None:
    agent = Account.create()
    assert await _approve(api, alice, agent.address) == {"status": "ok",
                                                          "response": {"type": "default"}}
    statuses = await api.order(agent, order_wire(ETH, True, "2900", "0.01", c="0x" + "ab" * 16))
    oid = statuses[0]["resting"]["oid"]
    orders = sim.truth.orders(alice.address)
    assert orders["0x" + "ab" * 16]["oid"] == oid
    assert sim.truth.orders(agent.address) == {}
    open_orders = await api.info({"type": "openOrders", "user": alice.address})
    assert [o["oid"] for o in open_orders] == [oid]


async def test_replaced_unnamed_agent_is_pruned(api: Api, alice: LocalAccount) -> None:
    first, second = Account.create(), Account.create()
    await _approve(api, alice, first.address)
    await _approve(api, alice, second.address)
    reply = await api.exchange(first, order_action(order_wire(ETH, True, "2900", "0.01")))
    assert reply["status"] == "err" and first.address.lower() in reply["response"]
    assert "resting" in (await api.order(second, order_wire(ETH, True, "2900", "0.01")))[0]


async def test_agent_with_vault_acts_for_the_vault(sim: SimulatedExchange, api: Api,
                                                   alice: LocalAccount) -> None:
    agent, stranger = Account.create(), Account.create()
    await _approve(api, alice, agent.address)
    stranger_addr = stranger.address.lower()
    reply = await api.exchange(agent, order_action(order_wire(ETH, True, "2900", "0.01")),
                               vault=stranger_addr)
    assert reply == {"status": "err", "response": f"Vault not registered: {stranger_addr}"}
    vault_addr = sim.create_vault(alice.address)
    sim.fund(vault_addr, Decimal(1000))  # live-mode vaults start empty
    statuses = await api.order(agent, order_wire(ETH, True, "2900", "0.01"), vault=vault_addr)
    assert "resting" in statuses[0]
    assert len(sim.truth.orders(vault_addr)) == 1
    assert sim.truth.orders(alice.address) == {}


async def test_malformed_signature_is_unprocessable(api: Api, alice: LocalAccount) -> None:
    body = api.envelope(alice, order_action(order_wire(ETH, True, "2900", "0.01")))
    body["signature"] = {"r": "0xzz", "s": "0x01", "v": 27}
    status, text = await api.post_raw(body)
    assert status == 422 and "Failed to deserialize" in text
    body["signature"] = {"r": "0x0", "s": "0x0", "v": 27}
    status, reply = await api.post_raw(body)
    assert status == 200 and reply["status"] == "err"


async def test_configured_accounts_exist_from_the_start() -> None:
    import aiohttp
    from sim_helpers import Api

    from connectors.hyperliquid.simulator import SimulatorConfig

    wallet = Account.create()
    config = SimulatorConfig(market_maker=False, accounts=(wallet.address,))
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        statuses = await Api(session, sim.base_url).order(wallet, order_wire(ETH, True, "2900",
                                                                              "0.01"))
        assert "resting" in statuses[0]
