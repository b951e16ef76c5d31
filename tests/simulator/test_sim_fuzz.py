"""Random corruption of valid requests never crashes the server: every reply is 200 or 422."""

from __future__ import annotations

import copy
import random
from typing import Any

from eth_account.signers.local import LocalAccount
from sim_helpers import Api, cloid, order_action, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange

JUNK: list[Any] = [None, True, -1, 0, 2**63, "x", "", "-5", "1e9", "NaN", [], {}, [1], {"a": 1},
                   1.5, "0x" + "f" * 40, -(2**63)]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


async def test_random_corruption(sim: SimulatedExchange, api: Api, alice: LocalAccount) -> None:
    rng = random.Random(1234)
    bodies = [
        api.envelope(alice, order_action(order_wire(1, True, "2900", "0.01", c=cloid(1)))),
        api.envelope(alice, {"type": "cancel", "cancels": [{"a": 1, "o": 5}]}),
        api.envelope(alice, {"type": "cancelByCloid", "cancels": [{"asset": 1,
                                                                   "cloid": cloid(1)}]}),
        api.envelope(alice, {"type": "batchModify", "modifies": [
            {"oid": 5, "order": order_wire(1, True, "2900", "0.01")}]}),
        api.envelope(alice, {"type": "updateLeverage", "asset": 1, "isCross": True,
                             "leverage": 5}),
        api.envelope(alice, {"type": "scheduleCancel", "time": 1}),
    ]
    for _ in range(300):
        body = copy.deepcopy(rng.choice(bodies))
        path = rng.choice(_paths(body))
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = rng.choice(JUNK)
        status, _ = await api.post_raw(body)
        assert status in (200, 422), (path, body)
    for info in ({"type": "l2Book", "coin": 5}, {"type": "userFillsByTime", "user": alice.address,
                                                  "startTime": "x"},
                 {"type": "orderStatus", "user": alice.address, "oid": [1]}):
        async with api.session.post(api.base_url + "/info", json=info) as resp:
            assert resp.status == 422
