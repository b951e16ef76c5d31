"""The live fold: ``Projector.apply(recorded)`` — the one function the engine and every replay run.

>>> projector = Projector()
>>> projector.last_position
0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventstore.model import RecordedEvent
from oms.domain.account import AccountState
from oms.domain.account_events import ACCOUNT_STREAM_PREFIX, AccountEvent
from oms.domain.codec import decode, decode_account
from oms.domain.events import OrderEvent, OrderFilled
from oms.domain.ids import ORDER_STREAM_PREFIX
from oms.domain.order import OrderRecord
from oms.domain.transitions import Effect
from projections.positions import PositionBook
from projections.tracker import DEFAULT_COMPLETED_CAPACITY, OrderTracker, TrackerNote

_PREFIX_LEN = len(ORDER_STREAM_PREFIX)


class Projector:
    """Decodes recorded events and folds them into an :class:`OrderTracker`, a PositionBook and
    the account (``oms.domain.account.AccountState``: our fills plus the ``account-*`` streams).

    Events of streams other than ``order-*`` and ``account-*`` belong to other parts of the
    system and are passed over (counted in ``foreign_events``); an order or account event of an
    unknown type or too new a schema version raises (``oms.domain.codec``): a replay never
    silently skips what it cannot read.
    """

    __slots__ = (
        "account", "deferred_fills", "events_applied", "foreign_events", "positions", "tracker",
    )  # fmt: skip

    def __init__(
        self,
        tracker: OrderTracker | None = None,
        positions: PositionBook | None = None,
        completed_capacity: int = DEFAULT_COMPLETED_CAPACITY,
        account: AccountState | None = None,
    ) -> None:
        self.tracker = tracker if tracker is not None else OrderTracker(completed_capacity)
        self.positions = positions if positions is not None else PositionBook()
        self.account = account if account is not None else AccountState()
        #: None: our fills are folded into the account at once (replay). A dict: the engine,
        #: which folds orders as it decides, folds the account in journal order instead — an
        #: applied fill waits here until it is durable (:meth:`fold_durable_fill`), so the live
        #: account sees fills and account events in the order a replay will.
        self.deferred_fills: dict[int, tuple[str, int]] | None = None
        self.events_applied = 0
        self.foreign_events = 0

    @property
    def last_position(self) -> int:
        """The global position of the last event folded (0 before any)."""
        return self.tracker.last_position

    def apply(self, recorded: RecordedEvent) -> OrderEvent | None:
        """Fold one recorded event; returns the decoded domain event (None for foreign streams)."""
        stream = recorded.stream_id
        if stream.startswith(ACCOUNT_STREAM_PREFIX):
            self.apply_account_row(
                recorded.position, recorded.type, recorded.data, recorded.event_version
            )
            return None
        if not stream.startswith(ORDER_STREAM_PREFIX):
            self.tracker.last_position = recorded.position
            self.foreign_events += 1
            return None
        return self.apply_order_row(
            recorded.position, stream, recorded.type, recorded.data, recorded.event_version
        )

    def apply_order_row(
        self, position: int, stream: str, type_: str, data: Mapping[str, Any], version: int
    ) -> OrderEvent:
        """Fold the already parsed payload of an ``order-*`` stream's event (decode, check, fold).

        Raises what ``oms.domain.codec.decode`` raises for an unknown type, a newer version or a
        malformed payload; older versions are upcast.
        """
        event = decode(type_, data, version)
        if event.client_order_id != stream[_PREFIX_LEN:]:
            self.tracker.last_position = position
            note = TrackerNote(position, event.client_order_id, event.TYPE, "stream_mismatch")
            self.tracker.notes.append(note)
            return event
        self.apply_event(event, position)
        return event

    def apply_account_row(
        self, position: int, type_: str, data: Mapping[str, Any], version: int
    ) -> AccountEvent:
        """Fold the parsed payload of an ``account-*`` stream's event into the account.

        Raises what ``oms.domain.codec.decode_account`` raises (unknown type, newer version,
        malformed payload): a replay never skips an account event it cannot read.
        """
        event = decode_account(type_, data, version)
        self.apply_account_event(event, position)
        return event

    def apply_account_event(self, event: AccountEvent, position: int) -> bool:
        """Fold an already decoded account event read at ``position``; False if it changed
        nothing (a duplicate, an anomaly)."""
        self.tracker.last_position = position
        self.events_applied += 1
        return self.account.apply(event)

    def apply_event(self, event: OrderEvent, position: int) -> tuple[Effect, OrderRecord | None]:
        """Fold an already decoded event read at ``position`` (tracker, then positions)."""
        self.events_applied += 1
        effect, record = self.tracker.apply(event, position)
        if effect is Effect.APPLY and record is not None and type(event) is OrderFilled:
            self.positions.apply_fill(
                record.pair,
                record.side.sign,
                event.amount,
                event.price,
                event.fee,
                event.fee_asset,
            )
            if self.deferred_fills is None:
                self._account_fill(record.pair, record.side.sign, event)
            else:
                self.deferred_fills[id(event)] = (record.pair, record.side.sign)
        return effect, record

    def fold_durable_fill(self, event: OrderFilled) -> None:
        """Fold into the account a fill applied earlier by :meth:`apply_event`, now durable
        (a no-op for a fill that was not applied)."""
        if self.deferred_fills is not None:
            entry = self.deferred_fills.pop(id(event), None)
            if entry is not None:
                self._account_fill(entry[0], entry[1], event)

    def _account_fill(self, pair: str, sign: int, event: OrderFilled) -> None:
        self.account.apply_own_fill(
            pair,
            sign,
            event.amount,
            event.price,
            event.fee,
            event.fee_asset,
            event.exchange_time_ms,
            event.closed_pnl,
        )
