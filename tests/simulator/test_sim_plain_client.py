"""An independent client built only from the documented wire format: plain aiohttp for REST,
the `websockets` library for the stream, and eth-account + msgpack for signing."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import msgpack
import websockets
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


def sign_l1(key: bytes, action: dict[str, Any], nonce: int, expires_after: int | None) -> dict:
    data = msgpack.packb(action) + nonce.to_bytes(8, "big") + b"\x00"
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    typed = {
        "domain": {"name": "Exchange", "version": "1", "chainId": 1337,
                   "verifyingContract": "0x0000000000000000000000000000000000000000"},
        "types": {"Agent": [{"name": "source", "type": "string"},
                            {"name": "connectionId", "type": "bytes32"}],
                  "EIP712Domain": [{"name": "name", "type": "string"},
                                   {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"},
                                   {"name": "verifyingContract", "type": "address"}]},
        "primaryType": "Agent",
        "message": {"source": "b", "connectionId": keccak(data)},
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), key)
    return {"r": f"0x{signed.r:064x}", "s": f"0x{signed.s:064x}", "v": signed.v}


async def test_plain_wire_client_trades_and_streams() -> None:
    account = Account.create()
    user = account.address.lower()
    async with SimulatedExchange(SimulatorConfig(seed=2, market_maker=False)) as sim, \
            aiohttp.ClientSession() as http:
        await sim.step_market()  # house quotes on the book

        async def info(body: dict[str, Any]) -> Any:
            async with http.post(sim.base_url + "/info", json=body) as resp:
                return await resp.json()

        async def exchange(action: dict[str, Any], nonce: int,
                           expires_after: int | None = None) -> Any:
            body = {"action": action, "nonce": nonce,
                    "signature": sign_l1(account.key, action, nonce, expires_after),
                    "vaultAddress": None, "expiresAfter": expires_after}
            async with http.post(sim.base_url + "/exchange", json=body) as resp:
                return await resp.json()

        meta = await info({"type": "meta"})
        asset = [u["name"] for u in meta["universe"]].index("SOL")
        mids = await info({"type": "allMids"})
        await info({"type": "clearinghouseState", "user": user})

        async with websockets.connect(sim.ws_url) as ws:
            await ws.send(json.dumps({"method": "subscribe",
                                      "subscription": {"type": "orderUpdates", "user": user}}))
            async with asyncio.timeout(3):
                ack = json.loads(await ws.recv())
            assert ack["channel"] == "subscriptionResponse"

            buy_px = f"{round(float(mids['SOL']) * 1.01, 2):g}"
            nonce = time.time_ns() // 1_000_000
            action = {"type": "order", "orders": [{
                "a": asset, "b": True, "p": buy_px, "s": "1", "r": False,
                "t": {"limit": {"tif": "Ioc"}}, "c": "0x" + "0f" * 16}], "grouping": "na"}
            reply = await exchange(action, nonce, expires_after=nonce + 10_000)
            filled = reply["response"]["data"]["statuses"][0]["filled"]
            assert filled["totalSz"] == "1.0" and filled["cloid"] == "0x" + "0f" * 16
            async with asyncio.timeout(3):
                update = json.loads(await ws.recv())
            assert update["channel"] == "orderUpdates"
            assert update["data"][0]["status"] == "filled"

        fills = await info({"type": "userFills", "user": user})
        assert fills[0]["oid"] == filled["oid"] and fills[0]["dir"] == "Open Long"
        status = await info({"type": "orderStatus", "user": user, "oid": filled["oid"]})
        assert status["order"]["status"] == "filled"
        assert sim.truth.positions(user)["SOL"]["szi"] == 1

