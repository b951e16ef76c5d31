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
from collections.abc import Callable
from typing import Protocol

from connectors.base import (
    CancelResult,
    ExchangeConnector,
    ExchangeUnavailable,
    FillReport,
    OrderStatusReport,
    PlaceOrderRequest,
    PlaceResult,
)
from oms.domain.decider import NOTHING, Decision, Then, decide_observation, wait_before_trusting
from oms.domain.events import OrderAnomaly
from oms.domain.ids import ClientOrderId, InvalidClientOrderId
from oms.domain.messages import FillSeen, Observation
from oms.engine.config import EngineConfig
from oms.engine.corrections import Corrections
from oms.engine.live_orders import LiveOrders
from oms.engine.reports import cancel_replied, fill_seen, place_replied, status_seen
from oms.engine.tasks import EngineTasks

log = logging.getLogger(__name__)


def cid_of(cloid: str | None) -> str | None:
    """Our client order id for a cloid, or None (absent, or not one of ours)."""
    if not cloid:
        return None
    try:
        return str(ClientOrderId.from_cloid(cloid))
    except InvalidClientOrderId:
        return None


CancelSender = Callable[[str, str, int], None]
"""Hands a journaled cancel (pair, cloid, deadline in ms) to the exchange (the outbox)."""


class OutsideFills(Protocol):
    """The account's intake of fills this engine did not place."""

    def on_outside_fill(self, fill: FillReport) -> None:
        """Journal ``fill`` as the account's event (once)."""

    def remember(self, fill: FillReport) -> None:
        """Keep ``fill`` while its order is read back from the journal."""

    def recall(self, trade_id: str, exchange_order_id: str) -> FillReport | None:
        """The report kept by :meth:`remember` (taken), if any."""


