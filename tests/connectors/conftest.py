"""Shared fixtures of the connector tests: the local exchange simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    """A simulator with its seeded background market ticking every 0.2 s."""
    config = SimulatorConfig(seed=7, market_maker=True, tick_interval_s=0.2)
    async with SimulatedExchange(config) as exchange:
        yield exchange
