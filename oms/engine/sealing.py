"""Seals in the engine: sealing the journal at every snapshot, and the sealed start-up.

With ``EngineConfig.seal_key`` set, every snapshot the engine writes (at start-up, every
``snapshot_every`` journaled events, on close) is a *sealed* snapshot: the snapshot body, and a
seal signed with the key over (position, stored head hash there, the body's digest, schema
revision, time), written in one transaction. With ``verify_on_start="since_seal"`` start-up then:

1. takes the newest seal and checks its signature against the key's address (``SealForged``);
2. checks the log still reaches the sealed position (``SealedTailMissing``) and holds the sealed
   hash there (``SealMismatch``);
3. loads the sealed snapshot and checks its digest (``SealMismatch``);
4. folds and verifies only the tail after the seal, chained from the sealed hash.

The live state is then exactly as trustworthy as after a full check: the prefix it stands on was
checked when it was sealed and cannot be changed without breaking a signature the database
cannot make. ``oms audit verify`` re-checks all of history on a schedule.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa

from eventstore import (
    EventStore,
    Seal,
    SealedTailMissing,
    SealKey,
    SealMismatch,
    check_seal,
    latest_seal,
    make_seal,
    read_manifest,
    write_seal,
)
from eventstore.migration import head_revision
from eventstore.seals import snapshot_digest
from projections import LoadedState, Projector, load_state, replay, save_snapshot
from projections.schema import snapshots
from projections.snapshot import SNAPSHOT_FORMAT, SNAPSHOT_NAME, dump, load

log = logging.getLogger(__name__)

SEALED_SNAPSHOT = "sealed"
"""The snapshot row the newest seal vouches for (only the engine's sealing writes it)."""


async def seal_journal(store: EventStore, projector: Projector, key: SealKey) -> Seal | None:
    """Seal the journal at ``projector``'s position with its snapshot; None if already sealed.

    The body is taken before the first ``await``, so it is the state at exactly that position.
    """
    body, position = dump(projector), projector.last_position
    if position < 1:
        return None
    latest = await latest_seal(store.engine)
    if latest is not None and latest.position >= position:
        return None
    head_hash = await store.hash_at(position)
    if head_hash is None:
        raise SealMismatch(position, "the position to seal is not in the live journal")
    seal = make_seal(
        key, position=position, head_hash=head_hash, snapshot=body,
        schema_revision=head_revision(), sealed_at_us=time.time_ns() // 1000,
    )
    rows = [
        {"name": name, "position": position, "format": SNAPSHOT_FORMAT,
         "created_at_us": seal.sealed_at_us, "data": body}
        for name in (SNAPSHOT_NAME, SEALED_SNAPSHOT)
    ]
    async with store.engine.begin() as conn:  # the seal and its snapshot, or neither
        await conn.execute(
            sa.delete(snapshots).where(snapshots.c.name.in_([SNAPSHOT_NAME, SEALED_SNAPSHOT]))
        )
        await conn.execute(sa.insert(snapshots), rows)
        await write_seal(conn, seal)
    return seal


async def snapshot_now(store: EventStore, projector: Projector, key: SealKey | None) -> None:
    """A sealed snapshot with ``key``, else a plain one."""
    if key is None:
        await save_snapshot(store, projector)
    else:
        await seal_journal(store, projector, key)


async def _sealed_hash_holds(store: EventStore, seal: Seal) -> None:
    head, _ = await store.head()
    stored = await store.hash_at(seal.position)
    if stored is None:
        archived = {e.last_position: e.last_hash for e in await read_manifest(store.engine)}
        if seal.position in archived:  # sealed exactly where an archive ends
            stored = archived[seal.position]
        elif head < seal.position:
            raise SealedTailMissing(seal.position, head)
    if stored != seal.head_hash:
        raise SealMismatch(seal.position, "the stored hash there differs from the sealed hash")


async def load_sealed(store: EventStore, key: SealKey) -> tuple[LoadedState, Seal] | None:
    """The state from the newest seal plus the tail after it, or None when there is no seal
    (or its snapshot was written by other code: the caller replays from zero).

    Raises ``SealForged``, ``SealMismatch`` or ``SealedTailMissing`` (see the module docstring).
    """
    began = time.perf_counter()
    seal = await latest_seal(store.engine)
    if seal is None:
        return None
    check_seal(seal, key, key.address)
    await _sealed_hash_holds(store, seal)
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(snapshots.c.position, snapshots.c.format, snapshots.c.data)
                .where(snapshots.c.name == SEALED_SNAPSHOT)
            )
        ).first()
    if row is None or row.position != seal.position:
        raise SealMismatch(seal.position, "the sealed snapshot is missing or at another position")
    # A hand-edited SQLite blob can come back as text: compare its bytes all the same.
    data = row.data.encode() if isinstance(row.data, str) else bytes(row.data)
    if snapshot_digest(data) != seal.snapshot_digest:
        raise SealMismatch(seal.position, "the snapshot's digest differs from the sealed digest")
    if row.format != SNAPSHOT_FORMAT:
        log.warning("the sealed snapshot was written by another version: replaying from zero")
        return None
    projector = load(data)
    count = await replay(store, projector)
    loaded = LoadedState(
        tracker=projector.tracker, positions=projector.positions,
        last_position=projector.last_position, events_replayed=count,
        seconds=time.perf_counter() - began, projector=projector, from_snapshot=True,
    )
    return loaded, seal


