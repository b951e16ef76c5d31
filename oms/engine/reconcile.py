"""Reconciliation with the exchange: unknown outcomes, gap fills, open-order sweeps.

Used at start-up (see ``recovery.py``), after every stream reconnect, when the streams fall silent,
and whenever an action's outcome is unknown. Everything found becomes candidate events passed
through the domain's ``decide``, so applying the same truth twice changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connectors.base import ExchangeOrderStatus, ExchangeUnavailable, OrderStatusReport
from oms.domain.enums import OrderState, OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.events import OrderAccepted, OrderCreated, OrderSubmitted
from oms.domain.ids import ClientOrderId, InvalidClientOrderId

if TYPE_CHECKING:
    from oms.engine.manager import OrderManager

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def resolve_order(manager: OrderManager, cid: str, max_attempts: int = 20) -> None:
    """Ask the exchange about one order by cloid until its outcome is certain (bounded).

    "Not found" (or "still open" while a cancel is pending) before the action's deadline proves
    nothing — the action may still be in flight — so we wait for the deadline (+ grace) and ask
    again; after it, "not found" means never placed and "still open" means the cancel failed.
    """
    grace_ms = int(manager.config.deadline_grace_s * 1000)
    delay = 0.2
    for _ in range(max_attempts):
        order = manager.get_order(cid)
        if order is None or order.is_terminal:
            return
        try:
            report = await manager.connector.order_status(order.cloid)
        except ExchangeUnavailable as exc:
            log.info("status of %s unavailable (%s); retrying", cid, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        uncertain = report.status is ExchangeOrderStatus.NOT_FOUND or (
            report.status is ExchangeOrderStatus.OPEN and order.state is OrderState.PENDING_CANCEL
        )
        wait_ms = (order.expires_after_ms or 0) + grace_ms - _now_ms()
        if uncertain and wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000 + 0.01)
            continue
        manager.on_status_report(report)
        return
    log.warning(
        "order %s still unresolved after %d attempts; the next gap fill retries", cid, max_attempts
    )


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


async def reconcile_active(
    manager: OrderManager, counts: ReconcileCounts
) -> list[OrderStatusReport]:
    """Bring every non-terminal order in line with the exchange; return the exchange's open orders.

    One ``open_orders`` call covers the orders still resting; the others are asked by cloid, with
    bounded concurrency, waiting for deadlines where the answer would otherwise be uncertain.
    """
    open_reports = await manager.connector.open_orders()
    counts.open_on_exchange = len(open_reports)
    open_by_cloid = {r.cloid: r for r in open_reports if r.cloid}
    active = dict(manager.active_orders)
    counts.checked = len(active)
    to_query: list[str] = []
    for cid, order in active.items():
        report = open_by_cloid.get(order.cloid)
        if report is not None and order.state is not OrderState.PENDING_CANCEL:
            manager.on_status_report(report)
        else:
            to_query.append(cid)
    counts.queried = len(to_query)
    limit = asyncio.Semaphore(manager.config.status_query_concurrency)

    async def one(cid: str) -> None:
        async with limit:
            await resolve_order(manager, cid)

    await asyncio.gather(*(one(cid) for cid in to_query))
    return open_reports


async def gap_fill(manager: OrderManager, counts: ReconcileCounts, since_ms: int) -> None:
    """Fetch fills since ``since_ms`` and apply them (duplicates are dropped by trade id)."""
    fills = await manager.connector.fills_since(max(since_ms, 0))
    counts.fills_fetched += len(fills)
    for fill in fills:
        manager.on_fill(fill)


def gap_fill_start(manager: OrderManager) -> int:
    """Where a gap fill starts: the latest journaled fill minus the look-back, else the oldest
    active order's creation, else now (a journal with nothing open and no fills has no gap)."""
    lookback = int(manager.config.fill_lookback_s * 1000)
    last = max((o.last_fill_ms or 0 for o in manager.orders.values()), default=0)
    oldest_active = min(
        (o.created_at_ns // 1_000_000 for o in manager.active_orders.values()), default=None
    )
    candidates = [last - lookback] if last else []
    if oldest_active is not None:
        candidates.append(oldest_active - 1000)
    return min(candidates) if candidates else _now_ms() - lookback


async def sweep_unknown(
    manager: OrderManager, open_reports: list[OrderStatusReport], counts: ReconcileCounts
) -> None:
    """Journal (adopt) or cancel open exchange orders that the journal does not know.

    ``open_reports`` must be a fresh view (taken after reconciliation and the gap fill): an
    order on an older list may have filled since. An order is judged against the journal,
    never against memory alone: one that has left memory is read back, the exchange's status
    applied to it, and it is never adopted a second time.
    """
    for report in open_reports:
        cid = _our_cid(report.cloid)
        if cid is not None and manager.get_order(cid) is not None:
            continue
        if report.exchange_order_id is not None and report.exchange_order_id in manager.by_oid:
            continue
        if cid is not None:
            known = await manager.load_order(cid)
            if known is not None:
                counts.notes.append(f"{cid}: open on the exchange, known to the journal as "
                                    f"{known.state.value}; status applied, not adopted")
                counts.details.append({"client_order_id": cid, "action": "rechecked",
                                       "why": f"journal has it ({known.state.value})"})
                if await manager.ensure_loaded(cid):
                    manager.on_status_report(report)
                continue
            manager.journal_anomaly(
                "unknown_own_order",
                f"open order {report.exchange_order_id} carries our cloid {report.cloid} but the"
                " journal has no stream for it (every order is journaled before it is sent):"
                " another engine on this account, or a lost journal",
                {"cloid": report.cloid, "oid": report.exchange_order_id, "pair": report.pair},
            )
        counts.unknown_found += 1
        if manager.config.unknown_orders == "cancel":
            counts.canceled_unknown += 1
            counts.details.append({"client_order_id": cid or "", "action": "canceled",
                                   "why": f"unknown open order {report.exchange_order_id}"})
            manager.spawn(_cancel_external(manager, report))
            continue
        adopted = _adopt(manager, report, cid)
        if adopted is not None:
            counts.adopted += 1
            counts.details.append({"client_order_id": adopted, "action": "adopted",
                                   "why": f"open order {report.exchange_order_id} the journal"
                                   " did not know"})


def _our_cid(cloid: str | None) -> str | None:
    if not cloid:
        return None
    try:
        return str(ClientOrderId.from_cloid(cloid))
    except InvalidClientOrderId:
        return None


def _adopt(manager: OrderManager, report: OrderStatusReport, cid: str | None) -> str | None:
    if report.side is None or report.amount is None or report.price is None:
        counts_note = f"cannot adopt order {report.exchange_order_id}: report lacks side/size/price"
        log.warning(counts_note)
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
        venue=manager.connector.venue,
        account=manager.connector.account,
    )
    submitted = OrderSubmitted(
        client_order_id=new_cid, attempt=1, expires_after_ms=report.timestamp_ms, sent_at_ns=now_ns
    )
    accepted = OrderAccepted(
        client_order_id=new_cid, exchange_order_id=report.exchange_order_id or "", at_ns=now_ns
    )
    manager.emit(new_cid, [created, submitted, accepted])
    if report.remaining is not None and report.remaining < report.amount:
        manager.spawn(manager.fetch_fills_for(new_cid))
    log.info("adopted external order %s as %s", report.exchange_order_id, new_cid)
    return str(new_cid)


async def _cancel_external(manager: OrderManager, report: OrderStatusReport) -> None:
    deadline = _now_ms() + int(manager.config.expires_after_s * 1000)
    if report.exchange_order_id is None:
        return
    result = await manager.connector.cancel(report.pair, report.exchange_order_id, deadline)
    log.info("canceled external order %s: %s", report.exchange_order_id, result.outcome.value)
