"""What a strategy may do: :class:`StrategyContext`, a narrow view of the engine's public API.

Every order a strategy places through its context is recorded as its own, so the service can
route that order's events back to it, and cancel (or leave) exactly its orders when it stops.
The record is journaled (:mod:`oms.service.ownership`), so after a restart the strategy is given
back the orders it placed that are still active.
Placing is refused (:class:`StrategyHalted`) while the service is paused or after the strategy
was stopped; cancels are always allowed, so a strategy can always get flat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from connectors.base import TradingRule
from oms.domain.enums import OrderType, TimeInForce, TradeSide
from oms.domain.ids import ClientOrderId
from oms.domain.order import InFlightOrder
from oms.engine.order_kind_rules import Leg
from oms.engine.order_kinds import BracketOrder

if TYPE_CHECKING:
    from connectors.hyperliquid.book import OrderBook
    from oms.algos import AlgoRunner
    from oms.engine import OrderManager


class StrategyHalted(RuntimeError):
    """A strategy tried to place or replace an order while paused or stopped."""


class _BookSource(Protocol):
    def subscribe_book(self, pair: str, stale_after_s: float = 5.0) -> OrderBook: ...
    def book(self, pair: str) -> OrderBook: ...


class StrategyContext:
    """The engine as one strategy sees it (see :mod:`oms.service.strategy` for an example)."""

    def __init__(
        self,
        name: str,
        oms: OrderManager,
        may_place: Callable[[], str | None],
        log: logging.Logger,
        on_own: Callable[[str, list[str]], None] | None = None,
    ) -> None:
        self.name = name
        self._on_own = on_own
        self._oms = oms
        self._may_place = may_place
        self.log = log
        """This strategy's logger (``oms.strategy.<name>``)."""
        self.own: set[str] = set()
        """Client order ids this strategy placed (in this run, and active ones from before a
        restart)."""
        self.books: set[str] = set()
        """Pairs whose book updates this strategy receives (``on_book``)."""
        self.algos: AlgoRunner | None = None
        """The service's runner of parent orders (set by the service before ``on_start``)."""
        self.own_parents: set[str] = set()
        """Parent orders (TWAP, iceberg) this strategy started in this run."""

    # ---------------------------------------------------------------- commands

    def buy(self, pair: str, amount: Decimal, price: Decimal, *,
            order_type: OrderType = OrderType.LIMIT, time_in_force: TimeInForce | None = None,
            reduce_only: bool = False) -> ClientOrderId:
        """Place a buy (see ``OrderManager.buy``); returns its client order id at once."""
        self._check_may_place()
        cid = self._oms.buy(pair, amount, order_type, price=price, time_in_force=time_in_force,
                            reduce_only=reduce_only)
        self._own([cid])
        return cid

    def sell(self, pair: str, amount: Decimal, price: Decimal, *,
             order_type: OrderType = OrderType.LIMIT, time_in_force: TimeInForce | None = None,
             reduce_only: bool = False) -> ClientOrderId:
        """Place a sell (see ``OrderManager.sell``); returns its client order id at once."""
        self._check_may_place()
        cid = self._oms.sell(pair, amount, order_type, price=price, time_in_force=time_in_force,
                             reduce_only=reduce_only)
        self._own([cid])
        return cid

    def twap(self, pair: str, side: str, amount: Decimal, price: Decimal, *, duration_s: float,
             slices: int) -> str:
        """Start a TWAP parent order (see ``AlgoRunner.twap``); returns its parent id at once.

        Its children are the runner's orders, not this strategy's: ``oms ctl parent ...`` (or
        the parent's own deadline) steers them."""
        parent_id = self._runner().twap(pair, side, amount, price, duration_s=duration_s,
                                        slices=slices)  # fmt: skip
        self.own_parents.add(parent_id)
        return parent_id

    def iceberg(self, pair: str, side: str, amount: Decimal, price: Decimal, *,
                display: Decimal) -> str:
        """Start an iceberg parent order (see ``AlgoRunner.iceberg``); its parent id at once."""
        parent_id = self._runner().iceberg(pair, side, amount, price, display=display)
        self.own_parents.add(parent_id)
        return parent_id

    def _runner(self) -> AlgoRunner:
        self._check_may_place()
        if self.algos is None:
            raise StrategyHalted("parent orders are not available here (no AlgoRunner yet)")
        return self.algos

    def cancel(self, client_order_id: str) -> None:
        """Cancel one of this strategy's active orders (``PermissionError`` for another's)."""
        self._check_own(client_order_id)
        self._oms.cancel(client_order_id)

    def replace(self, client_order_id: str, *, price: Decimal | None = None,
                amount: Decimal | None = None) -> ClientOrderId:
        """Re-price/re-size one of this strategy's orders (exchange modify); the new id."""
        self._check_own(client_order_id)
        self._check_may_place()
        new = self._oms.replace(client_order_id, price=price, amount=amount)
        self._own([new])
        return new

    def bracket(self, side: TradeSide, pair: str, amount: Decimal, *, price: Decimal,
                take_profit: Leg | None = None, stop_loss: Leg | None = None,
                time_in_force: TimeInForce = TimeInForce.GTC) -> BracketOrder:
        """An entry with the exchange's native take-profit/stop-loss legs (``normalTpsl``, see
        ``OrderManager.bracket``): one action; the legs arm when the entry fills and one
        cancels the other. All three orders are this strategy's."""
        self._check_may_place()
        ids = self._oms.bracket(side, pair, amount, price=price, take_profit=take_profit,
                                stop_loss=stop_loss, time_in_force=time_in_force)
        self._own([c for c in (ids.entry, ids.take_profit, ids.stop_loss) if c is not None])
        return ids

    def cancel_all(self) -> int:
        """Cancel every active order of this strategy; returns how many cancels were requested."""
        count = 0
        for cid, order in self.open_orders().items():
            if order.state.value != "pending_cancel":
                self._oms.cancel(cid)
                count += 1
        return count

    # ---------------------------------------------------------------- queries

    def order(self, client_order_id: str) -> InFlightOrder | None:
        """One of this strategy's orders as it stands (None if unknown or not its own)."""
        if client_order_id not in self.own:
            return None
        return self._oms.get_order(client_order_id)

    def open_orders(self) -> dict[str, InFlightOrder]:
        """This strategy's non-terminal orders."""
        active = self._oms.active_orders
        return {cid: order for cid, order in active.items() if cid in self.own}

    def position(self, pair: str) -> Decimal:
        """The account's net position in ``pair`` from durable fills (0 when flat)."""
        position = self._oms.positions.get(pair)
        return position.net_size if position is not None else Decimal(0)

    def positions(self) -> dict[str, Any]:
        """Every pair's position (net size, average entry, realized PnL, fees)."""
        return dict(self._oms.positions.as_dict())

    def rule(self, pair: str) -> TradingRule:
        """The exchange's trading rule of ``pair`` (tick, lot, minimum notional)."""
        return self._oms.connector.trading_rule(pair)

    def subscribe_book(self, pair: str) -> OrderBook:
        """Stream ``pair``'s L2 book to this strategy's ``on_book``; returns the live book."""
        book = self._books().subscribe_book(pair)
        self.books.add(pair)
        return book

    def book(self, pair: str) -> OrderBook:
        """The live book of a pair passed to :meth:`subscribe_book`."""
        return self._books().book(pair)

    @property
    def is_trading(self) -> bool:
        """True when new orders may be placed now (engine trading, not paused, not stopped)."""
        return self._oms.is_trading and self._may_place() is None

    # ---------------------------------------------------------------- ownership

    def adopt(self, client_order_ids: set[str]) -> None:
        """Take back orders this strategy placed before a restart (the service calls this)."""
        self.own.update(client_order_ids)

    def _own(self, client_order_ids: list[str]) -> None:
        self.own.update(client_order_ids)
        if self._on_own is not None:
            self._on_own(self.name, client_order_ids)

    # ---------------------------------------------------------------- checks

    def _books(self) -> _BookSource:
        connector: Any = self._oms.connector
        if not hasattr(connector, "subscribe_book"):
            raise NotImplementedError(f"{type(connector).__name__} streams no order books")
        source: _BookSource = connector
        return source

    def _check_may_place(self) -> None:
        reason = self._may_place()
        if reason is not None:
            raise StrategyHalted(f"strategy {self.name}: {reason}")

    def _check_own(self, client_order_id: str) -> None:
        if client_order_id not in self.own:
            raise PermissionError(
                f"strategy {self.name} did not place order {client_order_id}; it may only "
                "cancel or replace its own orders"
            )