@dataclass(frozen=True, slots=True)
class StartState:
    """What start-up folded, and where its chain check starts (and from which hash)."""

    loaded: LoadedState
    verify_from: int
    previous_hash: str | None
    seal: Seal | None


async def start_state(
    store: EventStore, mode: str, key: SealKey | None, completed_capacity: int
) -> StartState:
    """Rebuild the live state for ``verify_on_start`` = ``mode`` (see ``EngineConfig``)."""
    if mode == "since_seal":
        if key is None:
            raise ValueError('verify_on_start="since_seal" needs EngineConfig.seal_key')
        sealed = await load_sealed(store, key)
        if sealed is not None:
            loaded, seal = sealed
            return StartState(loaded, seal.position + 1, seal.head_hash, seal)
    loaded = await load_state(store, completed_capacity=completed_capacity)
    verify_from = 1  # the whole chain (after the archive point: see EventStore.verify)
    if loaded.from_snapshot and mode == "since_snapshot":
        verify_from = max(1, loaded.last_position - loaded.events_replayed)
    return StartState(loaded, verify_from, None, None)


class Sealer:
    """Seals every ``every`` journaled events in the background, one seal at a time.

    ``save`` writes the (sealed) snapshot only when the projection equals the journal (nothing
    emitted is still waiting to be durable) and says whether it did; when it could not, the
    count is kept and the next durable batch tries again.
    """

    def __init__(
        self, key: SealKey | None, every: int, save: Callable[[], Awaitable[bool]]
    ) -> None:
        self._key, self._every, self._save = key, every, save
        self._since = 0
        self._task: asyncio.Task[None] | None = None

    def note(self, count: int) -> None:
        """Count journaled events; start a seal when ``every`` have accumulated."""
        if self._key is None or self._every <= 0:
            return
        self._since += count
        if self._since >= self._every and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._seal())

    async def _seal(self) -> None:
        try:
            if await self._save():
                self._since = 0
        except Exception as exc:  # a seal only shortens the next start-up; trading goes on
            log.warning("could not seal the journal (%s); the next start-up checks more", exc)
        finally:
            self._task = None

    async def close(self) -> None:
        """Let a seal in progress finish (it is one short transaction)."""
        task = self._task
        if task is not None:
            await asyncio.wait([task], timeout=5.0)
