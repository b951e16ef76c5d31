"""The account keeper: journals what the exchange says about the account and reconciles it.

It turns outside fills, funding payments and ledger updates into account events (each applied
once: a key already folded or already on its way to the journal is dropped), and reconciles the
account with the exchange — at start-up (a step of recovery) and every
``AccountConfig.reconcile_interval_s`` while running:

1. read ``clearinghouseState`` / ``spotClearinghouseState`` (journaled as ``AccountObserved``);
2. then fetch and journal what could explain a difference: fills (ours and outside ones),
   funding and ledger updates since the last reconciliation (minus a look-back) — fetched after
   the answer, so everything the answer reflects is journaled;
3. compare each perp position's size, the cash (account value − unrealized PnL) and each spot
   balance with ours, ignoring what we folded from exchange events later than the answer;
4. a difference seen the same in two consecutive reads (a fill in flight shows once, then is
   gone) is journaled as ``AccountCorrected`` with both values and the reason, and raised to the
   ``on_alert`` listeners. The fold then takes the exchange's value: after every reconciliation
   the engine's positions equal the exchange's, and the journal says why.

It holds no account state of its own: the account is the projection's fold of the journal.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from connectors.account import AccountReader, AccountSnapshot
from connectors.base import FillReport
from oms.domain.account import AccountState, is_spot_pair
from oms.domain.account_events import (
    ALERT_EVENTS,
    AccountAnomaly,
    AccountCorrected,
    AccountEvent,
    AccountObserved,
    KillSwitchReset,
    KillSwitchTripped,
)
from oms.engine.account_alerts import AccountListeners
from oms.engine.account_config import AccountConfig
from oms.engine.account_reports import (
    anomaly,
    bad_element_anomaly,
    fill_key,
    funding_event,
    ledger_event,
    outside_fill_event,
)
from oms.engine.account_risk import breach

log = logging.getLogger(__name__)

_OPENING = (
    "opening state: the journal has no earlier observation of this account, so the exchange's"
    " value is taken as the starting point"
)
_UNEXPLAINED = (
    "the exchange reports another value after every fill, funding payment and ledger update"
    " it lists since {since} was journaled: a change this engine was never told about (a"
    " position changed behind its back, history beyond the exchange's reach, or fills folded"
    " in another order than the exchange's)"
)


@dataclass(slots=True)
class AccountReconcileReport:
    """What one account reconciliation fetched, compared and corrected."""

    why: str = ""
    fills_fetched: int = 0
    funding_fetched: int = 0
    ledger_fetched: int = 0
    journaled: int = 0
    corrections: list[AccountCorrected] = field(default_factory=list)
    anomalies: int = 0
    completed: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        """A JSON-able view."""
        return {
            "why": self.why,
            "fills_fetched": self.fills_fetched,
            "funding_fetched": self.funding_fetched,
            "ledger_fetched": self.ledger_fetched,
            "journaled": self.journaled,
            "corrections": [
                {"field": c.field, "believed": str(c.believed), "exchange": str(c.exchange)}
                for c in self.corrections
            ],
            "anomalies": self.anomalies,
            "completed": self.completed,
            "error": self.error,
        }


Submit = Callable[[Sequence[AccountEvent]], None]


class AccountKeeper:
    """See the module docstring. ``submit`` queues account events on the engine's journal (its
    one writer keeps them in order with the orders' events); ``account`` is the projection."""

    def __init__(
        self,
        *,
        submit: Submit,
        flush: Callable[[], Awaitable[None]],
        account: Callable[[], AccountState],
        reader: AccountReader,
        fills_since: Callable[[int], Awaitable[list[FillReport]]],
        apply_fill: Callable[[FillReport], None],
        known_pair: Callable[[str], bool],
        config: AccountConfig,
    ) -> None:
        self._submit = submit
        self._flush = flush
        self._account = account
        self._reader = reader
        self._fills_since = fills_since
        self._apply_fill = apply_fill
        self._known_pair = known_pair
        self.config = config
        self.listeners = AccountListeners()
        self._pending: set[str] = set()
        self._remembered: dict[str, FillReport] = {}
        self._lock = asyncio.Lock()
        self.last_report: AccountReconcileReport | None = None

    # ------------------------------------------------------------------ intake

    def emit(self, events: list[AccountEvent]) -> list[AccountEvent]:
        """Queue events for the journal, dropping those whose key is folded or in flight."""
        account = self._account()
        out: list[AccountEvent] = []
        for event in events:
            key = getattr(event, "key", None)
            if key is not None:
                if account.has(key) or key in self._pending:
                    continue
                self._pending.add(key)
            out.append(event)
        if out:
            self._submit(out)
        return out

    def on_outside_fill(self, fill: FillReport) -> None:
        """A fill of an order the journal does not know: an ``OutsideFill`` (or an anomaly when
        its asset is unknown — a position in it could not be valued or traded)."""
        event = outside_fill_event(fill)
        if not self._known_pair(fill.pair):
            log.warning("fill %s in unknown asset %r: an anomaly", event.key, fill.pair)
            detail = f"fill {event.key} in {fill.pair!r}, an asset the exchange does not list"
            # Keyed by the trade: one anomaly however often the fill is seen, across restarts.
            self.emit([anomaly("unknown_asset", detail, fill.raw, key=event.key)])
            return
        log.info("outside fill %s (%s) %s %s %s", event.key, event.source, fill.pair,
                 fill.side, fill.amount)
        self.emit([event])

    def remember(self, fill: FillReport) -> None:
        """Keep a fill report for a moment (bounded): its order is being read back."""
        reports = self._remembered
        reports[fill_key(fill.trade_id, fill.exchange_order_id)] = fill
        while len(reports) > 4096:
            del reports[next(iter(reports))]

    def recall(self, trade_id: str, exchange_order_id: str) -> FillReport | None:
        """The remembered report of that fill (None: not remembered)."""
        return self._remembered.pop(fill_key(trade_id, exchange_order_id), None)

    def on_durable(self, event: AccountEvent) -> None:
        """Called once ``event`` is durable and folded: forget its key, tell the listeners."""
        key = getattr(event, "key", None)
        if key is not None:
            self._pending.discard(key)
        self.listeners.publish(event, isinstance(event, ALERT_EVENTS))

    # ------------------------------------------------------------------ kill switch

    def trip(self, reason: str) -> None:
        """Journal the kill switch on (no-op when already on)."""
        if self._account().kill_switch is None:
            log.critical("account kill switch tripped: %s", reason)
            self._submit([KillSwitchTripped(reason=reason, at_ns=time.time_ns())])

    def reset(self, reason: str) -> None:
        """Journal the kill switch off (no-op when off)."""
        if self._account().kill_switch is not None:
            self._submit([KillSwitchReset(reason=reason, at_ns=time.time_ns())])

    # ------------------------------------------------------------------ reconciliation

    async def reconcile(self, why: str) -> AccountReconcileReport:
        """One reconciliation (see the module docstring); never two at once."""
        async with self._lock:
            report = AccountReconcileReport(why=why)
            try:
                await self._reconcile(report)
            finally:
                self.last_report = report
            return report

    async def _catch_up(self, since_ms: int, report: AccountReconcileReport) -> None:
        fills = await self._fills_since(since_ms)
        report.fills_fetched += len(fills)
        for fill in fills:
            self._apply_fill(fill)
        funding, bad_funding = await self._reader.funding_since(since_ms)
        ledger, bad_ledger = await self._reader.ledger_since(since_ms)
        report.funding_fetched += len(funding)
        report.ledger_fetched += len(ledger)
        events: list[AccountEvent] = [funding_event(f) for f in funding]
        events += [ledger_event(r) for r in ledger]
        bad = [bad_element_anomaly(b) for b in (*bad_funding, *bad_ledger)]
        emitted = self.emit(events + list(bad))
        report.anomalies += sum(isinstance(e, AccountAnomaly) for e in emitted)
        report.journaled += len(emitted)
        await self._flush()

    async def _reconcile(self, report: AccountReconcileReport) -> None:
        account = self._account()
        opening = account.observed_at_ms == 0
        now_ms = time.time_ns() // 1_000_000
        since = (account.observed_at_ms or now_ms) - int(self.config.lookback_s * 1000)
        previous: dict[str, tuple[Decimal, Decimal, Decimal | None]] | None = None
        snapshot: AccountSnapshot | None = None
        for _ in range(4):
            snapshot, spot = await self._read(report)
            if snapshot is None:
                return
            # Fetched after the answer: everything up to it (and maybe a little more, which
            # ``changes_after`` leaves out) is journaled before we compare.
            await self._catch_up(max(since, 0), report)
            diffs = self._differences(snapshot, spot)
            if not diffs:
                previous = {}
                break
            if opening or (previous is not None and _same(previous, diffs)):
                previous = diffs
                break
            previous = diffs
            await asyncio.sleep(self.config.settle_s)
        else:
            previous = {}  # kept changing: a busy account, not a divergence; next time
        assert snapshot is not None
        corrections = [
            AccountCorrected(
                field=name,
                believed=believed,
                exchange=exchange,
                exchange_entry_price=entry,
                reason=_OPENING if opening else _UNEXPLAINED.format(since=since),
                at_ns=time.time_ns(),
            )
            for name, (believed, exchange, entry) in sorted((previous or {}).items())
        ]
        for c in corrections:
            log.warning("account correction %s: believed %s, exchange %s", c.field, c.believed,
                        c.exchange)
        self.emit([_observed(snapshot, spot), *corrections])
        await self._flush()
        report.corrections = corrections
        reason = breach(self.config.risk, self._account())
        if reason is not None:
            self.trip(reason)
            await self._flush()
        report.completed = True

    async def _read(
        self, report: AccountReconcileReport
    ) -> tuple[AccountSnapshot | None, dict[str, Decimal]]:
        try:
            snapshot = await self._reader.account_snapshot()
            spot = await self._reader.spot_snapshot()
        except Exception as exc:
            raw = getattr(exc, "raw", "")
            report.error = f"{type(exc).__name__}: {exc}"
            if raw:  # the exchange answered something we cannot read: keep it verbatim
                report.anomalies += 1
                bad = anomaly("malformed_clearinghouse", str(exc), {"reply": raw})
                digest = hashlib.sha256(str(raw).encode()).hexdigest()[:32]
                self.emit([replace(bad, key=f"bad:{digest}")])  # once, however often retried
                await self._flush()
            raise
        return snapshot, spot

    def _differences(
        self, snapshot: AccountSnapshot, spot: dict[str, Decimal]
    ) -> dict[str, tuple[Decimal, Decimal, Decimal | None]]:
        account = self._account()
        later_sizes, later_cash = account.changes_after(snapshot.time_ms)
        out: dict[str, tuple[Decimal, Decimal, Decimal | None]] = {}
        pairs = {p for p in account.positions if not is_spot_pair(p)} | set(snapshot.positions)
        for pair in sorted(pairs):
            believed = account.position(pair) - later_sizes.get(pair, Decimal(0))
            view = snapshot.positions.get(pair)
            exchange = view.size if view is not None else Decimal(0)
            if believed != exchange:
                entry = view.entry_price if view is not None else None
                out[f"size:{pair}"] = (believed, exchange, entry)
        cash = account.cash - later_cash
        if abs(cash - snapshot.cash) > self.config.cash_tolerance:
            out["cash"] = (cash, snapshot.cash, None)
        for token in sorted(set(spot) | set(account.spot)):
            ours, theirs = account.spot.get(token, Decimal(0)), spot.get(token, Decimal(0))
            if abs(ours - theirs) > self.config.spot_tolerance:
                out[f"spot:{token}"] = (ours, theirs, None)
        return out


