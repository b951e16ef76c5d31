"""As-of queries: an order, or every order, as it stood at a global position or a point in time.

"As of a time" means the longest prefix of the log whose events were all recorded at or before
that time (positions are committed in time order by one writer).

>>> async def show(store, cid) -> None:  # doctest: +SKIP
...     print(await order_as_of(store, cid, position=120))
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from eventstore import ArchivedRange, EventStore, read_history
from oms.domain.codec import decode
from oms.domain.ids import order_stream
from oms.domain.order import InFlightOrder, OrderRecord, step
from projections.projector import Projector


def _cutoff_us(time: datetime | None) -> int | None:
    if time is None:
        return None
    if time.tzinfo is None:
        raise ValueError("as-of time must be timezone-aware (UTC), got a naive datetime")
    return int(time.timestamp() * 1_000_000)


async def order_as_of(
    store: EventStore,
    client_order_id: str,
    position: int | None = None,
    time: datetime | None = None,
    *,
    archive_dir: Path | None = None,
) -> InFlightOrder | None:
    """One order as of ``position`` and/or ``time`` (both None: as of now); None if unborn.

    An order whose first events were archived raises ``ArchivedRange``, unless ``archive_dir``
    is given: then its stream is folded from the archive files and the live log (a scan of the
    files, for the rare order read back after its history was archived).
    """
    try:
        return await _live_order_as_of(store, client_order_id, position, time)
    except ArchivedRange:
        if archive_dir is None:
            raise
    return await _order_from_history(store, client_order_id, position, time, archive_dir)


async def _order_from_history(
    store: EventStore, client_order_id: str, position: int | None, time: datetime | None,
    archive_dir: Path,
) -> InFlightOrder | None:
    limit_us = _cutoff_us(time)
    stream = order_stream(client_order_id)
    record: OrderRecord | None = None
    async for recorded in read_history(store, archive_dir, 1, position):
        if limit_us is not None and recorded.recorded_at_us > limit_us:
            break
        if recorded.stream_id == stream:
            record = step(record, decode(recorded.type, recorded.data, recorded.event_version))
    return None if record is None else record.freeze()


async def _live_order_as_of(
    store: EventStore, client_order_id: str, position: int | None, time: datetime | None,
) -> InFlightOrder | None:
    limit_us = _cutoff_us(time)
    record: OrderRecord | None = None
    stream = order_stream(client_order_id)
    read_any = False
    async for recorded in store.read_stream(stream):
        read_any = True
        if position is not None and recorded.position > position:
            break
        if limit_us is not None and recorded.recorded_at_us > limit_us:
            break
        if record is None and recorded.version != 0:
            # The order's first events were archived: a fold of the rest would be wrong.
            raise ArchivedRange(1, await store.archive_point() + 1)
        record = step(record, decode(recorded.type, recorded.data, recorded.event_version))
    if not read_any and await store.stream_version(stream) is not None:
        # Every event of the order was archived (its versions are still known): not "unborn".
        raise ArchivedRange(1, await store.archive_point() + 1)
    return None if record is None else record.freeze()


async def load_order(store: EventStore, client_order_id: str,
                     archive_dir: Path | None = None) -> InFlightOrder | None:
    """The current state of one order from its stream (for orders the tracker no longer holds);
    with ``archive_dir``, also when its events were archived (see :func:`order_as_of`)."""
    return await order_as_of(store, client_order_id, archive_dir=archive_dir)


async def projector_as_of(
    store: EventStore, position: int | None = None, time: datetime | None = None,
    *, archive_dir: Path | None = None,
) -> Projector:
    """A projector over the log prefix as of ``position`` / ``time``, holding every order.

    With ``archive_dir`` the archived part of the log is read from its files (an archived
    journal without it raises ``ArchivedRange``).
    """
    limit_us = _cutoff_us(time)
    projector = Projector(completed_capacity=2**62)
    events = (store.read_all(1, position) if archive_dir is None
              else read_history(store, archive_dir, 1, position))
    async for recorded in events:
        if limit_us is not None and recorded.recorded_at_us > limit_us:
            break
        projector.apply(recorded)
    return projector


async def orders_as_of(
    store: EventStore, position: int | None = None, time: datetime | None = None,
    *, archive_dir: Path | None = None,
) -> dict[str, InFlightOrder]:
    """Every order as of ``position`` / ``time``, by client order id (archives: see
    :func:`projector_as_of`)."""
    projector = await projector_as_of(store, position, time, archive_dir=archive_dir)
    return {r.client_order_id: r.freeze() for r in projector.tracker.records()}
