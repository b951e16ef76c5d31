"""Start-up: claim → replay → verify → connect → reconcile → gap fill → sweep → account →
journal → open.

Recovery is not a special path: it is the normal start. If any step fails, :class:`RecoveryFailed`
names the step and the engine stays closed (fail closed). The :class:`RecoveryReport` says what each
step did and how long it took.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from connectors.base import ExchangeConnector, ExchangeUnavailable
from eventstore import AnchorKeeper, EventStore
from oms.domain.enums import OrderState
from oms.engine.anchoring import anchor_head, check_anchor
from oms.engine.config import EngineConfig
from oms.engine.errors import RecoveryFailed
from oms.engine.live_orders import LiveOrders
from oms.engine.reconcile import ReconcileCounts, Reconciler
from oms.engine.sealing import start_state

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RecoveryReport:
    """What start-up replayed, checked and corrected, with the duration of each step (seconds)."""

    lease: int | None = None
    events_replayed: int = 0
    journal_position: int = 0
    from_snapshot: bool = False
    snapshot_written: bool = False
    orders_in_journal: int = 0
    active_orders_before: int = 0
    active_orders_after: int = 0
    chain_verified: int = 0
    counts: ReconcileCounts = field(default_factory=ReconcileCounts)
    corrections: int = 0
    account: dict[str, object] = field(default_factory=dict)
    read_retries: dict[str, int] = field(default_factory=dict)
    changed: list[dict[str, str]] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        """Sum of the step durations."""
        return sum(self.durations.values())

    def as_dict(self) -> dict[str, object]:
        """A JSON-able view (for the CLI and logs)."""
        c = self.counts
        return {
            "lease": self.lease,
            "events_replayed": self.events_replayed,
            "journal_position": self.journal_position,
            "from_snapshot": self.from_snapshot,
            "snapshot_written": self.snapshot_written,
            "orders_in_journal": self.orders_in_journal,
            "active_orders_before": self.active_orders_before,
            "active_orders_after": self.active_orders_after,
            "chain_verified": self.chain_verified,
            "orders_checked": c.checked,
            "orders_queried_by_cloid": c.queried,
            "open_on_exchange": c.open_on_exchange,
            "fills_fetched": c.fills_fetched,
            "unknown_open_orders": c.unknown_found,
            "adopted": c.adopted,
            "canceled_unknown": c.canceled_unknown,
            "corrections": self.corrections,
            "account": self.account,
            "read_retries": dict(self.read_retries),
            "orders_changed": list(self.changed),
            "orders_swept": list(c.details),
            "durations_s": {k: round(v, 4) for k, v in self.durations.items()},
            "total_s": round(self.total_seconds, 4),
        }


class _Step:
    """Times one step and turns any failure into :class:`RecoveryFailed` naming it."""

    def __init__(self, report: RecoveryReport, name: str) -> None:
        self.report, self.name = report, name

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.report.durations[self.name] = time.perf_counter() - self.t0
        if exc is None or isinstance(exc, (RecoveryFailed, asyncio.CancelledError)):
            return
        raise RecoveryFailed(self.name, f"{type(exc).__name__}: {exc}") from exc


_T = TypeVar("_T")


class _ReadRetry:
    """Retries a start-up read that failed for a transient reason, for a bounded time.

    A 503 or a reset on ``meta`` or ``openOrders`` during start-up says nothing about the
    journal or the orders: failing closed at once would keep the engine down for a blip.
    Reads are idempotent, so they are retried with exponential backoff and jitter until
    ``limit_s`` has passed; then the step fails closed as before. Retries are counted per step.
    """

    def __init__(self, report: RecoveryReport, limit_s: float) -> None:
        self.report, self.limit_s = report, limit_s

    async def __call__(self, step: str, call: Callable[[], Awaitable[_T]]) -> _T:
        loop = asyncio.get_running_loop()
        end = loop.time() + max(self.limit_s, 0.0)
        delay = 0.1
        while True:
            try:
                return await call()
            except ExchangeUnavailable as exc:
                if loop.time() + delay > end:
                    raise
                self.report.read_retries[step] = self.report.read_retries.get(step, 0) + 1
                log.warning("start-up read (%s) failed: %s; retrying in %.2f s", step, exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)


def _changes(
    live: LiveOrders, before: dict[str, tuple[OrderState, Decimal]]
) -> list[dict[str, str]]:
    """Orders whose state or executed amount recovery changed, with the order's reason."""
    out: list[dict[str, str]] = []
    for cid, (state, executed) in before.items():
        after = live.snapshot(cid)
        if after is None or (after.state is state and after.executed_base == executed):
            continue
        out.append({
            "client_order_id": cid,
            "before": state.value,
            "after": after.state.value,
            "executed_before": str(executed),
            "executed_after": str(after.executed_base),
            "why": after.reason or ("fills found on the exchange" if after.executed_base
                                    != executed else after.state.value),
        })
    return out


