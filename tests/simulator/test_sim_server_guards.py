"""The local exchange as a server on a network: nesting depth, declared and slow bodies, idle
connections, WebSocket slots per client, bounded account creation, strict signatures and numbers.
Every test talks to a real server on 127.0.0.1 with bounded waits."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sim_helpers import Api, order_action, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from connectors.hyperliquid.simulator.auth import SECP256K1_N
from connectors.hyperliquid.simulator.config import SimulatorConfigError

ETH = 1


def _nested(depth: int) -> str:
    """JSON text of ``"meta"`` inside ``depth`` lists (built as text: serialisers cap depth)."""
    return "[" * depth + '"meta"' + "]" * depth


async def _post_raw(api: Api, path: str, data: bytes) -> tuple[int, str]:
    async with api.session.post(api.base_url + path, data=data,
                                headers={"Content-Type": "application/json"}) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize("path", ["/info", "/exchange"])
async def test_deep_nesting_is_refused_not_a_500(api: Api, path: str) -> None:
    for depth in (200, 1000):
        body = f'{{"type": {_nested(depth)}, "action": {_nested(depth)}}}'
        status, text = await _post_raw(api, path, body.encode())
        assert status == 422 and "recursion limit exceeded" in text, (depth, status, text[:200])
    status, _ = await _post_raw(api, "/info", b'{"type": "allMids"}')
    assert status == 200  # the server is fine afterwards


async def test_deep_ws_messages_get_an_error_and_keep_the_connection(sim: SimulatedExchange,
                                                                     api: Api) -> None:
    async with api.session.ws_connect(sim.ws_url) as ws:
        for message in (f'{{"method": "subscribe", "subscription": {_nested(300)}}}',
                        f'{{"method": "post", "id": 1, "request": {{"type": "info", '
                        f'"payload": {_nested(300)}}}}}'):
            await ws.send_str(message)
            async with asyncio.timeout(5):
                reply = await ws.receive_json()
            assert reply["channel"] == "error" and "recursion limit" in reply["data"]
        await ws.send_json({"method": "ping"})
        async with asyncio.timeout(5):
            assert (await ws.receive_json()) == {"channel": "pong"}


async def _raw_request(port: int, head: bytes, body: bytes, wait_s: float) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        await writer.drain()
        async with asyncio.timeout(wait_s):
            return await reader.read(4096)
    finally:
        writer.close()


async def test_huge_declared_length_is_413_at_once(sim: SimulatedExchange) -> None:
    head = (b"POST /info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000000\r\n\r\n")
    reply = await _raw_request(sim.port, head, b"{}", wait_s=5)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]


async def test_slow_body_and_idle_connection_are_timed_out() -> None:
    config = SimulatorConfig(market_maker=False, request_timeout_s=0.5, idle_timeout_s=0.5)
    async with SimulatedExchange(config) as sim:
        head = (b"POST /info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n")
        reply = await _raw_request(sim.port, head, b'{"type"', wait_s=5)
        assert reply.startswith(b"HTTP/1.1 408") or reply == b"", reply[:100]
        # A connection that never sends a request is closed too (read returns EOF).
        assert await _raw_request(sim.port, b"", b"", wait_s=5) == b""


async def test_one_client_cannot_take_every_ws_slot() -> None:
    config = SimulatorConfig(market_maker=False, max_ws_connections=100, max_ws_per_client=2)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        first = await session.ws_connect(sim.ws_url)
        second = await session.ws_connect(sim.ws_url)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(sim.ws_url)
        assert refused.value.status == 429
        await first.close()
        for _ in range(50):  # the server frees the slot once it sees the close
            if len(sim.hub.connections) < 2:
                break
            await asyncio.sleep(0.05)
        third = await session.ws_connect(sim.ws_url)
        await second.close()
        await third.close()


async def test_never_seen_wallet_trades_and_auto_creation_is_capped() -> None:
    config = SimulatorConfig(market_maker=False, max_auto_accounts=2)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim.base_url)
        first, second, third = Account.create(), Account.create(), Account.create()
        statuses = await api.order(first, order_wire(ETH, True, "2900", "0.01"))
        assert "resting" in statuses[0]  # funded on first use, by its first order
        state = await api.info({"type": "clearinghouseState", "user": second.address})
        assert state["marginSummary"]["accountValue"] == "1000000.0"
        assert len(sim.engine.accounts) == 2
        for _ in range(20):  # /info cannot grow the exchange past the cap
            await api.info({"type": "openOrders", "user": Account.create().address})
        assert len(sim.engine.accounts) == 2
        reply = await api.exchange(third, order_action(order_wire(ETH, True, "2900", "0.01")))
        assert reply == {"status": "err", "response": f"User or API Wallet "
                                                      f"{third.address.lower()} does not exist."}
        sim.fund(third.address)  # the faucet is not capped
        assert "resting" in (await api.order(third, order_wire(ETH, True, "2900", "0.01")))[0]


async def test_live_account_rule_creates_nothing_on_first_use() -> None:
    config = SimulatorConfig(market_maker=False, auto_fund=False)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim.base_url)
        wallet = Account.create()
        state = await api.info({"type": "clearinghouseState", "user": wallet.address})
        assert state["marginSummary"]["accountValue"] == "0.0"
        reply = await api.exchange(wallet, order_action(order_wire(ETH, True, "2900", "0.01")))
        assert reply["response"] == f"User or API Wallet {wallet.address.lower()} does not exist."
        assert sim.engine.accounts == {}


def _twin(signature: dict[str, Any]) -> dict[str, Any]:
    """The high-s twin: (r, n - s) with the other parity recovers the same key."""
    s = int(signature["s"], 16)
    return {"r": signature["r"], "s": hex(SECP256K1_N - s), "v": 55 - signature["v"]}


async def test_only_strict_signatures_are_accepted(sim: SimulatedExchange, api: Api,
                                                   alice: LocalAccount) -> None:
    action = order_action(order_wire(ETH, True, "2900", "0.01"))
    valid = api.envelope(alice, action)
    bad_shapes = [{**valid["signature"], "v": True}, {**valid["signature"], "v": "27"},
                  {**valid["signature"], "r": valid["signature"]["r"][2:]},
                  {**valid["signature"], "s": "0x" + "1" * 65}]
    for signature in bad_shapes:
        status, text = await api.post_raw({**valid, "signature": signature})
        assert status == 422, (signature, text)
    invalid = [_twin(valid["signature"]), {**valid["signature"], "v": 2**63},
               {**valid["signature"], "v": 1}, {**valid["signature"], "r": "0x0"},
               {**valid["signature"], "r": hex(SECP256K1_N)}]
    for signature in invalid:
        status, reply = await api.post_raw({**valid, "signature": signature})
        assert status == 200 and reply == {"status": "err",
                                           "response": "Unable to recover signer."}, signature
    assert sim.truth.orders(alice.address) == {}
    status, reply = await api.post_raw(valid)  # the original low-s signature still works
    assert reply["status"] == "ok" and "resting" in reply["response"]["data"]["statuses"][0]


@pytest.mark.parametrize("price", [" 2900", "2900 ", "2_900", "\u0662\u0669\u0660\u0660", "+2900",
                                   "2900.", ".5", "1e3", "-2900", "2900.0.0", "0x10",
                                   "1" * 41])
async def test_only_plain_ascii_decimals_are_numbers(api: Api, alice: LocalAccount,
                                                     price: str) -> None:
    body = api.envelope(alice, order_action(order_wire(ETH, True, price, "0.01")))
    status, text = await api.post_raw(body)
    assert status == 422 and "not a plain decimal number" in text, (price, text)


async def test_out_of_range_integers_are_422_not_500(api: Api, alice: LocalAccount) -> None:
    # orjson reads integers past 64 bits as floats ("wrong type"); a u64 past i64 stays an int.
    for action in (order_action(order_wire(2**70, True, "2900", "0.01")),
                   {"type": "cancel", "cancels": [{"a": ETH, "o": 2**64}]}):
        body = api.envelope(alice, {"type": "noop"})
        body["action"] = action  # the signature no longer matters: parsing comes first
        status, text = await api.post_raw(body)
        assert status == 422 and "Failed to deserialize" in text, text
    body = api.envelope(alice, {"type": "noop"})
    body["nonce"] = 2**64
    status, text = await api.post_raw(body)
    assert status == 422, text


@pytest.mark.parametrize("field,value", [("initial_usdc", Decimal("NaN")),
                                         ("initial_usdc", Decimal("Infinity")),
                                         ("initial_usdc", Decimal(-5)),
                                         ("max_ws_per_client", 0), ("max_auto_accounts", -1),
                                         ("request_timeout_s", float("nan"))])
def test_config_refuses_values_it_cannot_run_with(field: str, value: Any) -> None:
    with pytest.raises(SimulatorConfigError, match=field):
        SimulatorConfig(**{field: value})
