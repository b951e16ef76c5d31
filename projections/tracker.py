"""The order tracker: every live order, recently completed ones, lost ones, and lookups.

It folds order events with the domain's own ``classify`` + ``OrderRecord.apply`` (the same code
``evolve`` runs) but in place, so a replay allocates nothing per event. Completed orders are kept
up to ``completed_capacity`` (oldest completion evicted first): the engine looks older orders up
in the store (``projections.as_of.load_order``).

>>> tracker = OrderTracker()
>>> len(tracker.active())
0
"""

from __future__ import annotations

import sys
from collections import OrderedDict, deque
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import NamedTuple

from oms.domain.enums import OrderState
from oms.domain.events import OrderCreated, OrderEvent
from oms.domain.order import InFlightOrder, OrderRecord
from oms.domain.transitions import Effect, classify

DEFAULT_COMPLETED_CAPACITY = 50_000
MAX_NOTES = 1_000


@dataclass(frozen=True, slots=True)
class TrackerNote:
    """An event the tracker could not attach to a known order (kept for operators)."""

    position: int
    client_order_id: str
    event_type: str
    kind: str  # "orphan_stream": no OrderCreated seen (or the order was evicted long ago)


class TrackerIndex(NamedTuple):
    """The tracker's index as the replay fast path (``row_fold``) folds into it, in place.

    Whoever holds it must keep the tracker's invariants exactly as :meth:`OrderTracker.apply`
    does: an order is in ``active`` or ``completed``; completing goes through ``complete``.
    """

    active: dict[str, OrderRecord]
    completed: OrderedDict[str, OrderRecord]
    lost: set[str]
    by_exchange_id: dict[str, str]
    complete: Callable[[str, OrderRecord], None]


