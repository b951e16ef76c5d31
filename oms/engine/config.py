"""Engine settings, with defaults a live trader can start from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from eventstore import SealKey
from oms.domain.messages import Timing
from oms.engine.account_config import AccountConfig


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How the engine talks to the exchange and recovers.

    - ``expires_after_s``: every placement and cancel carries ``expiresAfter`` this far ahead;
      once it has passed, an order the exchange does not know is journaled as never placed.
    - ``deadline_grace_s``: extra wait past a deadline before trusting "not found" (clock skew).
    - ``poll_interval_s``: when the streams have been silent this long and orders are active, poll
      fills and order status over REST (the fallback for a dead WebSocket).
    - ``unknown_orders``: what recovery does with open orders the journal does not know:
      ``"adopt"`` journals them as external orders, ``"cancel"`` cancels them on the exchange.
    - ``dead_man_switch_s``: keep a ``scheduleCancel`` this far ahead while healthy (``None``: off).
    - ``snapshot_every``: write a projection snapshot at start-up when at least this many events
      were replayed, and on close when anything was journaled (0: never). Start-up then folds
      only what came after the snapshot.
    - ``verify_on_start``: ``"chain"`` (default) checks the whole hash chain from position 1 at
      every start-up, so an edit anywhere keeps the engine closed; ``"since_snapshot"`` checks
      only the events after the loaded snapshot (seeded by the stored hash before them) — a
      faster start on a very long journal, for operators who run ``oms audit verify`` on a
      schedule instead; ``"since_seal"`` (needs ``seal_key``) starts from the newest *seal*:
      its signature, its hash and its snapshot's digest are checked, then only the tail after it
      is folded and verified — start-up time independent of the journal's length, with the
      full check's guarantee for the live state (see ``oms.engine.sealing``).
    - ``seal_key``: signs a seal at every snapshot (see ``oms.engine.seal_keys.Eip191SealKey``:
      the account's key or a separate audit key; the database never holds it). ``None``: no
      seals. With a key, the engine also seals every ``snapshot_every`` journaled events.
    - ``fill_lookback_s``: how far before the last journaled fill the gap fill starts.
    - ``recovery_read_retry_s``: how long start-up keeps retrying a read that failed for a
      transient reason (503, 429, timeout, connection reset), with backoff and jitter, before it
      fails closed (the report counts the retries).
    - ``completed_in_memory``: completed orders kept in memory; older ones are read back from the
      journal by ``OrderManager.load_order`` and when a late fill arrives for them.
    - ``archive_dir``: the folder of ``oms audit archive``'s files. An order read back after its
      events were archived is then folded from them (a scan of the files); ``None``: such a
      read-back raises ``ArchivedRange`` (archive months back and it never happens).
    - ``anchor_path``: the file that keeps the journal's last known head outside the database
      (see ``eventstore.anchor``): ``"auto"`` is ``<journal file>.anchor`` beside a SQLite journal
      (none for PostgreSQL: give a path), ``None`` turns the anchor off. Start-up refuses a
      journal whose head is behind it or differs from it.
    - ``anchor_every_s``: how often a running engine writes the anchor (also on close).
    - ``price_off_tick``: what ``buy``/``sell``/``replace`` do with a price off the tick:
      ``"passive"`` rounds it toward the passive side (buys down, sells up: never a worse price
      than asked), ``"refuse"`` raises ``OrderRuleViolation``.
    - ``budget_policy``: when the exchange's per-account request budget is spent, ``"queue"``
      holds new orders in the outbox (one goes every 10 s, as the exchange allows) and
      ``"refuse"`` journals them as failed with the reason (see ``send_budget.py``).
    - ``account``: reconciliation of the account (interval, default 60 s) and its risk limits
      (:class:`oms.engine.account_config.AccountConfig`).
    """

    expires_after_s: float = 5.0
    deadline_grace_s: float = 1.0
    poll_interval_s: float = 5.0
    unknown_orders: Literal["adopt", "cancel"] = "adopt"
    dead_man_switch_s: float | None = None
    snapshot_every: int = 50_000
    verify_on_start: Literal["chain", "since_snapshot", "since_seal"] = "chain"
    fill_lookback_s: float = 60.0
    max_batch: int = 39  # one action of 39 orders costs 1 IP weight, of 40 costs 2
    budget_policy: Literal["queue", "refuse"] = "queue"
    max_in_flight: int = 4
    status_query_concurrency: int = 16
    completed_in_memory: int = 10_000
    recovery_read_retry_s: float = 30.0
    anchor_path: str | None = "auto"
    anchor_every_s: float = 5.0
    price_off_tick: Literal["passive", "refuse"] = "passive"
    seal_key: SealKey | None = None
    archive_dir: str | None = None
    account: AccountConfig = field(default_factory=AccountConfig)

    def timing(self, now_ns: int | None = None) -> Timing:
        """The decider's view of the clock: now (read here, at the edge), grace and horizon."""
        now = time.time_ns() if now_ns is None else now_ns
        return Timing(
            now // 1_000_000,
            int(self.deadline_grace_s * 1000),
            int(self.expires_after_s * 1000),
        )
