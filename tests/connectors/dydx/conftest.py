"""Fixtures of the dYdX connector tests: the local dYdX exchange and a connector on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dydx_helpers import ADDRESS, connector_for

from connectors.dydx import DydxConnector
from connectors.dydx.simulator import DydxSimConfig, DydxSimulator


@pytest.fixture
async def dydx_sim() -> AsyncIterator[DydxSimulator]:
    """A local dYdX exchange with 0.1 s blocks and no background market."""
    config = DydxSimConfig(block_interval_s=0.1, market_maker=False, auto_fund=False,
                           funded=(ADDRESS,))
    async with DydxSimulator(config) as sim:
        yield sim


@pytest.fixture
async def dydx_conn(dydx_sim: DydxSimulator, tmp_path: Path) -> AsyncIterator[DydxConnector]:
    """A started connector (client ids journaled in the test's folder)."""
    conn = connector_for(dydx_sim, tmp_path / "ids.jsonl")
    await conn.start()
    try:
        yield conn
    finally:
        await conn.close()
