"""A relay's checkpoint: the last journal position it has *delivered*, kept in the journal's DB.

Stored in the ``proj_checkpoints`` table (one row per relay, named ``feed:<transport>:<name>``),
so the checkpoint lives and is backed up with the journal, and needs no schema change.

Example::

    checkpoint = Checkpoint(store, "feed:nats:OMS")
    start = await checkpoint.load() + 1
    await checkpoint.save(position)
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from eventstore import EventStore
from projections.schema import checkpoints


class Checkpoint:
    """Loads and advances one named checkpoint row."""

    def __init__(self, store: EventStore, name: str) -> None:
        self._engine = store.engine
        self.name = name

    async def load(self) -> int:
        """The saved position (0 when this relay never delivered anything)."""
        async with self._engine.connect() as conn:
            query = sa.select(checkpoints.c.position).where(checkpoints.c.name == self.name)
            value = (await conn.execute(query)).scalar_one_or_none()
        return int(value) if value is not None else 0

    async def save(self, position: int) -> None:
        """Advance to ``position`` (never backwards: a stale writer cannot rewind it)."""
        now_us = time.time_ns() // 1000
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                sa.update(checkpoints)
                .where(checkpoints.c.name == self.name, checkpoints.c.position < position)
                .values(position=position, updated_at_us=now_us)
            )
            if updated.rowcount:
                return
            exists = await conn.execute(
                sa.select(checkpoints.c.position).where(checkpoints.c.name == self.name))
            if exists.scalar_one_or_none() is None:
                await conn.execute(sa.insert(checkpoints).values(
                    name=self.name, position=position, updated_at_us=now_us))
