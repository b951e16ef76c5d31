"""Configuration of the local exchange: markets, fees, limits and the market maker's seed.

Example::

    config = SimulatorConfig(seed=7, market_maker=False, initial_usdc=Decimal("50000"))
    config.market_by_coin("ETH").asset   # 1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .dex_rules import check_dex_markets

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

#: HIP-3 markets of the builder-deployed dex "xyz" (``perp_dexs`` index 1): named ``dex:COIN``,
#: asset id ``100000 + 10000 * dex_index + index_in_meta`` (reference §2.1, §13.9; dexes.py).
HIP3_MARKETS: tuple[MarketSpec, ...] = (
    MarketSpec("xyz:XYZ100", 110000, 4, Decimal("25000"), max_leverage=20),
    MarketSpec("xyz:GOLD", 110001, 2, Decimal("2400"), max_leverage=10),
)


class SimulatorConfigError(ValueError):
    """A configuration value the exchange cannot run with; the message names the field."""


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
    funding_interval_s: float | None = None  # a funding round this often (None: only on demand)
    funding_rate: Decimal = Decimal("0.0000125")  # hourly rate of every round (reference §13.14)
    markets: tuple[MarketSpec, ...] = field(default=DEFAULT_MARKETS + HIP3_MARKETS)
    #: Builder-deployed (HIP-3) perp dexes in ``perpDexs`` order (index 1, 2, …); a market named
    #: ``"dex:COIN"`` belongs to one of them (rules checked by ``dex_rules.check_dex_markets``).
    perp_dexs: tuple[str, ...] = ("xyz",)
    #: Fund an account on its first use (an /info query naming it, or an L1 action it signs).
    #: ``False`` is the live behaviour: ``User or API Wallet 0x… does not exist.`` until funded.
    auto_fund: bool = True
    #: At most this many accounts come into being on first use; beyond, only ``fund()`` creates.
    max_auto_accounts: int = 10_000
    #: Seconds a client may take to send a request body before the server answers 408.
    request_timeout_s: float = 10.0
    #: Seconds a client may take from the first byte of a request head to its blank line before
    #: the server answers 408 and closes (a trickling "slowloris" client; see header_deadline.py).
    header_timeout_s: float = 10.0
    #: Seconds an idle keep-alive connection (or one that never sends a request) stays open.
    #: Longer than clients' own keep-alive (aiohttp: 15 s), so they close first and never reuse a
    #: connection the server is closing.
    idle_timeout_s: float = 75.0
    #: WebSocket connections one client address may hold at once (live: 10 per IP).
    max_ws_per_client: int = 10
    #: ``"real"``: enforce the exchange's IP weight, address budget and open-order cap (see
    #: ``rate_limits.py``); ``"off"``: no rate limits (fast tests and benchmarks of the engine).
    limits: str = "off"
    ip_weight_per_minute: int = 1200
    address_buffer: int = 10_000
    max_open_orders: int = 1000
    #: Native TWAP: the 30 s between suborders is divided by this (tests: 60 → every 0.5 s).
    twap_speedup: float = 1.0

    def __post_init__(self) -> None:
        if not self.twap_speedup > 0:
            raise SimulatorConfigError(f"twap_speedup must be > 0, not {self.twap_speedup}")
        if not (self.initial_usdc.is_finite() and self.initial_usdc >= 0):
            raise SimulatorConfigError(
                f"initial_usdc must be a finite number >= 0, not {self.initial_usdc}")
        if self.limits not in ("real", "off"):
            raise SimulatorConfigError(f"limits must be 'real' or 'off', not {self.limits!r}")
        for name in ("max_body_bytes", "max_ws_connections", "max_ws_per_client",
                     "ws_queue_limit", "max_auto_accounts", "ip_weight_per_minute",
                     "address_buffer", "max_open_orders"):
            if getattr(self, name) < 0 or (name not in ("max_auto_accounts", "address_buffer")
                                           and getattr(self, name) == 0):
                raise SimulatorConfigError(f"{name} must be positive, not {getattr(self, name)}")
        for name in ("request_timeout_s", "idle_timeout_s", "ws_idle_timeout_s",
                     "tick_interval_s", "header_timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < float("inf")):
                raise SimulatorConfigError(f"{name} must be a positive number of seconds")
        problem = check_dex_markets(self.perp_dexs, self.markets)
        if problem is not None:
            raise SimulatorConfigError(problem)

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
