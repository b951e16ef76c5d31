"""Configuration of the local exchange: markets, fees, limits and the market maker's seed.

Example::

    config = SimulatorConfig(seed=7, market_maker=False, initial_usdc=Decimal("50000"))
    config.market_by_coin("ETH").asset   # 1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

# Two house accounts run the background market: one quotes, one occasionally trades through.
MAKER_ADDRESS = "0x00000000000000000000000000000000000000a1"
TAKER_ADDRESS = "0x00000000000000000000000000000000000000a2"
HOUSE_ADDRESSES = frozenset({MAKER_ADDRESS, TAKER_ADDRESS})


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One tradable market.

    ``asset`` is the wire asset id (perp index, or 10000 + spot index). For spot markets ``coin`` is
    the wire name (``"PURR/USDC"``) and ``base``/``quote`` are token names.
    """

    coin: str
    asset: int
    sz_decimals: int
    mid: Decimal
    max_leverage: int = 50
    is_spot: bool = False
    base: str = ""
    quote: str = "USDC"

    @property
    def max_price_decimals(self) -> int:
        """Decimals a price may carry: 6 (perp) or 8 (spot) minus szDecimals."""
        return (8 if self.is_spot else 6) - self.sz_decimals


DEFAULT_MARKETS: tuple[MarketSpec, ...] = (
    MarketSpec("BTC", 0, 5, Decimal("60000"), max_leverage=40),
    MarketSpec("ETH", 1, 4, Decimal("3000"), max_leverage=25),
    MarketSpec("SOL", 2, 2, Decimal("150"), max_leverage=20),
    MarketSpec("PURR/USDC", 10000, 0, Decimal("0.2"), max_leverage=1, is_spot=True, base="PURR"),
)


class UnknownMarket(KeyError):
    """A coin or asset id that the simulator does not list."""

    def __str__(self) -> str:
        return f"unknown market {self.args[0]!r}: use a coin listed by /info meta or spotMeta"


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything that shapes a simulated exchange run.

    ``is_mainnet`` selects the phantom-agent source the signatures must use ("a" mainnet, "b"
    testnet) and the ``hyperliquidChain`` of user-signed actions. The official SDK signs testnet
    style for any base URL other than the mainnet one, hence the default ``False``.
    """

    seed: int = 7
    market_maker: bool = True
    tick_interval_s: float = 0.2
    state_file: Path | str | None = None
    initial_usdc: Decimal = Decimal("1000000")
    ws_idle_timeout_s: float = 60.0
    is_mainnet: bool = False
    maker_fee: Decimal = Decimal("0.00015")
    taker_fee: Decimal = Decimal("0.00045")
    default_leverage: int = 20
    max_body_bytes: int = 1_000_000
    max_ws_connections: int = 100
    ws_queue_limit: int = 10_000
    save_interval_s: float = 1.0
    admin_api: bool = False  # POST /admin on loopback: faults and marks at run time
    accounts: tuple[str, ...] = ()  # addresses funded at start (others: on first use)
    markets: tuple[MarketSpec, ...] = field(default=DEFAULT_MARKETS)

    def market_by_coin(self, coin: str) -> MarketSpec:
        """The market named ``coin`` (e.g. ``"BTC"``, ``"PURR/USDC"``)."""
        for market in self.markets:
            if market.coin == coin:
                return market
        raise UnknownMarket(coin)

    def market_by_asset(self, asset: int) -> MarketSpec:
        """The market with wire asset id ``asset``."""
        for market in self.markets:
            if market.asset == asset:
                return market
        raise UnknownMarket(asset)