class OrderTracker:
    """Active, lost and recently completed orders, by client order id and by exchange order id."""

    __slots__ = (
        "_active",
        "_by_exchange_id",
        "_completed",
        "_lost",
        "completed_capacity",
        "last_position",
        "notes",
        "pinned",
    )

    def __init__(self, completed_capacity: int = DEFAULT_COMPLETED_CAPACITY) -> None:
        self._active: dict[str, OrderRecord] = {}
        self._completed: OrderedDict[str, OrderRecord] = OrderedDict()
        self._lost: set[str] = set()
        self._by_exchange_id: dict[str, str] = {}
        self.completed_capacity = completed_capacity
        self.last_position = 0
        self.notes: deque[TrackerNote] = deque(maxlen=MAX_NOTES)
        # Orders that must stay held whatever the capacity (the engine pins an order while
        # events of it are on their way here): evicting one would turn its next event into an
        # orphan and make the fold depend on the capacity.
        self.pinned: Container[str] = ()

    def apply(self, event: OrderEvent, position: int) -> tuple[Effect, OrderRecord | None]:
        """Fold ``event`` (read at global ``position``); returns what it did and the order record.

        Events of the journal were decided legal when written; anything illegal met here (an
        older or hand-edited log) is a no-op, exactly as ``evolve`` treats it.
        """
        self.last_position = position
        cid = event.client_order_id
        record = self._active.get(cid)
        if record is None:
            record = self._completed.get(cid)
            if record is None:
                return self._first(event, position)
        verdict = classify(record, event)
        if verdict.effect is not Effect.APPLY:
            return verdict.effect, record
        was_terminal = record.state.is_terminal
        had_exchange_id = record.exchange_order_id
        record.apply(event)
        if record.exchange_order_id is not None and had_exchange_id is None:
            self._by_exchange_id[record.exchange_order_id] = cid
        if record.unknown:
            self._lost.add(cid)
        elif cid in self._lost:
            self._lost.discard(cid)
        if not was_terminal and record.state.is_terminal:
            del self._active[cid]
            self._complete(cid, record)
        return Effect.APPLY, record

    def _first(self, event: OrderEvent, position: int) -> tuple[Effect, OrderRecord | None]:
        if not isinstance(event, OrderCreated):
            # A stream that does not start with "created": note it, keep going.
            note = TrackerNote(position, event.client_order_id, event.TYPE, "orphan_stream")
            self.notes.append(note)
            return Effect.ANOMALY, None
        record = OrderRecord.created(event)
        # Shared strings keep a million orders from holding a million copies of "ETH".
        record.pair = sys.intern(record.pair)
        record.venue = sys.intern(record.venue)
        record.account = sys.intern(record.account)
        self._active[event.client_order_id] = record
        return Effect.APPLY, record

    def _complete(self, cid: str, record: OrderRecord) -> None:
        completed = self._completed
        completed[cid] = record
        pinned = self.pinned
        kept: list[tuple[str, OrderRecord]] = []
        while len(completed) > self.completed_capacity:
            old_cid, old = completed.popitem(last=False)
            if old_cid in pinned:
                kept.append((old_cid, old))  # evicted once nothing is on its way to it
                continue
            if old.exchange_order_id is not None:
                self._by_exchange_id.pop(old.exchange_order_id, None)
            self._lost.discard(old_cid)
        for old_cid, old in reversed(kept):
            completed[old_cid] = old
            completed.move_to_end(old_cid, last=False)

    def restore(self, record: OrderRecord) -> None:
        """Install ``record`` as it is (snapshot restore), filing it as active or completed."""
        cid = record.client_order_id
        if record.state.is_terminal:
            self._complete(cid, record)
        else:
            self._active[cid] = record
        if record.exchange_order_id is not None:
            self._by_exchange_id[record.exchange_order_id] = cid
        if record.unknown:
            self._lost.add(cid)

    # -- queries (frozen copies: callers never hold the fold's mutable records) --

    def get(self, client_order_id: str) -> InFlightOrder | None:
        """The order with this client id, if active or recently completed."""
        record = self._record(client_order_id)
        return None if record is None else record.freeze()

    def state_of(self, client_order_id: str) -> OrderState | None:
        """The order's state, without taking a snapshot (cheap enough for every event)."""
        record = self._record(client_order_id)
        return None if record is None else record.state

    def _record(self, client_order_id: str) -> OrderRecord | None:
        return self._active.get(client_order_id) or self._completed.get(client_order_id)

    def index(self) -> TrackerIndex:
        """The index itself, for the replay fast path (see :class:`TrackerIndex`)."""
        return TrackerIndex(
            self._active, self._completed, self._lost, self._by_exchange_id, self._complete
        )

    def record(self, client_order_id: str) -> OrderRecord | None:
        """The live record itself (the engine's fold owns it: read it, never mutate it)."""
        return self._active.get(client_order_id) or self._completed.get(client_order_id)

    def cid_by_exchange_id(self, exchange_order_id: str) -> str | None:
        """The client order id the exchange knows as ``exchange_order_id``, if tracked."""
        return self._by_exchange_id.get(exchange_order_id)

    def active_records(self) -> list[OrderRecord]:
        """Every non-terminal record, oldest first (no snapshots; do not mutate)."""
        return list(self._active.values())

    def by_exchange_id(self, exchange_order_id: str) -> InFlightOrder | None:
        """The order the exchange knows as ``exchange_order_id``, if tracked."""
        cid = self._by_exchange_id.get(exchange_order_id)
        return None if cid is None else self.get(cid)

    def active(self) -> list[InFlightOrder]:
        """Every non-terminal order, oldest first."""
        return [r.freeze() for r in self._active.values()]

    def lost(self) -> list[InFlightOrder]:
        """Active orders whose latest outcome is unknown (to resolve with the exchange)."""
        return [self._active[c].freeze() for c in self._lost if c in self._active]

    def recently_completed(self) -> list[InFlightOrder]:
        """Terminal orders still held, oldest completion first."""
        return [r.freeze() for r in self._completed.values()]

    def records(self) -> list[OrderRecord]:
        """Every held record, active then completed (for snapshots; do not mutate)."""
        return [*self._active.values(), *self._completed.values()]

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._active or client_order_id in self._completed

    def __len__(self) -> int:
        return len(self._active) + len(self._completed)

    @property
    def active_count(self) -> int:
        """How many orders are not terminal."""
        return len(self._active)
