"""The simulator's account test API: funding, mark moves, liquidations, ledger, position edits.

Mixed into :class:`SimulatedExchange`; each call applies at once and sends its pushes.

Example::

    async with SimulatedExchange(SimulatorConfig(funding_interval_s=1.0)) as sim:
        sim.set_mark("ETH", Decimal("2500"))      # liquidates accounts now under-margined
        sim.pay_funding(Decimal("0.0001"))        # a funding round now (besides the periodic ones)
        sim.deposit(user, Decimal("250"))
        sim.shift_position(user, "ETH", Decimal("0.01"))   # behind every client's back
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .account_ops import AccountOps

if TYPE_CHECKING:
    from .config import SimulatorConfig
    from .engine import ExchangeEngine


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class AccountTestApi:
    """Account-level test operations of the simulated exchange."""

    if TYPE_CHECKING:
        engine: ExchangeEngine
        config: SimulatorConfig

        def _flush(self) -> None: ...

    _next_funding_s: float = 0.0

    @property
    def account_ops(self) -> AccountOps:
        """The funding / liquidation / ledger operations on this exchange's engine."""
        return AccountOps(self.engine)

    def pay_funding(self, rate: Decimal | None = None) -> int:
        """Pay one funding round now (hourly ``rate``, default the configured one)."""
        paid = self.account_ops.pay_funding(
            self.config.funding_rate if rate is None else rate, _now_ms())
        self._flush()
        return paid

    def liquidate(self, user: str, coins: list[str] | None = None) -> int:
        """Liquidate ``user``'s positions (all, or ``coins``) at mark now, margin or not."""
        fills = self.account_ops.liquidate(user.lower(), _now_ms(), coins)
        self._flush()
        return fills

    def deposit(self, user: str, usdc: Decimal) -> None:
        """Credit ``usdc`` to the perp collateral of ``user`` (a ``deposit`` ledger update)."""
        self.account_ops.move_collateral(user.lower(), usdc, "deposit", _now_ms())
        self._flush()

    def withdraw(self, user: str, usdc: Decimal) -> None:
        """Take ``usdc`` out of the perp collateral of ``user`` (a ``withdraw`` ledger update)."""
        self.account_ops.move_collateral(user.lower(), -usdc, "withdraw", _now_ms())
        self._flush()

    def trade_as(self, user: str, coin: str, is_buy: bool, size: Decimal) -> Any:
        """An IOC of ``user`` at 5 % through the mark, as if sent from the web UI (no cloid,
        no signature to check); returns its per-order status."""
        from .engine import OrderWire
        from .market_maker import round_price

        market = self.config.market_by_coin(coin)
        mark = self.engine.marks()[coin]
        px = round_price(market, mark * (Decimal("1.05") if is_buy else Decimal("0.95")))
        status = self.engine.place(user.lower(), OrderWire(
            market.asset, is_buy, px, size, False, "Ioc"), _now_ms())
        self._flush()
        return status

    def shift_position(self, user: str, coin: str, delta: Decimal) -> None:
        """Change ``user``'s position in ``coin`` by ``delta`` with no fill and no push."""
        self.account_ops.shift_position(user.lower(), coin, delta)

    def account_tick(self, now_s: float) -> None:
        """Periodic work: a funding round every ``funding_interval_s``, then liquidations."""
        interval = self.config.funding_interval_s
        now = _now_ms()
        if interval:
            if not self._next_funding_s:
                self._next_funding_s = now_s + interval
            elif now_s >= self._next_funding_s:
                self._next_funding_s = now_s + interval
                self.account_ops.pay_funding(self.config.funding_rate, now)
        self.account_ops.liquidate_under_margined(now)