@dataclass(frozen=True, slots=True)
class RecoveryParts:
    """What start-up works on: the engine's collaborators, and how to start its pipeline."""

    store: EventStore
    connector: ExchangeConnector
    config: EngineConfig
    live: LiveOrders
    reconciler: Reconciler
    claim: Callable[[], Awaitable[int]]
    """Claims the journal for this engine (the lease) and fences its store."""
    start_pipeline: Callable[[], None]
    """Starts the journal, outbox, listeners and background tasks (after ``connector.start``)."""
    flush: Callable[[], Awaitable[None]]
    """Waits until everything emitted is durable and every queued request sent."""
    anchor: AnchorKeeper | None = None
    """The journal's anchor: compared before anything is written (a lost tail keeps the engine
    closed), then written with the head once the chain verified."""
    reconcile_account: Callable[[], Awaitable[dict[str, object]]] | None = None
    """Reconciles the account with the exchange (None: the connector cannot read it)."""


async def recover(parts: RecoveryParts) -> RecoveryReport:
    """Run every start-up step; return the report or raise RecoveryFailed."""
    report = RecoveryReport()
    store, config, live, reconciler = parts.store, parts.config, parts.live, parts.reconciler
    with _Step(report, "anchor"):
        await check_anchor(parts.anchor, store)  # events lost or rewritten: stay closed
    with _Step(report, "claim"):
        report.lease = await parts.claim()
    with _Step(report, "replay"):
        # The whole chain by default; only the tail after the newest seal (or snapshot) when
        # so configured, chained from the sealed hash (or the stored hash before it).
        start = await start_state(store, config.verify_on_start, config.seal_key,
                                  max(config.completed_in_memory, 1))
        loaded = start.loaded
        live.adopt(loaded.projector)
        report.events_replayed = loaded.events_replayed
        report.journal_position = loaded.last_position
        report.from_snapshot = loaded.from_snapshot
        report.orders_in_journal = len(live.records())
        report.active_orders_before = live.active_count
    with _Step(report, "verify"):
        verified = await store.verify(
            from_position=start.verify_from, previous_hash=start.previous_hash
        )
        if not verified.ok:
            raise RecoveryFailed(
                "verify",
                f"the journal's hash chain is broken at position {verified.first_bad_position}"
                f" ({verified.reason}); run `oms audit verify` and restore the journal from a"
                " backup before trading",
            )
        report.chain_verified = verified.checked
        await anchor_head(parts.anchor, store)
    retry = _ReadRetry(report, config.recovery_read_retry_s)
    with _Step(report, "connect"):
        await retry("connect", parts.connector.start)
        parts.start_pipeline()
    head_before, _ = await store.head()
    before: dict[str, tuple[OrderState, Decimal]] = {
        r.client_order_id: (r.state, r.executed_base) for r in live.active_records()
    }
    with _Step(report, "reconcile"):
        await retry("reconcile", lambda: reconciler.reconcile_active(report.counts))
    with _Step(report, "fills"):
        since = reconciler.gap_fill_start()
        await retry("fills", lambda: reconciler.gap_fill(report.counts, since))
    with _Step(report, "sweep"):
        # A fresh view: orders on the first list may have filled (and left memory) since.
        fresh = await retry("sweep", parts.connector.open_orders)
        await reconciler.sweep_unknown(fresh, report.counts)
    if parts.reconcile_account is not None:
        with _Step(report, "account"):
            report.account = await retry("account", parts.reconcile_account)
    with _Step(report, "journal"):
        await parts.flush()
        head_after, _ = await store.head()
        report.corrections = head_after - head_before
        report.active_orders_after = live.active_count
        report.changed = _changes(live, before)
    every = config.snapshot_every
    if every and report.events_replayed >= every:
        with _Step(report, "snapshot"):
            await live.flush()
            report.snapshot_written = await live.save_snapshot(only_if_changed=False)
    log.info("recovery complete: %s", report.as_dict())
    return report
