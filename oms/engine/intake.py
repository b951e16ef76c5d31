"""Report intake: what the engine does with each thing the exchange tells it.

Placement and cancel replies, pushed order updates, status answers and fills all become candidate
events (``reports.py``) passed through the manager's ``emit`` (``decide`` + ``evolve``),
so the same truth applied twice changes nothing. Kept apart from ``manager.py`` so the command side
and the report side can each be read on their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from connectors.base import (
    CancelResult,
    ExchangeOrderStatus,
    FillReport,
    OrderStatusReport,
    PlaceOrderRequest,
    PlaceResult,
)
from eventstore import EventStore
from oms.domain.codec import decode
from oms.domain.enums import OrderState
from oms.domain.events import (
    CancelRejected,
    OrderAnomaly,
    OrderEvent,
    OrderFilled,
    OrderNotFound,
    OrderStatusUnknown,
)
from oms.domain.ids import ClientOrderId, InvalidClientOrderId, order_stream
from oms.domain.order import InFlightOrder, OrderRecord, evolve
from oms.engine.config import EngineConfig
from oms.engine.reports import (
    cancel_result_events,
    fill_event,
    place_result_events,
    status_report_events,
)

if TYPE_CHECKING:
    from connectors.base import ExchangeConnector
    from oms.engine.journal import Journal
    from projections import Projector

log = logging.getLogger(__name__)


class ReportIntake:
    """Mixin of :class:`oms.engine.manager.OrderManager`: applies exchange reports."""

    if TYPE_CHECKING:
        _orders: dict[str, OrderRecord]
        _by_oid: dict[str, str]
        _journal: Journal
        _last_stream_s: float
        config: EngineConfig
        store: EventStore
        connector: ExchangeConnector

        @property
        def projector(self) -> Projector: ...

        def emit(self, cid: str, candidates: list[OrderEvent]) -> list[OrderEvent]: ...
        def spawn(self, coro: Coroutine[Any, Any, Any]) -> None: ...
        async def resolve(self, cid: str) -> None: ...
        def _put(self, cid: str, order: OrderRecord) -> None: ...
        def get_order(self, client_order_id: str) -> InFlightOrder | None: ...

    def _on_place_result(self, request: PlaceOrderRequest, result: PlaceResult) -> None:
        cid = self._cid_of(request.cloid)
        if cid is None:
            return
        emitted = self.emit(cid, place_result_events(ClientOrderId(cid), result, time.time_ns()))
        if result.filled_amount > 0:
            self.spawn(self.fetch_fills_for(cid))
        if any(isinstance(e, OrderStatusUnknown) for e in emitted):
            self.spawn(self.resolve(cid))

    def _on_cancel_result(self, cloid: str, result: CancelResult) -> None:
        cid = self._cid_of(cloid)
        if cid is None:
            return
        emitted = self.emit(cid, cancel_result_events(ClientOrderId(cid), result, time.time_ns()))
        if (
            any(isinstance(e, CancelRejected) for e in emitted)
            or not emitted
            or any(type(e).__name__ == "OrderStatusUnknown" for e in emitted)
        ):
            self.spawn(self.resolve(cid))

    def on_status_report(self, report: OrderStatusReport) -> None:
        """Apply an order status seen on the exchange (stream or query)."""
        self._last_stream_s = time.monotonic()
        cid = self._cid_of(report.cloid) if report.cloid else None
        if cid is None and report.exchange_order_id is not None:
            cid = self._by_oid.get(report.exchange_order_id)
        order = self.get_order(cid) if cid is not None else None
        if cid is None or order is None:
            return  # the recovery sweep deals with orders we never made
        if report.status is ExchangeOrderStatus.NOT_FOUND:
            self._on_not_found(order)
            return
        if (
            report.status is ExchangeOrderStatus.OPEN
            and order.state is OrderState.PENDING_CANCEL
            and (order.expires_after_ms or 0)
            < time.time_ns() // 1_000_000 - int(self.config.deadline_grace_s * 1000)
        ):
            reason = "cancel not applied: the order is still open after the cancel deadline"
            self.emit(
                cid,
                [
                    CancelRejected(
                        client_order_id=order.client_order_id, reason=reason, at_ns=time.time_ns()
                    )
                ],
            )
            order = self.get_order(cid) or order
        self.emit(cid, status_report_events(order, report, time.time_ns()))
        order = self.get_order(cid) or order
        if (report.status is ExchangeOrderStatus.FILLED and order.remaining > 0) or (
            report.amount is not None
            and report.remaining is not None
            and report.amount - report.remaining > order.executed_base
        ):
            self.spawn(self.fetch_fills_for(cid))

    def _on_not_found(self, order: InFlightOrder) -> None:
        deadline = (order.expires_after_ms or 0) + int(self.config.deadline_grace_s * 1000)
        if order.exchange_order_id is None and time.time_ns() // 1_000_000 > deadline:
            self.emit(
                order.client_order_id,
                [
                    OrderNotFound(
                        client_order_id=order.client_order_id,
                        reason="the exchange does not know this cloid and its deadline has passed:"
                        " never placed",
                        at_ns=time.time_ns(),
                    )
                ],
            )

    def on_fill(self, fill: FillReport) -> None:
        """Apply a fill (deduplicated by trade id by the domain).

        A fill of an order that has left memory is applied after the order is read back from
        the journal (``emit``), never dropped as an orphan and never applied twice.
        """
        self._last_stream_s = time.monotonic()
        cid = self._cid_of(fill.cloid) if fill.cloid else None
        if cid is None:
            cid = self._by_oid.get(fill.exchange_order_id)
        if cid is None:
            self._unknown_fill(fill)
            return
        self.emit(cid, [fill_event(ClientOrderId(cid), fill)])

    def _never_journaled(self, cid: str, candidates: list[OrderEvent]) -> None:
        """Reports about a client order id the journal has no stream for."""
        for candidate in candidates:
            if isinstance(candidate, OrderFilled):
                self._unknown_fill_event(candidate)
            else:
                log.info("ignoring %s for %s: the journal does not know it", candidate.TYPE, cid)

    def _unknown_fill_event(self, event: OrderFilled) -> None:
        self._journal_unknown_fill(
            event.trade_id,
            event.exchange_order_id,
            {"cloid": ClientOrderId(event.client_order_id).cloid, "px": str(event.price),
             "sz": str(event.amount)},
        )

    def _unknown_fill(self, fill: FillReport) -> None:
        self._journal_unknown_fill(
            fill.trade_id,
            fill.exchange_order_id,
            {"cloid": fill.cloid, "pair": fill.pair, "px": str(fill.price),
             "sz": str(fill.amount), "side": fill.side},
        )

    def _journal_unknown_fill(
        self, trade_id: str, oid: str | None, data: dict[str, object]
    ) -> None:
        self.journal_anomaly(
            "unknown_order",
            f"fill {trade_id} for exchange order {oid} that the journal does not know (an order"
            " placed outside this engine?)",
            {"trade_id": trade_id, "oid": oid, **data},
            offending_type="FillReport",
        )

    def journal_anomaly(
        self,
        kind: str,
        detail: str,
        data: dict[str, object],
        offending_type: str = "OrderStatusReport",
    ) -> None:
        """Journal something the exchange reported that fits no order (``anomalies`` stream)."""
        anomaly = OrderAnomaly(
            client_order_id=ClientOrderId("0" * 32),
            kind=kind,
            detail=detail,
            offending_type=offending_type,
            offending_data=data,
            at_ns=time.time_ns(),
        )
        log.warning("journaling an anomaly: %s", detail)
        self._journal.submit("anomalies", [anomaly])

    async def _fold_stream(self, cid: str) -> InFlightOrder | None:
        """The order folded from its journal stream alone (None: the journal never saw it)."""
        order: InFlightOrder | None = None
        async for recorded in self.store.read_stream(order_stream(ClientOrderId(cid))):
            order = evolve(order, decode(recorded.type, recorded.data, recorded.event_version))
        return order

    def _cid_of(self, cloid: str | None) -> str | None:
        if not cloid:
            return None
        try:
            return str(ClientOrderId.from_cloid(cloid))
        except InvalidClientOrderId:
            return None

    async def fetch_fills_for(self, cid: str) -> None:
        """Fetch the fills of one order from the exchange and apply those not yet journaled."""
        order = self.get_order(cid)
        if order is None:
            return
        try:
            fills = await self.connector.fills_since(order.created_at_ns // 1_000_000 - 1000)
        except Exception as exc:
            log.warning("could not fetch fills for %s: %s (the next gap fill retries)", cid, exc)
            return
        for fill in fills:
            if fill.cloid == order.cloid or fill.exchange_order_id == order.exchange_order_id:
                self.on_fill(fill)
