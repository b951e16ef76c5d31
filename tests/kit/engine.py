"""White-box access to a running engine's collaborators, for tests only.

``OrderManager`` keeps its collaborators private (nothing internal is public); a test that must
inject a report exactly as a stream would deliver it, or run one reconcile step on its own,
reaches them here, in one place, instead of through public hooks.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from connectors.base import ExchangeConnector
from eventstore import EventStore
from oms.domain.decider import decide_command
from oms.domain.enums import OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.events import OrderCreated
from oms.domain.ids import ClientOrderId
from oms.domain.messages import CancelOrder, PlaceOrder
from oms.engine import EngineConfig, OrderManager
from oms.engine.intake import ReportHandler
from oms.engine.live_orders import LiveOrders
from oms.engine.reconcile import Reconciler
from oms.engine.tasks import EngineTasks


def reports_of(oms: OrderManager) -> ReportHandler:
    """The engine's report handler (``on_fill``, ``on_status_report``...)."""
    handler = oms._reports
    assert isinstance(handler, ReportHandler)
    return handler


def reconciler_of(oms: OrderManager) -> Reconciler:
    """The engine's reconciler (``sweep_unknown``, ``gap_fill``, ``refresh``...)."""
    reconciler = oms._reconciler
    assert isinstance(reconciler, Reconciler)
    return reconciler


class Parts:
    """The report side of an engine, wired as the composition root wires it, on a real store.

    For unit tests against :class:`kit.fake_exchange.FakeExchange`: no manager, no outbox;
    cancels the report handler hands over are recorded in ``sent_cancels``.
    """

    def __init__(self, store: EventStore, connector: ExchangeConnector, config: EngineConfig):
        self.store, self.connector, self.config = store, connector, config
        self.failures: list[BaseException] = []
        self.live = LiveOrders(store, config.completed_in_memory, self.failures.append)
        self.tasks = EngineTasks()
        self.sent_cancels: list[tuple[str, str, int]] = []
        self.reports = ReportHandler(
            self.live, connector, config, self.tasks,
            lambda pair, cloid, deadline: self.sent_cancels.append((pair, cloid, deadline)),
        )
        self.reconciler = Reconciler(self.live, self.reports, connector, config, self.tasks)
        self.live.start()

    def place(self, amount: str = "0.1", *, cancel_first: bool = False) -> ClientOrderId:
        """Journal a new order as the command handler would (and, optionally, its cancel)."""
        now_ns = time.time_ns()
        cid = ClientOrderId.new(now_ns)
        created = OrderCreated(cid, "ETH", TradeSide.BUY, OrderType.LIMIT, Decimal(amount),
                               Decimal("3000"), TimeInForce.GTC, False, PositionAction.OPEN,
                               None, now_ns, self.connector.venue, self.connector.account)
        timing = self.config.timing(now_ns)
        self.live.append(cid, decide_command(None, PlaceOrder(created), timing).events)
        if cancel_first:
            record = self.live.get(cid)
            self.live.append(cid, decide_command(record, CancelOrder(cid), timing).events)
        return cid

    async def settle(self) -> None:
        """Wait for background work (read-backs, resolutions, fetches) and the journal."""
        for _ in range(100):
            await self.live.flush()
            work = self.tasks.work()
            if not work:
                return
            await asyncio.wait(work, timeout=10)
        raise AssertionError("background work did not settle")

    async def close(self) -> None:
        """Stop tasks and the journal."""
        await self.tasks.close()
        await self.live.close()
