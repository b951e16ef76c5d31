"""Funding payments and liquidations of the local dYdX exchange (integers: quote quantums, 1e-6).

Funding (v4-chain ``x/perpetuals``: a premium sampled each block, settled into every open
position's USDC at each funding tick, on the oracle price): here a fixed ``funding_rate`` per
``funding_interval_blocks`` blocks — the payment of a position of signed size ``s`` is
``−s × oracle × rate`` (longs pay a positive rate, shorts receive it), floored to a quote quantum.

Liquidation (v4-chain ``x/clob`` liquidations daemon + ``x/subaccounts``: a subaccount whose net
collateral falls below its maintenance margin, Σ |size| × oracle × maintenance fraction, is
liquidated): every position of the subaccount is closed at the oracle price, with the fill typed
``LIQUIDATED`` and no order id, as the Indexer shows a protocol liquidation of the taker side.
"""

from __future__ import annotations

import time
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.dydx.simulator.chain import Chain

#: Maintenance margin fraction the Indexer reports for every market (``/v4/perpetualMarkets``).
MAINTENANCE_FRACTION = Decimal("0.03")


class FundingAndLiquidations:
    """Run at the end of every block, with the chain lock held."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._index = 0
        #: Tests hold funding still to compare a settled account with the engine's.
        self.funding_paused = False

    def _oracle_quote(self, clob: int, quantums: int) -> Decimal:
        """Signed value of ``quantums`` at the oracle, in quote quantums (exact Decimal)."""
        market = self.chain.clob.markets[clob]
        size = Decimal(quantums).scaleb(market.atomic_resolution)
        return size * self.chain.oracle_prices[market.ticker] * 1_000_000

    def settle(self, height: int) -> None:
        """Pay funding on the funding tick, then liquidate whoever is under maintenance."""
        config = self.chain.config
        if (config.funding_interval_blocks and height % config.funding_interval_blocks == 0
                and not self.funding_paused):
            self._pay_funding(config.funding_rate)
        if config.liquidations:
            self._liquidate()

    def _pay_funding(self, rate: Decimal) -> None:
        chain = self.chain
        for (owner, number), sub in chain.ledger.subaccounts.items():
            for clob, pos in sub.positions.items():
                if not pos.quantums:
                    continue
                value = self._oracle_quote(clob, pos.quantums)
                payment = int((-value * rate).to_integral_value(ROUND_FLOOR))
                sub.usdc += payment
                ticker = chain.clob.markets[clob].ticker
                chain.emit_event({"kind": "funding", "key": (owner, number), "clob": clob,
                                  "quantums": pos.quantums, "payment": payment, "rate": str(rate),
                                  "oracle": str(chain.oracle_prices[ticker]), "usdc": sub.usdc,
                                  "at": time.time()})

    def _liquidate(self) -> None:
        chain = self.chain
        for (owner, number), sub in list(chain.ledger.subaccounts.items()):
            if owner in chain.untracked:
                continue
            open_positions = [(c, p) for c, p in sub.positions.items() if p.quantums]
            if not open_positions:
                continue
            equity = Decimal(sub.usdc)
            maintenance = Decimal(0)
            for clob, pos in open_positions:
                value = self._oracle_quote(clob, pos.quantums)
                equity += value
                maintenance += abs(value) * MAINTENANCE_FRACTION
            if equity >= maintenance:
                continue
            for clob, pos in open_positions:
                self._close_at_oracle(owner, number, clob, pos.quantums)

    def _close_at_oracle(self, owner: str, number: int, clob: int, quantums: int) -> None:
        chain = self.chain
        market = chain.clob.markets[clob]
        exp = market.atomic_resolution - market.quantum_conversion_exponent + 6
        ticks = (chain.oracle_prices[market.ticker].scaleb(exp) / market.subticks_per_tick
                 ).to_integral_value(ROUND_FLOOR)
        subticks = max(int(ticks), 1) * market.subticks_per_tick
        closing = -quantums
        qce = market.quantum_conversion_exponent
        quote = subticks * abs(closing)
        quote = quote * 10**qce if qce >= 0 else quote // 10**-qce
        fee = quote * chain.config.taker_fee_ppm // 1_000_000
        pos = chain.ledger.apply_fill(owner, number, clob, closing, quote, fee)
        self._index += 1
        chain.emit_event({
            "kind": "fill", "order": None, "key": (owner, number, 0, 0, clob),
            "side": 1 if closing > 0 else 2, "liquidity": "TAKER", "quantums": abs(closing),
            "subticks": subticks, "quote": quote, "fee": fee, "type": "LIQUIDATED",
            "event_index": 1_000_000 + self._index, "client_metadata": 0,
            "at": time.time(), "position": (pos.quantums, pos.open_cost),
            "usdc": chain.ledger.subaccount(owner, number).usdc})
