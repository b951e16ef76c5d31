"""A seeded background market: oracle prices that random-walk and a maker that quotes around them.

Each step moves every oracle price, withdraws the maker's quotes and posts a fresh ladder (long-term
orders of the maker account, placed at block time like any stateful order). A ladder that moved
through a resting user order trades with it, which is how resting orders get filled.
"""

from __future__ import annotations

import hashlib
import random
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from connectors.dydx import constants as c
from connectors.dydx.signing import DydxKey
from connectors.dydx.simulator.book import BUY, SELL, TIF_GTT, SimOrder
from connectors.dydx.simulator.chain import Chain
from connectors.dydx.simulator.config import MarketSpec

#: The maker's address (a fixed key, so it is the same in every run).
MAKER_ADDRESS = DydxKey(hashlib.sha256(b"local dydx market maker").digest()).address

_LEVELS = 5
_SPREAD = Decimal("0.0005")
_VOLATILITY = 0.0012


class MarketMaker:
    """Moves the oracles and re-quotes; call :meth:`step` with the chain lock held (in a block)."""

    def __init__(self, chain: Chain, seed: int) -> None:
        self.chain = chain
        self.rng = random.Random(seed)
        self.oracle: dict[str, Decimal] = chain.oracle_prices  # shared: set_oracle moves it
        self._client_id = 0
        chain.fund(MAKER_ADDRESS, Decimal("1000000000"))
        chain.clob.untracked.add(MAKER_ADDRESS)
        chain.untracked.add(MAKER_ADDRESS)

    def _order(self, market: MarketSpec, side: int, price: Decimal, size: Decimal) -> SimOrder:
        self._client_id += 1
        exp = market.atomic_resolution - market.quantum_conversion_exponent + 6
        ticks = (price.scaleb(exp) / market.subticks_per_tick).to_integral_value(ROUND_HALF_EVEN)
        steps = (size.scaleb(-market.atomic_resolution) / market.step_base_quantums
                 ).to_integral_value(ROUND_DOWN)
        key = (MAKER_ADDRESS, 0, self._client_id, c.FLAG_LONG_TERM, market.clob_pair_id)
        clob = self.chain.clob
        clob._priority += 1
        return SimOrder(
            key=key, uuid=c.order_uuid(MAKER_ADDRESS, 0, self._client_id, market.clob_pair_id,
                                       c.FLAG_LONG_TERM),
            side=side, quantums=max(int(steps), 1) * market.step_base_quantums,
            subticks=max(int(ticks), 1) * market.subticks_per_tick, good_til_block=0,
            good_til_block_time=self.chain.block_time + 3600, tif=TIF_GTT, reduce_only=False,
            client_metadata=0, priority=clob._priority,
        )

    def step(self) -> None:
        """One move of every market (the chain lock must be held)."""
        clob = self.chain.clob
        for market in self.chain.config.markets:
            ticker = market.ticker
            move = Decimal(str(round(self.rng.gauss(0.0, _VOLATILITY), 6)))
            self.oracle[ticker] = (self.oracle[ticker] * (1 + move)).quantize(Decimal("0.000001"))
            for key in [k for k in clob.live if k[0] == MAKER_ADDRESS and k[4] ==
                        market.clob_pair_id]:
                clob.cancel_stateful(key)
            mid = self.oracle[ticker]
            notional = Decimal(self.rng.randint(2_000, 8_000))
            for level in range(1, _LEVELS + 1):
                offset = _SPREAD * level
                size = notional / mid
                for side, price in ((BUY, mid * (1 - offset)), (SELL, mid * (1 + offset))):
                    clob.place_stateful(self._order(market, side, price, size), self.chain.height)
