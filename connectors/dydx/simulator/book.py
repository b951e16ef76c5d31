"""Orders of the local dYdX exchange and its price-time priority book (integers only)."""

from __future__ import annotations

from dataclasses import dataclass

# OrderId as a tuple: (owner, subaccount number, client id, order flags, clob pair id).
OrderKey = tuple[str, int, int, int, int]

BUY, SELL = 1, 2
TIF_GTT, TIF_IOC, TIF_POST_ONLY, TIF_FOK = 0, 1, 2, 3


@dataclass(slots=True)
class SimOrder:
    """One order as the chain holds it."""

    key: OrderKey
    uuid: str
    side: int
    quantums: int
    subticks: int
    good_til_block: int
    good_til_block_time: int
    tif: int
    reduce_only: bool
    client_metadata: int
    priority: int
    filled: int = 0
    created_height: int | None = None
    status: str = "BEST_EFFORT_OPENED"
    removal_reason: str | None = None
    updated_height: int | None = None
    #: Conditional orders (flags 32): 1 STOP_LOSS, 2 TAKE_PROFIT; 0 for every other order.
    condition_type: int = 0
    trigger_subticks: int = 0

    @property
    def remaining(self) -> int:
        """Base quantums still to fill."""
        return self.quantums - self.filled

    @property
    def is_short_term(self) -> bool:
        """Flags 0: lives in the validators' memory only."""
        return self.key[3] == 0


@dataclass(frozen=True, slots=True)
class Match:
    """One match: ``maker`` traded ``quantums`` at the maker's price with the taker."""

    maker: SimOrder
    quantums: int
    subticks: int


class Book:
    """Resting orders of one clob pair; best price first, then time."""

    def __init__(self) -> None:
        self.orders: dict[OrderKey, SimOrder] = {}

    def add(self, order: SimOrder) -> None:
        """Rest ``order``."""
        self.orders[order.key] = order

    def remove(self, key: OrderKey) -> SimOrder | None:
        """Take an order off the book."""
        return self.orders.pop(key, None)

    def _opposite(self, side: int) -> list[SimOrder]:
        resting = [o for o in self.orders.values() if o.side != side]
        if side == BUY:  # takes asks: lowest first
            resting.sort(key=lambda o: (o.subticks, o.priority))
        else:
            resting.sort(key=lambda o: (-o.subticks, o.priority))
        return resting

    def would_cross(self, side: int, subticks: int) -> bool:
        """Whether an order at ``subticks`` would trade at once."""
        best = next(iter(self._opposite(side)), None)
        if best is None:
            return False
        return best.subticks <= subticks if side == BUY else best.subticks >= subticks

    def match(self, taker: SimOrder) -> list[Match]:
        """Matches of ``taker`` (makers not yet changed; a self-trade has 0 quantums)."""
        left, matches = taker.remaining, []
        for maker in self._opposite(taker.side):
            if left <= 0:
                break
            crosses = (maker.subticks <= taker.subticks if taker.side == BUY
                       else maker.subticks >= taker.subticks)
            if not crosses:
                break
            if maker.key[:2] == taker.key[:2]:
                # Self-trade: the chain removes the maker (SELF_TRADE_ERROR); quantums 0 says so.
                matches.append(Match(maker, 0, maker.subticks))
                continue
            qty = min(left, maker.remaining)
            matches.append(Match(maker, qty, maker.subticks))
            left -= qty
        return matches

    def levels(self, side: int) -> list[tuple[int, int]]:
        """Aggregated (subticks, quantums) of one side, best first."""
        agg: dict[int, int] = {}
        for o in self.orders.values():
            if o.side == side:
                agg[o.subticks] = agg.get(o.subticks, 0) + o.remaining
        return sorted(agg.items(), key=lambda kv: -kv[0] if side == BUY else kv[0])
