"""Fixtures of the simulator tests: a running simulator on a free loopback port (no market maker
unless a test asks), an HTTP session, and funded wallets generated at run time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sim_helpers import Api

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    """A quiet simulator (no background market) on 127.0.0.1, free port."""
    exchange = SimulatedExchange(SimulatorConfig(market_maker=False, tick_interval_s=0.05))
    await exchange.start()
    try:
        yield exchange
    finally:
        await exchange.stop()


@pytest.fixture
async def api(sim: SimulatedExchange) -> AsyncIterator[Api]:
    """A signed-request client of ``sim``."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield Api(session, sim.base_url)


def _funded(sim: SimulatedExchange) -> LocalAccount:
    wallet: LocalAccount = Account.create()
    sim.fund(wallet.address)
    return wallet


@pytest.fixture
def alice(sim: SimulatedExchange) -> LocalAccount:
    """A funded trader."""
    return _funded(sim)


@pytest.fixture
def bob(sim: SimulatedExchange) -> LocalAccount:
    """Another funded trader (the counterparty)."""
    return _funded(sim)
