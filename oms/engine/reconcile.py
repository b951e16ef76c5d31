"""The reconciler: active-order reconcile, gap fills, open-order sweeps.

Used at start-up (see ``recovery.py``), after every stream reconnect, when the streams fall silent
(``streams.py``), and by ``OrderManager.reconcile``. Everything found goes through the report
handler, so it becomes candidate events passed through the domain's ``decide``: applying the same
truth twice changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from connectors.base import ExchangeConnector, OrderStatusReport
from oms.domain.enums import OrderState, OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.events import OrderAccepted, OrderCreated, OrderSubmitted
from oms.domain.ids import ClientOrderId
from oms.engine.config import EngineConfig
from oms.engine.corrections import Corrections
from oms.engine.intake import ReportHandler, cid_of
from oms.engine.live_orders import LiveOrders
from oms.engine.tasks import EngineTasks

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class ReconcileCounts:
    """What a reconciliation pass looked at and changed."""

    checked: int = 0
    queried: int = 0
    open_on_exchange: int = 0
    fills_fetched: int = 0
    unknown_found: int = 0
    adopted: int = 0
    canceled_unknown: int = 0
    events: int = 0
    read_retries: int = 0
    notes: list[str] = field(default_factory=list)
    details: list[dict[str, str]] = field(default_factory=list)


class Reconciler:
    """Brings the live orders in line with the exchange (through the report handler)."""

    def __init__(
        self,
        live: LiveOrders,
        reports: ReportHandler,
        connector: ExchangeConnector,
        config: EngineConfig,
        tasks: EngineTasks,
        corrections: Corrections | None = None,
    ) -> None:
        self._live = live
        self._reports = reports
        self._connector = connector
        self._config = config
        self._tasks = tasks
        self.corrections = corrections or Corrections()

    async def reconcile_active(self, counts: ReconcileCounts) -> list[OrderStatusReport]:
        """Bring every non-terminal order in line with the exchange; return its open orders.

        One ``open_orders`` call covers the orders still resting; the others are asked by cloid,
        with bounded concurrency, waiting for deadlines where the answer would be uncertain.
        """
        open_reports = await self._connector.open_orders()
        counts.open_on_exchange = len(open_reports)
        open_by_cloid = {r.cloid: r for r in open_reports if r.cloid}
        active = self._live.active_records()
        counts.checked = len(active)
        to_query: list[str] = []
        for record in active:
            report = open_by_cloid.get(record.client_order_id.cloid)
            if report is not None and record.state is not OrderState.PENDING_CANCEL:
                self._reports.on_status_report(report)
            else:
                to_query.append(record.client_order_id)
        counts.queried = len(to_query)
        limit = asyncio.Semaphore(self._config.status_query_concurrency)

        async def one(cid: str) -> None:
            async with limit:
                await self._reports.resolve(cid)

        await asyncio.gather(*(one(cid) for cid in to_query))
        return open_reports

    async def gap_fill(self, counts: ReconcileCounts, since_ms: int | None = None) -> None:
        """Fetch fills since ``since_ms`` (default: :meth:`gap_fill_start`) and apply them."""
        start = self.gap_fill_start() if since_ms is None else since_ms
        fills = await self._connector.fills_since(max(start, 0))
        counts.fills_fetched += len(fills)
        for fill in fills:
            self._reports.on_fill(fill)

    def gap_fill_start(self) -> int:
        """Where a gap fill starts: the latest journaled fill minus the look-back, else the
        oldest active order's creation, else now (nothing open and no fills: no gap)."""
        lookback = int(self._config.fill_lookback_s * 1000)
        last = max((r.last_fill_ms or 0 for r in self._live.records()), default=0)
        oldest_active = min(
            (r.created_at_ns // 1_000_000 for r in self._live.active_records()), default=None
        )
        candidates = [last - lookback] if last else []
        if oldest_active is not None:
            candidates.append(oldest_active - 1000)
        return min(candidates) if candidates else _now_ms() - lookback

    async def refresh(self, why: str) -> ReconcileCounts:
        """Gap fill: fills since the last journaled one, then the status of every active order."""
        counts = ReconcileCounts()
        try:
            with self.corrections.scope(why):  # what it journals is counted (corrections.py)
                await self.gap_fill(counts)
                if self._live.active_count:
                    await self.reconcile_active(counts)
        except Exception as exc:
            log.warning("gap fill after %s failed (%s); the poller retries", why, exc)
            counts.notes.append(f"failed: {exc}")
        else:
            log.info(
                "gap fill after %s: %d fills fetched, %d orders checked",
                why,
                counts.fills_fetched,
                counts.checked,
            )
        return counts

    async def sweep_unknown(
        self, open_reports: list[OrderStatusReport], counts: ReconcileCounts
    ) -> None:
        """Journal (adopt) or cancel open exchange orders that the journal does not know.

        ``open_reports`` must be a fresh view (taken after reconciliation and the gap fill): an
        order on an older list may have filled since. An order is judged against the journal,
        never against memory alone: one that has left memory is read back, the exchange's
        status applied to it, and it is never adopted a second time.
        """
        live = self._live
        for report in open_reports:
            cid = cid_of(report.cloid)
            if cid is not None and live.get(cid) is not None:
                continue
            oid = report.exchange_order_id
            if oid is not None and live.cid_of_exchange_id(oid) is not None:
                continue
            if cid is not None:
                known = await live.load(cid)
                if known is not None:
                    counts.notes.append(f"{cid}: open on the exchange, known to the journal as "
                                        f"{known.state.value}; status applied, not adopted")
                    counts.details.append({"client_order_id": cid, "action": "rechecked",
                                           "why": f"journal has it ({known.state.value})"})
                    if await live.ensure_loaded(cid):
                        self._reports.on_status_report(report)
                    continue
                self._reports.journal_anomaly(
                    "unknown_own_order",
                    f"open order {oid} carries our cloid {report.cloid} but the journal has no"
                    " stream for it (every order is journaled before it is sent): another"
                    " engine on this account, or a lost journal",
                    {"cloid": report.cloid, "oid": oid, "pair": report.pair},
                )
            counts.unknown_found += 1
            if self._config.unknown_orders == "cancel":
                counts.canceled_unknown += 1
                counts.details.append({"client_order_id": cid or "", "action": "canceled",
                                       "why": f"unknown open order {oid}"})
                self._tasks.spawn(self._cancel_external(report))
                continue
            adopted = self._adopt(report, cid)
            if adopted is not None:
                counts.adopted += 1
                counts.details.append({"client_order_id": adopted, "action": "adopted",
                                       "why": f"open order {oid} the journal did not know"})

    def _adopt(self, report: OrderStatusReport, cid: str | None) -> str | None:
        if report.side is None or report.amount is None or report.price is None:
            log.warning(
                "cannot adopt order %s: report lacks side/size/price", report.exchange_order_id
            )
            return None
        now_ns = time.time_ns()
        new_cid = ClientOrderId(cid) if cid else ClientOrderId.new(now_ns)
        side = TradeSide.BUY if report.side == "buy" else TradeSide.SELL
        created = OrderCreated(
            client_order_id=new_cid,
            pair=report.pair,
            side=side,
            order_type=OrderType.LIMIT,
            amount=report.amount,
            price=report.price,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            position_action=PositionAction.OPEN,
            leverage=None,
            created_at_ns=report.timestamp_ms * 1_000_000 or now_ns,
            venue=self._connector.venue,
            account=self._connector.account,
        )
        submitted = OrderSubmitted(
            client_order_id=new_cid,
            attempt=1,
            expires_after_ms=report.timestamp_ms,
            sent_at_ns=now_ns,
        )
        accepted = OrderAccepted(
            client_order_id=new_cid, exchange_order_id=report.exchange_order_id or "", at_ns=now_ns
        )
        self._live.emit(new_cid, [created, submitted, accepted])
        if report.remaining is not None and report.remaining < report.amount:
            self._tasks.spawn(self._reports.fetch_fills_for(new_cid))
        log.info("adopted external order %s as %s", report.exchange_order_id, new_cid)
        return str(new_cid)

    async def _cancel_external(self, report: OrderStatusReport) -> None:
        deadline = _now_ms() + int(self._config.expires_after_s * 1000)
        if report.exchange_order_id is None:
            return
        result = await self._connector.cancel(report.pair, report.exchange_order_id, deadline)
        log.info("canceled external order %s: %s", report.exchange_order_id, result.outcome.value)
