"""A local Hyperliquid-compatible exchange for tests, demos and paper trading.

It speaks the real wire protocol on one port (POST /info, POST /exchange, WebSocket at /ws),
verifies every signature independently (L1 phantom-agent actions and API wallets approved with
``approveAgent``), enforces nonces, ``expiresAfter``, tick/lot/min-notional rules, matches with
price-time priority, runs a seeded background market, persists to a JSON file and injects faults.

Example::

    from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

    async with SimulatedExchange(SimulatorConfig(seed=7, market_maker=False)) as sim:
        sim.fund("0x14791697260e4c9a71f18484c9f997b308e59325")   # or name the user in /info
        ...  # point any client at sim.base_url / sim.ws_url
        sim.truth.orders(user)

Accounts exist (funded with ``initial_usdc``) from their first use: the first /info request or
WebSocket subscription naming the user, an ``approveAgent`` it signs, or ``sim.fund(user)``.
An L1 action signed by an address that is neither an account nor an approved agent fails with
``User or API Wallet 0x… does not exist.``, exactly as a bad signature does live.
"""

from .config import DEFAULT_MARKETS, MAKER_ADDRESS, TAKER_ADDRESS, MarketSpec, SimulatorConfig
from .faults import FaultInjector, FaultSpec, FaultSpecError, parse_faults
from .server import LISTENING_PREFIX, SimulatedExchange, SimulatorNotRunning, serve
from .truth import Truth

__all__ = [
    "DEFAULT_MARKETS",
    "LISTENING_PREFIX",
    "MAKER_ADDRESS",
    "TAKER_ADDRESS",
    "FaultInjector",
    "FaultSpec",
    "FaultSpecError",
    "MarketSpec",
    "SimulatedExchange",
    "SimulatorConfig",
    "SimulatorNotRunning",
    "Truth",
    "parse_faults",
    "serve",
]
