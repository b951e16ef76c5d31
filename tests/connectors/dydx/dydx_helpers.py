"""Shared values of the dYdX tests: the official client's test account and a connector factory."""

from __future__ import annotations

from pathlib import Path

from connectors.dydx import DydxConnector
from connectors.dydx.simulator import DydxSimulator

MNEMONIC = (
    "mirror actor skill push coach wait confirm orchard lunch mobile athlete gossip awake miracle"
    " matter bus reopen team ladder lazy list timber render wait"
)
ADDRESS = "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art"


def connector_for(sim: DydxSimulator, ids: Path | None, mnemonic: str = MNEMONIC
                  ) -> DydxConnector:
    """A connector on ``sim`` (blocks as fast as the simulator's)."""
    return DydxConnector(sim.node_url, sim.rest_url, sim.ws_url, mnemonic=mnemonic,
                         chain_id=sim.config.chain_id, client_id_file=ids,
                         block_time_s=sim.config.block_interval_s or 0.1)
