"""The background market: a seeded random walk of each mid, house quotes around it, and an
occasional aggressive taker, so that resting user orders get filled over time.

Deterministic for a seed: the only randomness is ``random.Random(seed)``, consumed in a fixed
order per step (markets in config order). Quotes go through the real matching engine, so a new
quote that crosses a user's resting order trades with it (the user is then the maker).

Example::

    mm = MarketMaker(engine, seed=7)
    mm.step(now_ms)          # one tick: move mids, requote, maybe trade through
"""

from __future__ import annotations

import random
from decimal import ROUND_DOWN, Decimal
from typing import Any

from .config import MAKER_ADDRESS, TAKER_ADDRESS, MarketSpec
from .dex_rules import dex_of
from .engine import ExchangeEngine, OrderWire

LEVELS = 5
VOLATILITY = 0.0008        # std-dev of the mid's relative move per tick
FIRST_LEVEL_BPS = 2         # distance of the best quote from the mid, in basis points
LEVEL_STEP_BPS = 4          # distance between quote levels
QUOTE_NOTIONAL = (2_000, 20_000)
TRADE_PROBABILITY = 0.3     # chance per market per tick that the taker trades
TRADE_NOTIONAL = (500, 6_000)
TRADE_REACH_BPS = 30        # how far through the book the taker's IOC may reach
HIP3_SEED_OFFSET = 0x4849503  # the HIP-3 markets' generator: seed + this


def round_price(market: MarketSpec, px: Decimal) -> Decimal:
    """Round to a valid price: 5 significant figures and the market's max decimals."""
    if px >= 100_000:
        return px.to_integral_value()
    sig_quantum = Decimal(1).scaleb(px.adjusted() - 4)
    max_quantum = Decimal(1).scaleb(-market.max_price_decimals)
    return px.quantize(max(sig_quantum, max_quantum))


def round_size(market: MarketSpec, sz: Decimal) -> Decimal:
    """Truncate a size to the market's lot (szDecimals)."""
    return sz.quantize(Decimal(1).scaleb(-market.sz_decimals), rounding=ROUND_DOWN)


class MarketMaker:
    """House liquidity for every market of an engine."""

    def __init__(self, engine: ExchangeEngine, seed: int) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        #: HIP-3 markets draw from their own generator, so adding a builder dex leaves the first
        #: dex's seeded price path exactly as it was.
        self.dex_rng = random.Random(seed + HIP3_SEED_OFFSET)
        self.quotes: dict[str, list[int]] = {m.coin: [] for m in engine.config.markets}

    def _rng(self, market: MarketSpec) -> random.Random:
        return self.dex_rng if dex_of(market.coin) else self.rng

    def _size(self, market: MarketSpec, px: Decimal, bounds: tuple[int, int]) -> Decimal:
        notional = Decimal(self._rng(market).randint(*bounds))
        return max(round_size(market, notional / px), Decimal(1).scaleb(-market.sz_decimals))

    def step(self, now: int) -> None:
        """Advance every market by one tick."""
        for market in self.engine.config.markets:
            self._step_market(market, now)

    def _step_market(self, market: MarketSpec, now: int) -> None:
        engine = self.engine
        old_mid = engine.mids[market.coin]
        rng = self._rng(market)
        shock = Decimal(repr(round(rng.gauss(0.0, VOLATILITY), 8)))
        mid = round_price(market, old_mid * (1 + shock))
        engine.note_mid(market.coin, mid)
        for oid in self.quotes[market.coin]:
            engine.cancel(MAKER_ADDRESS, market.asset, oid, now)
        self.quotes[market.coin] = []
        for level in range(LEVELS):
            offset = Decimal(FIRST_LEVEL_BPS + LEVEL_STEP_BPS * level) / 10_000
            for is_buy in (True, False):
                px = round_price(market, mid * (1 - offset if is_buy else 1 + offset))
                sz = self._size(market, px, QUOTE_NOTIONAL)
                status = engine.place(MAKER_ADDRESS, OrderWire(
                    market.asset, is_buy, px, sz, False, "Gtc"), now)
                if isinstance(status, dict) and "resting" in status:
                    self.quotes[market.coin].append(status["resting"]["oid"])
        if rng.random() < TRADE_PROBABILITY:
            is_buy = rng.random() < 0.5
            reach = Decimal(TRADE_REACH_BPS) / 10_000
            px = round_price(market, mid * (1 + reach if is_buy else 1 - reach))
            sz = self._size(market, px, TRADE_NOTIONAL)
            engine.place(TAKER_ADDRESS, OrderWire(market.asset, is_buy, px, sz, False, "Ioc"),
                          now)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready state (RNG state and live quote oids) for persistence."""
        version, internal, gauss = self.rng.getstate()
        dex_version, dex_internal, dex_gauss = self.dex_rng.getstate()
        return {"rng": [version, list(internal), gauss], "quotes": self.quotes,
                "dex_rng": [dex_version, list(dex_internal), dex_gauss]}

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`to_state`."""
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        if "dex_rng" in state:  # saved before HIP-3 markets: their generator starts fresh
            dex_version, dex_internal, dex_gauss = state["dex_rng"]
            self.dex_rng.setstate((dex_version, tuple(dex_internal), dex_gauss))
        self.quotes = {coin: list(oids) for coin, oids in state["quotes"].items()}
