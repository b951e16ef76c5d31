"""The report handler: what the engine does with each thing the exchange tells it.

Placement and cancel replies, pushed order updates, status answers and fills all become candidate
events (``reports.py``) passed through ``LiveOrders.emit`` (``decide`` + fold), so the same truth
applied twice changes nothing. Unknown outcomes are resolved here too: the exchange is asked by
cloid, waiting out the action's deadline (+ grace) where the answer would otherwise prove nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time

from connectors.base import (
    CancelResult,
    ExchangeConnector,
    ExchangeOrderStatus,
    ExchangeUnavailable,
    FillReport,
    OrderStatusReport,
    PlaceOrderRequest,
    PlaceResult,
)
from oms.domain.enums import OrderState
from oms.domain.events import (
    CancelRejected,
    OrderAnomaly,
    OrderNotFound,
    OrderStatusUnknown,
)
from oms.domain.ids import ClientOrderId, InvalidClientOrderId
from oms.domain.order import OrderRecord
from oms.engine.config import EngineConfig
from oms.engine.live_orders import LiveOrders
from oms.engine.reports import (
    cancel_result_events,
    fill_event,
    place_result_events,
    status_report_events,
)
from oms.engine.tasks import EngineTasks

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def cid_of(cloid: str | None) -> str | None:
    """Our client order id for a cloid, or None (absent, or not one of ours)."""
    if not cloid:
        return None
    try:
        return str(ClientOrderId.from_cloid(cloid))
    except InvalidClientOrderId:
        return None


class ReportHandler:
    """Applies exchange reports to the live orders; resolves unknown outcomes by cloid."""

    def __init__(
        self,
        live: LiveOrders,
        connector: ExchangeConnector,
        config: EngineConfig,
        tasks: EngineTasks,
    ) -> None:
        self._live = live
        self._connector = connector
        self._config = config
        self._tasks = tasks
        self._resolving: set[str] = set()
        self._last_stream_s = time.monotonic()

    @property
    def last_stream_activity(self) -> float:
        """``time.monotonic()`` of the last stream message applied."""
        return self._last_stream_s

    # ------------------------------------------------------------------ replies

    def on_place_result(self, request: PlaceOrderRequest, result: PlaceResult) -> None:
        """Apply the reply to a placement (outbox callback)."""
        cid = cid_of(request.cloid)
        if cid is None:
            return
        emitted = self._live.emit(
            cid, place_result_events(ClientOrderId(cid), result, time.time_ns())
        )
        if result.filled_amount > 0:
            self._tasks.spawn(self.fetch_fills_for(cid))
        if any(isinstance(e, OrderStatusUnknown) for e in emitted):
            self._tasks.spawn(self.resolve(cid))

    def on_cancel_result(self, cloid: str, result: CancelResult) -> None:
        """Apply the reply to a cancel (outbox callback)."""
        cid = cid_of(cloid)
        if cid is None:
            return
        emitted = self._live.emit(
            cid, cancel_result_events(ClientOrderId(cid), result, time.time_ns())
        )
        if not emitted or any(isinstance(e, CancelRejected | OrderStatusUnknown) for e in emitted):
            self._tasks.spawn(self.resolve(cid))

    # ------------------------------------------------------------------ status

    def on_status_report(self, report: OrderStatusReport) -> None:
        """Apply an order status seen on the exchange (stream or query)."""
        self._last_stream_s = time.monotonic()
        live = self._live
        cid = cid_of(report.cloid) if report.cloid else None
        if cid is None and report.exchange_order_id is not None:
            cid = live.cid_of_exchange_id(report.exchange_order_id)
        record = live.get(cid) if cid is not None else None
        if cid is None or record is None:
            return  # the recovery sweep deals with orders we never made
        if report.status is ExchangeOrderStatus.NOT_FOUND:
            self._on_not_found(record)
            return
        grace_ms = int(self._config.deadline_grace_s * 1000)
        if (
            report.status is ExchangeOrderStatus.OPEN
            and record.state is OrderState.PENDING_CANCEL
            and (record.expires_after_ms or 0) < _now_ms() - grace_ms
        ):
            reason = "cancel not applied: the order is still open after the cancel deadline"
            live.emit(
                cid,
                [
                    CancelRejected(
                        client_order_id=record.client_order_id, reason=reason, at_ns=time.time_ns()
                    )
                ],
            )
        order = record.freeze()
        live.emit(cid, status_report_events(order, report, time.time_ns()))
        filled = report.status is ExchangeOrderStatus.FILLED
        if (filled and record.amount > record.executed_base) or (
            report.amount is not None
            and report.remaining is not None
            and report.amount - report.remaining > record.executed_base
        ):
            self._tasks.spawn(self.fetch_fills_for(cid))

    def _on_not_found(self, record: OrderRecord) -> None:
        deadline = (record.expires_after_ms or 0) + int(self._config.deadline_grace_s * 1000)
        if record.exchange_order_id is None and _now_ms() > deadline:
            self._live.emit(
                record.client_order_id,
                [
                    OrderNotFound(
                        client_order_id=record.client_order_id,
                        reason="the exchange does not know this cloid and its deadline has passed:"
                        " never placed",
                        at_ns=time.time_ns(),
                    )
                ],
            )

    async def resolve(self, cid: str, max_attempts: int = 20) -> None:
        """Ask the exchange about one order by cloid until its outcome is certain (bounded).

        "Not found" (or "still open" while a cancel is pending) before the action's deadline
        proves nothing — the action may still be in flight — so we wait for the deadline
        (+ grace) and ask again; after it, "not found" means never placed and "still open"
        means the cancel failed.
        """
        if cid in self._resolving:
            return
        self._resolving.add(cid)
        try:
            await self._resolve(cid, max_attempts)
        finally:
            self._resolving.discard(cid)

    async def _resolve(self, cid: str, max_attempts: int) -> None:
        grace_ms = int(self._config.deadline_grace_s * 1000)
        delay = 0.2
        for _ in range(max_attempts):
            record = self._live.get(cid)
            if record is None or record.state.is_terminal:
                return
            try:
                report = await self._connector.order_status(record.client_order_id.cloid)
            except ExchangeUnavailable as exc:
                log.info("status of %s unavailable (%s); retrying", cid, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            record = self._live.get(cid)
            if record is None or record.state.is_terminal:
                return
            uncertain = report.status is ExchangeOrderStatus.NOT_FOUND or (
                report.status is ExchangeOrderStatus.OPEN
                and record.state is OrderState.PENDING_CANCEL
            )
            wait_ms = (record.expires_after_ms or 0) + grace_ms - _now_ms()
            if uncertain and wait_ms > 0:
                await asyncio.sleep(wait_ms / 1000 + 0.01)
                continue
            self.on_status_report(report)
            return
        log.warning(
            "order %s still unresolved after %d attempts; the next gap fill retries",
            cid,
            max_attempts,
        )

    # ------------------------------------------------------------------ fills

    def on_fill(self, fill: FillReport) -> None:
        """Apply a fill (deduplicated by trade id by the domain)."""
        self._last_stream_s = time.monotonic()
        live = self._live
        cid = cid_of(fill.cloid) if fill.cloid else None
        if cid is None:
            cid = live.cid_of_exchange_id(fill.exchange_order_id)
        if cid is None:
            self._unknown_fill(fill)
        elif cid not in live:
            self._tasks.spawn(self._read_back_then_fill(cid, fill))
        else:
            live.emit(cid, [fill_event(ClientOrderId(cid), fill)])

    async def _read_back_then_fill(self, cid: str, fill: FillReport) -> None:
        order = await self._live.read_back(cid)
        if order is None:
            self._unknown_fill(fill)
            return
        # An order that left memory gets its record back, so the fill lands on the order (and
        # in the positions) instead of being noted as an orphan.
        self._live.restore(order)
        self._live.emit(cid, [fill_event(ClientOrderId(cid), fill)])

    def _unknown_fill(self, fill: FillReport) -> None:
        anomaly = OrderAnomaly(
            client_order_id=ClientOrderId("0" * 32),
            kind="unknown_order",
            detail=f"fill {fill.trade_id} for exchange order {fill.exchange_order_id} that the "
            "journal does not know (an order placed outside this engine?)",
            offending_type="FillReport",
            offending_data={
                "trade_id": fill.trade_id,
                "oid": fill.exchange_order_id,
                "cloid": fill.cloid,
                "pair": fill.pair,
                "px": str(fill.price),
                "sz": str(fill.amount),
                "side": fill.side,
            },
            at_ns=time.time_ns(),
        )
        log.warning("journaling an anomaly: %s", anomaly.detail)
        self._live.note("anomalies", [anomaly])

    async def fetch_fills_for(self, cid: str) -> None:
        """Fetch the fills of one order from the exchange and apply those not yet journaled."""
        record = self._live.get(cid)
        if record is None:
            return
        cloid, oid = record.client_order_id.cloid, record.exchange_order_id
        try:
            fills = await self._connector.fills_since(record.created_at_ns // 1_000_000 - 1000)
        except Exception as exc:
            log.warning("could not fetch fills for %s: %s (the next gap fill retries)", cid, exc)
            return
        for fill in fills:
            if fill.cloid == cloid or fill.exchange_order_id == oid:
                self.on_fill(fill)
