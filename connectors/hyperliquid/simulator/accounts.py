"""Balances, positions, simple cross margin and fees of the simulated accounts.

Perp accounts hold USDC collateral and one signed position per coin (``szi`` > 0 long, < 0 short)
with an average entry price; realised PnL and fees settle into the USDC balance at once. Spot
balances are a separate token -> amount map (the perp USDC and spot USDC are separate, as live).

Example::

    account = Account(usdc=Decimal("1000"))
    outcome = account.apply_perp_fill("ETH", is_buy=True, px=Decimal("3000"), sz=Decimal("0.1"),
                                      fee=Decimal("0.135"))
    outcome.direction, account.positions["ETH"].szi     # ('Open Long', Decimal('0.1'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
FEE_QUANTUM = Decimal("0.000001")


@dataclass(slots=True)
class Position:
    """A perp position: signed size and average entry price."""

    szi: Decimal = ZERO
    entry_px: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class FillOutcome:
    """How a fill changed a position: the ``dir`` label, size before, realised PnL."""

    direction: str
    start_position: Decimal
    closed_pnl: Decimal


@dataclass(slots=True)
class Account:
    """One user's money. ``house`` accounts (the market maker) skip margin and balance checks."""

    usdc: Decimal = ZERO
    spot: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, tuple[int, bool]] = field(default_factory=dict)
    isolated_extra: dict[str, Decimal] = field(default_factory=dict)  # updateIsolatedMargin
    order_margin: Decimal = ZERO
    cum_volume: Decimal = ZERO
    n_requests: int = 0
    house: bool = False

    def position(self, coin: str) -> Decimal:
        """Signed size of the position in ``coin`` (0 when flat)."""
        pos = self.positions.get(coin)
        return pos.szi if pos is not None else ZERO

    def apply_perp_fill(
        self, coin: str, is_buy: bool, px: Decimal, sz: Decimal, fee: Decimal
    ) -> FillOutcome:
        """Move the position by a fill, realise PnL on the closed part and charge the fee."""
        pos = self.positions.setdefault(coin, Position())
        start = pos.szi
        delta = sz if is_buy else -sz
        closed_pnl = ZERO
        if start == ZERO or (start > ZERO) == is_buy:
            new_size = start + delta
            pos.entry_px = (abs(start) * pos.entry_px + sz * px) / abs(new_size)
            pos.szi = new_size
            direction = "Open Long" if is_buy else "Open Short"
        else:
            closing = min(sz, abs(start))
            sign = Decimal(1) if start > ZERO else Decimal(-1)
            closed_pnl = (px - pos.entry_px) * closing * sign
            pos.szi = start + delta
            if pos.szi == ZERO:
                pos.entry_px = ZERO
                direction = "Close Short" if is_buy else "Close Long"
            elif (pos.szi > ZERO) != (start > ZERO):
                pos.entry_px = px
                direction = "Short > Long" if is_buy else "Long > Short"
            else:
                direction = "Close Short" if is_buy else "Close Long"
        if pos.szi == ZERO:
            del self.positions[coin]
            self.isolated_extra.pop(coin, None)  # the added margin returns to cross
        self.usdc += closed_pnl - fee
        self.cum_volume += px * sz
        return FillOutcome(direction, start, closed_pnl)

    def apply_spot_fill(
        self, base: str, quote: str, is_buy: bool, px: Decimal, sz: Decimal, fee: Decimal
    ) -> FillOutcome:
        """Swap base against quote at ``px``; the fee is charged in the quote token."""
        start = self.spot.get(base, ZERO)
        notional = px * sz
        sign = Decimal(1) if is_buy else Decimal(-1)
        self.spot[base] = start + sign * sz
        self.spot[quote] = self.spot.get(quote, ZERO) - sign * notional - fee
        self.cum_volume += notional
        return FillOutcome("Buy" if is_buy else "Sell", start, ZERO)

    def leverage_of(self, coin: str, default: int) -> int:
        """The leverage set for ``coin`` (``updateLeverage``), or ``default``."""
        setting = self.leverage.get(coin)
        return setting[0] if setting is not None else default

    def unrealized_pnl(self, marks: dict[str, Decimal]) -> Decimal:
        """Sum of mark-to-market PnL over all positions."""
        total = ZERO
        for coin, pos in self.positions.items():
            total += (marks.get(coin, pos.entry_px) - pos.entry_px) * pos.szi
        return total

    def position_margin(self, marks: dict[str, Decimal], default_leverage: int) -> Decimal:
        """Initial margin held by open positions at mark prices."""
        total = ZERO
        for coin, pos in self.positions.items():
            lev = self.leverage_of(coin, default_leverage)
            total += abs(pos.szi) * marks.get(coin, pos.entry_px) / lev
        return total

    def account_value(self, marks: dict[str, Decimal]) -> Decimal:
        """Collateral plus unrealised PnL."""
        return self.usdc + self.unrealized_pnl(marks)

    def available_margin(self, marks: dict[str, Decimal], default_leverage: int) -> Decimal:
        """What a new order may still lock: value minus position and open-order margin."""
        used = self.position_margin(marks, default_leverage) + self.order_margin
        used += sum(self.isolated_extra.values(), ZERO)
        return self.account_value(marks) - used


def fee_for(notional: Decimal, rate: Decimal) -> Decimal:
    """Fee in USDC for a fill of ``notional`` at ``rate``, rounded to micro-USDC."""
    return (notional * rate).quantize(FEE_QUANTUM)
