"""The local exchange's native TWAP (reference §13.11): ``twapOrder`` / ``twapCancel`` signed by
the official SDK's signing code, the exchange's refusals, the slice schedule (one suborder every
30 s / ``twap_speedup``, catch-up at most 3x, 3 % slippage bound), slice fills carrying the TWAP
id, ``twapHistory`` / ``userTwapSliceFills`` (read by the official SDK's ``Info`` too), WebSocket
pushes and the state file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.info import Info
from hyperliquid.utils.signing import sign_l1_action
from sim_helpers import Api, order_wire
from test_sim_ws import next_on, subscribe

from connectors.hyperliquid.signing import L1Signer
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from connectors.hyperliquid.twap import twap_cancel_action, twap_order_action

D = Decimal
ZERO_HASH = "0x" + "0" * 64
NEVER = "TWAP was never placed, already canceled, or filled."


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    """A quiet exchange (no market maker) whose TWAPs slice every 0.5 s (30 s / 60)."""
    config = SimulatorConfig(market_maker=False, tick_interval_s=0.05, twap_speedup=60)
    async with SimulatedExchange(config) as exchange:
        yield exchange


async def _twap(api: Api, wallet: LocalAccount, sz: str, minutes: int, *, is_buy: bool = True,
                reduce_only: bool = False, randomize: bool = False) -> Any:
    action = twap_order_action(1, is_buy, sz, reduce_only, minutes, randomize)
    body = await api.exchange(wallet, action)
    assert body["status"] == "ok" and body["response"]["type"] == "twapOrder", body
    return body["response"]["data"]["status"]


async def _history(api: Api, wallet: LocalAccount) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await api.info({"type": "twapHistory",
                                                 "user": wallet.address})
    return rows


async def _until_status(api: Api, wallet: LocalAccount, status: str) -> list[dict[str, Any]]:
    for _ in range(400):  # bounded: 20 s
        rows = await _history(api, wallet)
        if rows and rows[0]["status"]["status"] == status:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {status} row: {rows}")


def test_twap_actions_are_signed_like_the_official_sdk() -> None:
    wallet: LocalAccount = Account.create()
    ours = L1Signer("0x" + bytes(wallet.key).hex())
    for action in (twap_order_action(1, True, "0.11", False, 30, True),
                   twap_cancel_action(1, 15503)):
        for vault in (None, "0x" + "ab" * 20):
            nonce, expires = 1_700_000_000_000, 1_700_000_010_000
            sdk = sign_l1_action(wallet, action, vault, nonce, expires, False)
            assert ours.sign(action, nonce, vault, expires, False) == sdk


async def test_the_exchange_refuses_what_hyperliquid_refuses(
    sim: SimulatedExchange, api: Api, alice: LocalAccount
) -> None:
    assert await _twap(api, alice, "0.1", 4) == {"error": "Invalid TWAP duration: 4 min(s)"}
    assert await _twap(api, alice, "1", 1441) == {"error": "Invalid TWAP duration: 1441 min(s)"}
    assert await _twap(api, alice, "0.01", 5) == {
        "error": "TWAP order value too small. Min is $100."}
    assert await _twap(api, alice, "0.9", 300) == {
        "error": "TWAP order value too small. Min is $3000, which is $10 per minute."}
    assert await _twap(api, alice, "1", 30, reduce_only=True) == {
        "error": "Reduce-only TWAP order would increase position."}
    assert await _twap(api, alice, "0.123456", 5) == {"error": "Order has invalid size."}
    body = await api.exchange(alice, twap_cancel_action(1, 424242))
    assert body["response"] == {"type": "twapCancel", "data": {"status": {"error": NEVER}}}
    assert await _history(api, alice) == []


async def test_slices_follow_the_schedule_and_carry_the_twap_id(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    [rest] = await api.order(bob, order_wire(1, False, "3000", "1"))
    assert "resting" in rest
    status = await _twap(api, alice, "0.11", 5)
    twap_id = status["running"]["twapId"]
    rows = await _until_status(api, alice, "finished")
    assert [r["status"]["status"] for r in rows] == ["finished", "activated"]  # newest first
    created = rows[1]["state"]["timestamp"]
    assert rows[1]["time"] == created // 1000  # seconds, the state's timestamp in ms
    assert rows[0]["state"]["executedSz"] == "0.11" and rows[0]["twapId"] == twap_id
    fills = [f for f in await api.info({"type": "userFills", "user": alice.address})
             if f.get("twapId") == twap_id]
    fills.sort(key=lambda f: f["time"])
    assert len(fills) == 11  # 2 x 5 minutes + 1: one at activation, then every 30 s (scaled)
    assert all(f["sz"] == "0.01" and f["hash"] == ZERO_HASH for f in fills)
    # The k-th suborder is never sent before its slot (30 s / 60 after the previous one).
    assert all(f["time"] >= created + k * 500 for k, f in enumerate(fills))
    orders = await api.info({"type": "historicalOrders", "user": alice.address})
    assert {o["order"]["limitPx"] for o in orders} == {"3090.0"}  # 3 % through the mid, IOC
    sdk = await asyncio.to_thread(Info, sim.base_url, True)  # its constructor reads /info
    sliced = await asyncio.to_thread(sdk.user_twap_slice_fills, alice.address)
    assert len(sliced) == 11 and {s["twapId"] for s in sliced} == {twap_id}
    assert {s["fill"]["tid"] for s in sliced} == {f["tid"] for f in fills}
    later = await api.info({"type": "userTwapSliceFillsByTime", "user": alice.address,
                            "startTime": fills[5]["time"]})
    assert [s["fill"]["tid"] for s in later] == [f["tid"] for f in fills[5:]]


async def test_a_missed_slice_is_caught_up_at_most_three_times_the_normal_size(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    await _twap(api, alice, "0.11", 5)  # nothing to buy yet: the first suborders find no ask
    for _ in range(200):
        if len(await api.info({"type": "historicalOrders", "user": alice.address})) >= 4:
            break
        await asyncio.sleep(0.05)
    await api.order(bob, order_wire(1, False, "3000", "1"))
    rows = await _until_status(api, alice, "finished")
    sizes = [D(f["sz"]) for f in await api.info({"type": "userFills", "user": alice.address})]
    assert max(sizes) == D("0.03") and all(s <= D("0.03") for s in sizes)  # 3 x 0.01
    assert D(rows[0]["state"]["executedSz"]) == sum(sizes) <= D("0.11")


async def test_cancel_stops_the_slices_and_randomize_varies_them(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    await api.order(bob, order_wire(1, False, "3000", "1"))
    twap_id = (await _twap(api, alice, "0.22", 5, randomize=True))["running"]["twapId"]
    for _ in range(200):
        fills = await api.info({"type": "userTwapSliceFills", "user": alice.address})
        if len(fills) >= 4:
            break
        await asyncio.sleep(0.05)
    body = await api.exchange(alice, twap_cancel_action(1, twap_id))
    assert body["response"] == {"type": "twapCancel", "data": {"status": "success"}}
    rows = await _history(api, alice)
    assert rows[0]["status"] == {"status": "terminated"}
    done = D(rows[0]["state"]["executedSz"])
    await asyncio.sleep(1.0)  # two more slots: nothing more is sent
    fills = await api.info({"type": "userTwapSliceFills", "user": alice.address})
    assert sum(D(s["fill"]["sz"]) for s in fills) == done < D("0.22")
    sizes = {D(s["fill"]["sz"]) for s in fills}
    # ±20 % of what is due (the schedule's 0.02 plus any shortfall), never above 3 x 0.02
    assert len(sizes) > 1 and all(D("0.016") * D("0.8") <= s <= D("0.06") for s in sizes)
    body = await api.exchange(alice, twap_cancel_action(1, twap_id))
    assert body["response"]["data"]["status"] == {"error": NEVER}


async def test_websocket_pushes_slice_fills_and_history(
    sim: SimulatedExchange, api: Api, alice: LocalAccount, bob: LocalAccount
) -> None:
    user = alice.address.lower()
    await api.order(bob, order_wire(1, False, "3000", "1"))
    async with api.session.ws_connect(sim.ws_url) as ws:
        await subscribe(ws, {"type": "userTwapHistory", "user": user})
        await subscribe(ws, {"type": "userTwapSliceFills", "user": user})
        twap_id = (await _twap(api, alice, "0.11", 5))["running"]["twapId"]
        history = await next_on(ws, "userTwapHistory")
        assert history["data"]["history"][0]["status"] == {"status": "activated"}
        pushed = await next_on(ws, "userTwapSliceFills")
        [entry] = pushed["data"]["twapSliceFills"]
        assert entry["twapId"] == twap_id and entry["fill"]["coin"] == "ETH"


async def test_running_twaps_survive_a_restart_of_the_exchange(tmp_path: Path) -> None:
    config = SimulatorConfig(market_maker=False, tick_interval_s=0.05, twap_speedup=60,
                             state_file=tmp_path / "sim.json")
    wallet: LocalAccount = Account.create()
    async with aiohttp.ClientSession() as session:
        async with SimulatedExchange(config) as first:
            api = Api(session, first.base_url)
            seller: LocalAccount = Account.create()
            await api.order(seller, order_wire(1, False, "3000", "1"))
            twap_id = (await _twap(api, wallet, "0.11", 5))["running"]["twapId"]
            await asyncio.sleep(1.2)
        async with SimulatedExchange(config) as second:
            api = Api(session, second.base_url)
            rows = await _until_status(api, wallet, "finished")
            assert rows[0]["twapId"] == twap_id and rows[0]["state"]["executedSz"] == "0.11"
            fills = await api.info({"type": "userTwapSliceFills", "user": wallet.address})
            assert len(fills) == 11  # the slices of both runs, none twice
            again = await _twap(api, wallet, "0.11", 5, is_buy=False)
            assert again["running"]["twapId"] == twap_id + 1  # ids continue after the restart