class ReportHandler:
    """Applies exchange reports to the live orders; resolves unknown outcomes by cloid.

    Each report becomes an observation; the pure decider says which events to journal and what
    follows (resolve, fetch fills, send the cancel asked for before the ack).
    """

    def __init__(
        self,
        live: LiveOrders,
        connector: ExchangeConnector,
        config: EngineConfig,
        tasks: EngineTasks,
        send_cancel: CancelSender,
    ) -> None:
        self._live = live
        self._connector = connector
        self._config = config
        self._tasks = tasks
        self._send_cancel = send_cancel
        self._resolving: set[str] = set()
        self._last_stream_s = time.monotonic()
        #: Counts what runtime gap fills journal (set by the engine; see corrections.py).
        self.corrections: Corrections | None = None
        #: Where fills of orders this engine did not place go (the account keeper); None: they
        #: are journaled as ``unknown_order`` anomalies.
        self.outside_fills: OutsideFills | None = None

    @property
    def last_stream_activity(self) -> float:
        """``time.monotonic()`` of the last stream message applied."""
        return self._last_stream_s

    def observe(self, cid: str, observation: Observation) -> Decision:
        """Decide ``observation`` for order ``cid``, journal the events, run the follow-ups.

        An order that has left memory is first read back from its journal stream (in the
        background), so the outcome never depends on a cache size; an order the journal never
        saw is reported (a fill becomes an ``unknown_order`` anomaly), never invented.
        """
        record = self._live.get(cid)
        if record is None:
            self._tasks.spawn(self._read_back_then_observe(cid, observation))
            return NOTHING
        decision = decide_observation(record, observation, self._config.timing())
        after = None
        deadline = decision.cancel_deadline_ms
        if Then.SEND_CANCEL in decision.then and deadline is not None:
            pair, cloid, send = record.pair, record.client_order_id.cloid, self._send_cancel

            def after() -> None:
                send(pair, cloid, deadline)

        if decision.events:
            self._live.append(cid, decision.events, after)
            if self.corrections is not None:
                self.corrections.note(decision.events)
        if Then.FETCH_FILLS in decision.then:
            self._tasks.spawn(self.fetch_fills_for(cid))
        if Then.RESOLVE in decision.then:
            self._tasks.spawn(self.resolve(cid))
        return decision

    async def _read_back_then_observe(self, cid: str, observation: Observation) -> None:
        if await self._live.ensure_loaded(cid):
            self.observe(cid, observation)
        elif isinstance(observation, FillSeen):
            fill = observation.fill
            sink = self.outside_fills
            report = None if sink is None else sink.recall(
                fill.trade_id, fill.exchange_order_id or "")
            if sink is not None and report is not None:
                sink.on_outside_fill(report)  # a cloid of our form that no stream of ours knows
                return
            self._journal_unknown_fill(
                fill.trade_id,
                fill.exchange_order_id,
                {"cloid": ClientOrderId(fill.client_order_id).cloid, "px": str(fill.price),
                 "sz": str(fill.amount)},
            )
        else:
            log.info("ignoring %s for %s: the journal does not know it",
                     type(observation).__name__, cid)

    # ------------------------------------------------------------------ replies

    def on_place_result(self, request: PlaceOrderRequest, result: PlaceResult) -> None:
        """Apply the reply to a placement (outbox callback)."""
        cid = cid_of(request.cloid)
        if cid is not None:
            self.observe(cid, place_replied(result))

    def on_cancel_result(self, cloid: str, result: CancelResult) -> None:
        """Apply the reply to a cancel (outbox callback)."""
        cid = cid_of(cloid)
        if cid is not None:
            self.observe(cid, cancel_replied(result))

    # ------------------------------------------------------------------ status

    def on_status_report(self, report: OrderStatusReport) -> None:
        """Apply an order status seen on the exchange (stream or query)."""
        self._last_stream_s = time.monotonic()
        cid = cid_of(report.cloid) if report.cloid else None
        if cid is None and report.exchange_order_id is not None:
            cid = self._live.cid_of_exchange_id(report.exchange_order_id)
        # An order not in memory is either one we never made (the sweep deals with those) or
        # a completed one that left memory: a status cannot change it (a late fill can).
        if cid is not None and cid in self._live:
            self.observe(cid, status_seen(report))

    async def resolve(self, cid: str, max_attempts: int = 20) -> None:
        """Ask the exchange about one order by cloid until its outcome is certain (bounded).

        An answer that proves nothing yet ("not found", or "still open" while a sent cancel is
        pending, before the deadline + grace: ``wait_before_trusting``) is asked again once the
        deadline has passed.
        """
        if cid in self._resolving:
            return
        self._resolving.add(cid)
        try:
            await self._resolve(cid, max_attempts)
        finally:
            self._resolving.discard(cid)

    async def _resolve(self, cid: str, max_attempts: int) -> None:
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
            seen = status_seen(report)
            wait_ms = wait_before_trusting(record, seen.status, self._config.timing())
            if wait_ms > 0:
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
        """Apply a fill (deduplicated by trade id by the domain).

        A fill of an order that has left memory is applied after the order is read back from
        the journal (:meth:`observe`), never dropped as an orphan and never applied twice.
        """
        self._last_stream_s = time.monotonic()
        cid = cid_of(fill.cloid) if fill.cloid else None
        if cid is None:
            cid = self._live.cid_of_exchange_id(fill.exchange_order_id)
        sink = self.outside_fills
        if cid is None and sink is not None:
            sink.on_outside_fill(fill)  # placed elsewhere: the account's event, applied once
            return
        if cid is None:
            self._journal_unknown_fill(
                fill.trade_id,
                fill.exchange_order_id,
                {"cloid": fill.cloid, "pair": fill.pair, "px": str(fill.price),
                 "sz": str(fill.amount), "side": fill.side},
            )
            return
        if sink is not None and cid not in self._live:
            # Ours by its cloid's form but not in memory: if the journal does not know it
            # either, it is an outside fill and the account needs the whole report.
            sink.remember(fill)
        self.observe(cid, fill_seen(ClientOrderId(cid), fill))

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
        self._live.note("anomalies", [anomaly])
        if self.corrections is not None:
            self.corrections.note([anomaly])

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