def _same(
    a: dict[str, tuple[Decimal, Decimal, Decimal | None]],
    b: dict[str, tuple[Decimal, Decimal, Decimal | None]],
) -> bool:
    """Two reads show the same differences (exchange − believed, field by field)."""
    return a.keys() == b.keys() and all(
        a[k][1] - a[k][0] == b[k][1] - b[k][0] for k in a
    )


def _observed(snapshot: AccountSnapshot, spot: dict[str, Decimal]) -> AccountObserved:
    def s(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    positions = {
        pair: {
            "size": str(v.size),
            "entry_price": s(v.entry_price),
            "mark_price": s(v.mark_price),
            "unrealized_pnl": str(v.unrealized_pnl),
            "margin_used": str(v.margin_used),
            "leverage": v.leverage,
            "leverage_type": v.leverage_type,
            "liquidation_price": s(v.liquidation_price),
        }
        for pair, v in sorted(snapshot.positions.items())
    }
    return AccountObserved(
        exchange_time_ms=snapshot.time_ms,
        account_value=snapshot.account_value,
        withdrawable=snapshot.withdrawable,
        total_margin_used=snapshot.total_margin_used,
        total_notional=snapshot.total_notional,
        positions=positions,
        spot={k: str(v) for k, v in sorted(spot.items())},
    )
