"""Engine fixtures: the local exchange on loopback, a fresh key, a real connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    """A local exchange with the background market maker off (tests step it explicitly)."""
    async with SimulatedExchange(SimulatorConfig(seed=11, market_maker=False)) as exchange:
        await exchange.step_market()  # one tick puts a book around each mid
        yield exchange


@pytest.fixture
def private_key() -> str:
    """A fresh key made for this test only (never printed)."""
    return "0x" + bytes(Account.create().key).hex()


@pytest.fixture
def make_connector(sim: SimulatedExchange, private_key: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Builds connectors for the test account (each engine start gets a new one)."""

    def build() -> HyperliquidConnector:
        return HyperliquidConnector(
            sim.base_url, private_key=private_key, nonce_file=tmp_path / "nonce",
            request_timeout_s=1.0,
        )

    return build
