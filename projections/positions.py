"""Positions and PnL per pair, folded from fills (perpetuals: a buy adds, a sell subtracts).

Average-cost accounting: adding to a position moves the average entry; reducing it realizes
``closed × (price − average entry)`` (sign-adjusted); crossing zero opens the rest at the fill
price.
Sizes, realized PnL and fees are sums of fills and exact; the average entry is a quotient, kept to
40 significant digits.

>>> from decimal import Decimal as D
>>> book = PositionBook()
>>> _ = book.apply_fill("ETH", 1, D("2"), D("100"), D("0.1"), "USDC")
>>> _ = book.apply_fill("ETH", -1, D("1"), D("110"), D("0.1"), "USDC")
>>> p = book.get("ETH"); (p.net_size, p.average_entry, p.realized_pnl, p.fees["USDC"])
(Decimal('1'), Decimal('100'), Decimal('10'), Decimal('0.2'))
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Context, Decimal

_CTX = Context(prec=40)
_ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    """One pair's position: signed net size, average entry, realized PnL, fees per asset."""

    pair: str
    net_size: Decimal = _ZERO
    average_entry: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    fill_count: int = 0
    volume: Decimal = _ZERO  # traded notional, sum of amount × price

    def apply(self, sign: int, amount: Decimal, price: Decimal, fee: Decimal, asset: str) -> None:
        """Fold one fill: ``sign`` is +1 for a buy, -1 for a sell."""
        # Runs once per fill on replays of millions of events: each product is computed once
        # and compared with a Decimal zero (comparing with an int converts it every time).
        self.fill_count += 1
        notional = amount * price
        self.volume += notional
        fees = self.fees
        fees[asset] = fees.get(asset, _ZERO) + fee
        net = self.net_size
        buy = sign > 0
        signed = amount if buy else -amount
        long = net > _ZERO
        if not net or long == buy:
            # Opening or adding: the new average is the size-weighted mean of old and new.
            held = abs(net)
            size = held + amount
            if size:
                self.average_entry = _CTX.divide(held * self.average_entry + notional, size)
            self.net_size = net + signed
            return
        closed = min(abs(net), amount)
        direction = 1 if long else -1
        self.realized_pnl += closed * (price - self.average_entry) * direction
        self.net_size = after = net + signed
        if not after:
            self.average_entry = _ZERO
        elif (after > _ZERO) != long:
            self.average_entry = price  # flipped: the remainder opened at this fill's price

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """PnL of the open size if it were closed at ``mark``."""
        return self.net_size * (mark - self.average_entry)


class PositionBook:
    """Positions of every pair traded, built from fills."""

    __slots__ = ("_positions",)

    def __init__(self) -> None:
        self._positions: dict[str, Position] = {}

    def apply_fill(
        self, pair: str, sign: int, amount: Decimal, price: Decimal, fee: Decimal, fee_asset: str
    ) -> Position:
        """Fold one fill of ``pair`` (``sign`` +1 buy, -1 sell); returns the updated position."""
        pos = self._positions.get(pair)
        if pos is None:
            pos = self._positions[pair] = Position(pair)
        pos.apply(sign, amount, price, fee, fee_asset)
        return pos

    def get(self, pair: str) -> Position | None:
        """The position of ``pair``, or None if it never traded."""
        return self._positions.get(pair)

    def put(self, position: Position) -> None:
        """Install ``position`` (used when restoring a snapshot or a read model)."""
        self._positions[position.pair] = position

    def __iter__(self) -> Iterator[Position]:
        return iter(list(self._positions.values()))

    def __len__(self) -> int:
        return len(self._positions)

    def as_dict(self) -> dict[str, Position]:
        """A copy of the book as ``{pair: Position}``."""
        return dict(self._positions)
