"""Bad input never crashes the server: 422 for undeserialisable bodies, 413 for big ones."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from eth_account.signers.local import LocalAccount
from sim_helpers import Api, order_action, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

ETH = 1


async def _post(api: Api, path: str, data: bytes) -> tuple[int, str]:
    async with api.session.post(api.base_url + path, data=data,
                                headers={"Content-Type": "application/json"}) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize("data", [b"{", b"[]", b"null", b'"x"', b'{"action": 5}',
                                  b'{"action": {"type": "order"}, "nonce": 1}'])
async def test_undeserialisable_exchange_bodies(api: Api, data: bytes) -> None:
    status, text = await _post(api, "/exchange", data)
    assert status == 422 and text.startswith("Failed to deserialize the JSON body")


def _mutations(body: dict[str, Any]) -> list[dict[str, Any]]:
    import copy

    out = []
    for path, value in [(("action", "type"), "launchRockets"), (("nonce",), "1"),
                        (("nonce",), True), (("action", "orders", 0, "p"), 3000),
                        (("action", "orders", 0, "s"), "lots"), (("action", "orders", 0, "a"), "1"),
                        (("action", "orders", 0, "t"), {"limit": {"tif": "Forever"}}),
                        (("action", "orders", 0, "c"), "0x1234"), (("action", "grouping"), None),
                        (("signature",), "0xdead"), (("vaultAddress",), "me"),
                        (("expiresAfter",), "soon")]:
        mutated = copy.deepcopy(body)
        target = mutated
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        out.append(mutated)
    return out


async def test_wrong_types_and_unknown_actions(sim: SimulatedExchange, api: Api,
                                               alice: LocalAccount) -> None:
    body = api.envelope(alice, order_action(order_wire(ETH, True, "2900", "0.01")))
    for mutated in _mutations(body):
        status, text = await api.post_raw(mutated)
        assert status == 422, (mutated, text)
    # The server still works afterwards.
    assert "resting" in (await api.order(alice, order_wire(ETH, True, "2900", "0.01")))[0]


async def test_bad_info_requests(api: Api) -> None:
    for data in (b"{", b'{"type": "whatever"}', b'{"type": "openOrders"}',
                 b'{"type": "openOrders", "user": "bob"}',
                 b'{"type": "orderStatus", "user": "0x' + b"1" * 40 + b'", "oid": "x"}'):
        status, text = await _post(api, "/info", data)
        assert status == 422, data
        assert text.startswith("Failed to deserialize the JSON body")


async def test_oversized_body_is_413() -> None:
    config = SimulatorConfig(market_maker=False, max_body_bytes=10_000)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        async with session.post(sim.base_url + "/exchange", data=b"x" * 20_000) as resp:
            assert resp.status == 413
        async with session.post(sim.base_url + "/info", json={"type": "meta"}) as resp:
            assert resp.status == 200
