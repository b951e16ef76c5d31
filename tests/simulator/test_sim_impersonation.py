"""Nobody acts for another account: mallory signs with her own key and tries to act as alice by
every path — vaultAddress, API wallets, oid, cloid, modify, schedule cancel, leverage — and each
one is refused or lands on mallory's own account, leaving alice's orders and settings untouched.
Signing is the official SDK's (``sign_l1_action`` / ``sign_agent``), independent of the simulator.
"""

from __future__ import annotations

import secrets
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.signing import sign_agent
from sim_helpers import Api, cloid, fresh_nonce, order_action, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange
from connectors.hyperliquid.simulator.auth import SECP256K1_N

ETH = 1
ALICE_CLOID = cloid(0xA11CE)


async def _approve(api: Api, user: LocalAccount, agent: str, name: str = "",
                   signature: dict[str, Any] | None = None) -> Any:
    nonce = fresh_nonce()
    action = {"type": "approveAgent", "agentAddress": agent, "agentName": name, "nonce": nonce}
    if signature is None:
        signature = sign_agent(user, action, False)  # adds the chain fields to the action
    else:
        action |= {"signatureChainId": "0x66eee", "hyperliquidChain": "Testnet"}
    status, reply = await api.post_raw({"action": action, "nonce": nonce, "signature": signature,
                                        "vaultAddress": None, "expiresAfter": None})
    assert status == 200, reply
    return reply


async def _alice_rests(api: Api, alice: LocalAccount) -> int:
    statuses = await api.order(alice, order_wire(ETH, True, "2900", "0.01", c=ALICE_CLOID))
    return int(statuses[0]["resting"]["oid"])


def _alice_untouched(sim: SimulatedExchange, alice: LocalAccount, oid: int) -> None:
    orders = sim.truth.orders(alice.address)
    assert orders[ALICE_CLOID]["oid"] == oid and orders[ALICE_CLOID]["status"] == "open"
    account = sim.engine.accounts[alice.address.lower()]
    assert account.leverage == {}
    assert alice.address.lower() not in sim.engine.scheduled_cancels


async def test_naming_another_user_as_vault_is_refused(sim: SimulatedExchange, api: Api,
                                                       alice: LocalAccount,
                                                       bob: LocalAccount) -> None:
    mallory, victim = bob, alice.address.lower()
    oid = await _alice_rests(api, alice)
    attempts = [
        order_action(order_wire(ETH, False, "2900", "0.01")),
        {"type": "cancel", "cancels": [{"a": ETH, "o": oid}]},
        {"type": "cancelByCloid", "cancels": [{"asset": ETH, "cloid": ALICE_CLOID}]},
        {"type": "modify", "oid": oid, "order": order_wire(ETH, True, "100", "1")},
        {"type": "scheduleCancel", "time": fresh_nonce() + 60_000},
        {"type": "updateLeverage", "asset": ETH, "isCross": False, "leverage": 2},
    ]
    for action in attempts:
        reply = await api.exchange(mallory, action, vault=victim)
        assert reply == {"status": "err", "response": f"Vault not registered: {victim}"}, action
    _alice_untouched(sim, alice, oid)


async def test_own_account_paths_never_reach_another_users_orders(
        sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount) -> None:
    mallory = bob
    oid = await _alice_rests(api, alice)
    assert "error" in await api.cancel(mallory, ETH, oid)
    reply = await api.exchange(mallory, {"type": "cancelByCloid",
                                         "cancels": [{"asset": ETH, "cloid": ALICE_CLOID}]})
    assert "error" in reply["response"]["data"]["statuses"][0]
    reply = await api.exchange(mallory, {"type": "modify", "oid": oid,
                                         "order": order_wire(ETH, True, "100", "1")})
    assert reply["status"] == "err"
    reply = await api.exchange(mallory, {"type": "modify", "oid": ALICE_CLOID,
                                         "order": order_wire(ETH, True, "100", "1")})
    assert reply["status"] == "err"
    status = await api.info({"type": "orderStatus", "user": mallory.address, "oid": oid})
    assert status == {"status": "unknownOid"}
    # Mallory's own schedule cancel and leverage land on mallory only.
    when = fresh_nonce() + 60_000
    assert (await api.exchange(mallory, {"type": "scheduleCancel", "time": when}))["status"] == "ok"
    reply = await api.exchange(mallory, {"type": "updateLeverage", "asset": ETH,
                                         "isCross": False, "leverage": 2})
    assert reply["status"] == "ok"
    assert sim.engine.scheduled_cancels == {mallory.address.lower(): when}
    _alice_untouched(sim, alice, oid)


