"""State survives a restart of the exchange (in-process and as a subprocess killed by SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from eth_account import Account
from sim_helpers import Api, cloid, now_ms, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

ETH = 1
REPO = Path(__file__).resolve().parents[2]


async def test_restart_keeps_orders_fills_positions_nonces(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    config = SimulatorConfig(market_maker=True, state_file=state, tick_interval_s=0.05)
    alice, bob = Account.create(), Account.create()
    nonce = now_ms()
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim.base_url)
        sim.fund(alice.address)
        sim.fund(bob.address)
        await api.order(bob, order_wire(ETH, False, "3100", "0.5", c=cloid(1)))
        await api.order(alice, order_wire(ETH, True, "3100", "0.2", c=cloid(2)), nonce=nonce)
        await api.order(alice, order_wire(ETH, True, "2500", "0.1", c=cloid(3)))
        before = (sim.truth.orders(alice.address), sim.truth.fills(alice.address),
                  sim.truth.positions(alice.address), sim.truth.orders(bob.address))
        mids_before = sim.engine.all_mids()
    assert state.exists() and not (tmp_path / "sim.json.tmp").exists()
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim.base_url)
        after = (sim.truth.orders(alice.address), sim.truth.fills(alice.address),
                 sim.truth.positions(alice.address), sim.truth.orders(bob.address))
        assert after == before
        assert sim.engine.all_mids() == mids_before
        reply = await api.exchange(alice, {"type": "noop"}, nonce=nonce)
        assert reply["response"] == f"Invalid nonce: duplicate nonce {nonce}"
        # The resting orders are back on the book and still match.
        book = await api.info({"type": "l2Book", "coin": "ETH"})
        assert {"px": "2500.0", "sz": "0.1", "n": 1} in book["levels"][0]
        [placed] = await api.order(alice, order_wire(ETH, True, "2600", "0.1", c=cloid(4)))
        assert placed["resting"]["oid"] > max(o["oid"] for o in before[0].values())


async def test_subprocess_prints_url_and_saves_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "connectors.hyperliquid.simulator", "--port", "0", "--seed", "3",
        "--state-file", str(state), "--no-market-maker", cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(20):
            line = (await proc.stdout.readline()).decode()
        match = re.fullmatch(r"SIMULATOR LISTENING (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, line
        alice = Account.create()
        async with aiohttp.ClientSession() as session:
            api = Api(session, match.group(1))
            await api.info({"type": "clearinghouseState", "user": alice.address})
            await api.order(alice, order_wire(ETH, True, "2900", "0.01", c=cloid(8)))
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    config = SimulatorConfig(market_maker=False, state_file=state)
    async with SimulatedExchange(config) as sim:
        order = sim.truth.orders(alice.address)[cloid(8)]
        assert order["status"] == "open" and order["limit_px"] == Decimal("2900")


def test_corrupt_state_file_is_refused(tmp_path: Path) -> None:
    from connectors.hyperliquid.simulator.persistence import StateFileError

    state = tmp_path / "bad.json"
    state.write_text("{not json")
    with pytest.raises(StateFileError, match="delete"):
        SimulatedExchange(SimulatorConfig(state_file=state))
    assert os.path.exists(state)
