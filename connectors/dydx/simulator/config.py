"""Settings of the local dYdX v4 exchange: markets, block timing, Indexer lag, faults, accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from connectors.dydx.constants import LOCAL_CHAIN_ID, SHORT_BLOCK_WINDOW


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One perpetual market and its grid (BTC/ETH values from ``/v4/perpetualMarkets`` captures
    quoted in the reference; SOL made up on the same pattern)."""

    ticker: str
    clob_pair_id: int
    atomic_resolution: int
    quantum_conversion_exponent: int
    step_base_quantums: int
    subticks_per_tick: int
    oracle_price: Decimal


DEFAULT_MARKETS = (
    MarketSpec("BTC-USD", 0, -10, -9, 1_000_000, 100_000, Decimal("60000")),
    MarketSpec("ETH-USD", 1, -9, -9, 1_000_000, 100_000, Decimal("3000")),
    MarketSpec("SOL-USD", 2, -7, -9, 1_000_000, 1_000_000, Decimal("150")),
)


@dataclass(frozen=True, slots=True)
class DydxSimConfig:
    """How the local exchange behaves.

    - ``block_interval_s``: a block is committed on this timer (0: only by ``produce_block()``).
    - ``indexer_lag_s``: the Indexer (REST and WebSocket) shows what happened this much later.
    - ``drop_best_effort``: probability that a best-effort (mempool-time) order update of a
      short-term order never reaches the Indexer, as when the broadcast node is not the Indexer's.
    - ``auto_fund``: an address gets an account (with ``initial_usdc``) the first time the node is
      asked about it; off, unknown addresses get NOT_FOUND as on a real node.
    - ``stateful_per_block``: block rate limit of stateful places per address (mainnet: 2).
    - ``funding_interval_blocks`` / ``funding_rate``: every that many blocks each open position
      pays ``size × oracle × rate`` (0: no funding); ``liquidations``: a subaccount under its
      maintenance margin is closed at the oracle price (``funding.py``).
    - ``admin_api``: serve ``POST /admin`` on loopback (oracle prices, faults: ``admin.py``).
    """

    chain_id: str = LOCAL_CHAIN_ID
    markets: tuple[MarketSpec, ...] = DEFAULT_MARKETS
    block_interval_s: float = 0.2
    short_block_window: int = SHORT_BLOCK_WINDOW
    indexer_lag_s: float = 0.0
    drop_best_effort: float = 0.0
    seed: int = 7
    market_maker: bool = True
    auto_fund: bool = True
    initial_usdc: Decimal = Decimal("1000000")
    maker_fee_ppm: int = 100
    taker_fee_ppm: int = 500
    stateful_per_block: int = 1000
    forget_unfilled_short_term: bool = True
    funded: tuple[str, ...] = field(default_factory=tuple)
    funding_interval_blocks: int = 50
    funding_rate: Decimal = Decimal("0.0001")
    liquidations: bool = True
    admin_api: bool = False
