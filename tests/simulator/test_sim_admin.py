"""The loopback admin endpoint: faults and marks changed at run time, bad requests refused."""

from __future__ import annotations

from decimal import Decimal

import aiohttp

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


async def _post(session: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with session.post(url, json=body) as response:
        return response.status, await response.json()


async def test_admin_changes_marks_and_faults_at_run_time() -> None:
    config = SimulatorConfig(seed=5, market_maker=False, admin_api=True)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        admin = f"{sim.base_url}/admin"
        status, reply = await _post(session, admin, {"mark": {"ETH": "2500.5"}})
        assert status == 200 and reply["applied"] == ["mark"]
        assert sim.engine.mids["ETH"] == Decimal("2500.5")
        status, _ = await _post(session, admin, {"http_error": {"status": 503, "count": 1,
                                                               "path": "/info"}})
        assert status == 200
        async with session.post(f"{sim.base_url}/info", json={"type": "allMids"}) as response:
            assert response.status == 503  # the fault set over HTTP is live
        async with session.post(f"{sim.base_url}/info", json={"type": "allMids"}) as response:
            assert response.status == 200
        status, reply = await _post(session, admin, {"faults": "delay=0.01", "reset_faults": 1})
        assert status == 200 and sim.faults.spec.delay == 0.01


async def test_admin_refuses_bad_requests_and_changes_nothing() -> None:
    config = SimulatorConfig(seed=5, market_maker=False, admin_api=True)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        admin = f"{sim.base_url}/admin"
        before = dict(sim.engine.mids)
        for bad, word in [
            ({"mark": {"ETH": "NaN"}}, "positive"),
            ({"mark": {"NOPE": "1"}}, "unknown coin"),
            ({"faults": "delay=-1"}, "delay"),
            ({"frobnicate": 1}, "unknown key"),
            ({"mark": {"ETH": "2000"}, "http_error": {"status": 404}}, "429 or 5xx"),
        ]:
            status, reply = await _post(session, admin, bad)
            assert status == 400 and word in reply["error"], reply
        assert sim.engine.mids == before  # the valid "mark" of the last request was not applied


async def test_admin_is_off_unless_enabled() -> None:
    config = SimulatorConfig(seed=5, market_maker=False)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        status, _ = await _post_raw(session, f"{sim.base_url}/admin")
        assert status in (404, 405)


async def _post_raw(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.post(url, json={"mark": {"ETH": "1"}}) as reply:
        return reply.status, await reply.text()
