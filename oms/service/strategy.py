"""The strategy API: what a strategy implements and what it may call.

A strategy is a class whose constructor takes its ``[[strategies]] params`` as keyword arguments
and which implements any of the callbacks of :class:`Strategy` (plain or ``async def``; the ones
it leaves out do nothing when it subclasses :class:`BaseStrategy`). It trades only through the
:class:`oms.service.context.StrategyContext` given to ``on_start``: the engine's public commands
(place, cancel, replace), its own orders, positions, books and trading rules — nothing internal.

Example::

    class Pinger(BaseStrategy):
        def __init__(self, pair: str = "ETH") -> None:
            self.pair = pair

        async def on_start(self, ctx: StrategyContext) -> None:
            self.ctx = ctx
            ctx.subscribe_book(self.pair)

        def on_fill(self, event: OrderFilled, order: InFlightOrder) -> None:
            self.ctx.log.info("filled %s at %s", event.amount, event.price)

Load it with ``path = "my_pkg.pinger:Pinger"`` in the config, or register it as an entry point
in the group ``oms.strategies`` and use ``entry_point = "pinger"``.

A callback that raises stops that strategy (it is reported in the log, as an alert and in
``oms ctl status``); the engine keeps managing its orders, which are canceled or left resting
according to ``[service] on_strategy_error``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from oms.domain.events import OrderEvent, OrderFilled
from oms.domain.order import InFlightOrder

if TYPE_CHECKING:
    from connectors.hyperliquid.book import OrderBook
    from oms.service.context import StrategyContext


@runtime_checkable
class Strategy(Protocol):
    """The callbacks the service calls; each may be a coroutine function."""

    def on_start(self, ctx: StrategyContext) -> Any:
        """Called once the engine has recovered and trades; keep ``ctx`` to place orders."""

    def on_order_event(self, event: OrderEvent, order: InFlightOrder) -> Any:
        """Every durable event of one of this strategy's orders, with the order after it."""

    def on_fill(self, event: OrderFilled, order: InFlightOrder) -> Any:
        """A durable fill of one of this strategy's orders (after ``on_order_event``)."""

    def on_book(self, pair: str, book: OrderBook) -> Any:
        """A new L2 snapshot of a pair passed to ``ctx.subscribe_book``."""

    def on_timer(self, now_ns: int) -> Any:
        """Every ``[service] timer_interval_s`` while the service is not paused."""

    def on_stop(self) -> Any:
        """The strategy is being stopped (service shutdown or ``oms ctl strategy stop``)."""


class BaseStrategy:
    """A :class:`Strategy` whose callbacks do nothing: subclass it and override what you need."""

    def on_start(self, ctx: StrategyContext) -> Any:
        """Do nothing."""

    def on_order_event(self, event: OrderEvent, order: InFlightOrder) -> Any:
        """Do nothing."""

    def on_fill(self, event: OrderFilled, order: InFlightOrder) -> Any:
        """Do nothing."""

    def on_book(self, pair: str, book: OrderBook) -> Any:
        """Do nothing."""

    def on_timer(self, now_ns: int) -> Any:
        """Do nothing."""

    def on_stop(self) -> Any:
        """Do nothing."""


CALLBACKS = ("on_start", "on_order_event", "on_fill", "on_book", "on_timer", "on_stop")
