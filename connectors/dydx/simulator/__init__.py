"""A local dYdX v4-compatible exchange: gRPC node, block timer, matching, Indexer REST/WebSocket.

It answers what the official ``dydx-v4-client`` calls (account, latest block, broadcast,
simulate), verifies signatures, sequences and timeout heights, matches with price-time priority,
expires short-term orders at their goodTilBlock, and serves the Indexer's ``/v4`` REST routes and
WebSocket channels with a configurable lag and dropped best-effort updates. See ``server.py``.
"""

from connectors.dydx.simulator.config import DEFAULT_MARKETS, DydxSimConfig, MarketSpec
from connectors.dydx.simulator.maker import MAKER_ADDRESS
from connectors.dydx.simulator.server import LISTENING_PREFIX, DydxSimulator, serve

__all__ = [
    "DEFAULT_MARKETS",
    "LISTENING_PREFIX",
    "MAKER_ADDRESS",
    "DydxSimConfig",
    "DydxSimulator",
    "MarketSpec",
    "serve",
]