async def test_approve_agent_cannot_capture_an_account_or_anothers_agent(
        sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount) -> None:
    mallory = bob
    # Claiming alice's own address as mallory's API wallet.
    assert await _approve(api, mallory, alice.address) == {
        "status": "err", "response": "Extra agent already used."}
    oid = await _alice_rests(api, alice)  # alice still trades for herself
    assert sim.truth.orders(mallory.address) == {}
    # Taking over alice's API wallet.
    agent = Account.create()
    assert (await _approve(api, alice, agent.address))["status"] == "ok"
    assert await _approve(api, mallory, agent.address) == {
        "status": "err", "response": "Extra agent already used."}
    statuses = await api.order(agent, order_wire(ETH, True, "2800", "0.01"))
    assert sim.truth.orders(alice.address)  # the agent still acts for alice
    assert len(sim.engine.open_orders(alice.address.lower())) == 2
    assert "resting" in statuses[0]
    # An agent cannot approve agents (it has no account of its own).
    other = Account.create()
    reply = await _approve(api, agent, other.address)
    assert reply == {"status": "err", "response": "Must deposit before performing actions. "
                                                  f"User: {agent.address.lower()}"}
    _alice_untouched(sim, alice, oid)


async def test_random_signature_creates_no_account_and_no_agent(sim: SimulatedExchange,
                                                                api: Api) -> None:
    before = set(sim.engine.accounts)
    agent = Account.create()
    for _ in range(5):
        forged = {"r": hex(secrets.randbelow(SECP256K1_N - 1) + 1),
                  "s": hex(secrets.randbelow(SECP256K1_N // 2 - 1) + 1),
                  "v": 27 + secrets.randbelow(2)}
        reply = await _approve(api, agent, agent.address, signature=forged)
        assert reply["status"] == "err", reply
    assert set(sim.engine.accounts) == before
    assert sim.engine.agents.agents == {}


async def test_wrong_chain_approval_is_refused(api: Api, alice: LocalAccount) -> None:
    agent = Account.create()
    nonce = fresh_nonce()
    action = {"type": "approveAgent", "agentAddress": agent.address, "agentName": "",
              "nonce": nonce}
    signature = sign_agent(alice, action, True)  # signed for mainnet; this exchange is testnet
    status, reply = await api.post_raw({"action": action, "nonce": nonce, "signature": signature,
                                        "vaultAddress": None, "expiresAfter": None})
    assert status == 200 and reply["status"] == "err" and "Testnet" in reply["response"]


async def test_vault_is_traded_only_by_its_leader_and_the_leaders_agent(
        sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount) -> None:
    mallory = bob
    vault = sim.create_vault(alice.address)
    mallory_agent = Account.create()
    assert (await _approve(api, mallory, mallory_agent.address))["status"] == "ok"
    for signer in (mallory, mallory_agent):
        for action in (order_action(order_wire(ETH, True, "2900", "0.01")),
                       {"type": "scheduleCancel", "time": fresh_nonce() + 60_000},
                       {"type": "updateLeverage", "asset": ETH, "isCross": True, "leverage": 3}):
            reply = await api.exchange(signer, action, vault=vault)
            assert reply == {"status": "err",
                             "response": "Only leader can perform this vault action"}
    assert sim.truth.orders(vault) == {} and vault not in sim.engine.scheduled_cancels
    alice_agent = Account.create()
    assert (await _approve(api, alice, alice_agent.address))["status"] == "ok"
    statuses = await api.order(alice_agent, order_wire(ETH, True, "2900", "0.01"), vault=vault)
    assert "resting" in statuses[0] and len(sim.truth.orders(vault)) == 1


async def test_sub_account_is_traded_only_by_its_master(sim: SimulatedExchange, api: Api,
                                                        alice: LocalAccount,
                                                        bob: LocalAccount) -> None:
    mallory = bob
    reply = await api.exchange(alice, {"type": "createSubAccount", "name": "desk"})
    assert reply["status"] == "ok" and reply["response"]["type"] == "createSubAccount"
    sub = reply["response"]["data"]
    reply = await api.exchange(mallory, order_action(order_wire(ETH, True, "2900", "0.01")),
                               vault=sub)
    assert reply == {"status": "err", "response": f"Sub-account {sub} is not registered to "
                                                  f"{mallory.address.lower()}"}
    statuses = await api.order(alice, order_wire(ETH, True, "2900", "0.01"), vault=sub)
    assert "resting" in statuses[0]
    assert len(sim.truth.orders(sub)) == 1 and sim.truth.orders(alice.address) == {}
    # A sub-account address can be neither an API wallet nor a signer of its own.
    assert (await _approve(api, mallory, sub))["response"] == "Extra agent already used."
