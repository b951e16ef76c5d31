"""Reading and writing seals in the journal's database.

A seal is written in the same transaction as the snapshot it vouches for (the caller passes
its connection to :func:`write_seal`), so a crash never leaves one without the other.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore.history_schema import seals
from eventstore.seals import Seal

_FIELDS = tuple(Seal.__dataclass_fields__)


async def write_seal(conn: AsyncConnection, seal: Seal) -> None:
    """Store ``seal`` on ``conn`` (inside the caller's transaction); one seal per position."""
    await conn.execute(sa.delete(seals).where(seals.c.position == seal.position))
    await conn.execute(sa.insert(seals), [seal.as_dict()])


def _seal(row: sa.Row[tuple[object, ...]]) -> Seal:
    m = row._mapping
    return Seal(**{name: m[name] for name in _FIELDS})


async def latest_seal(engine: AsyncEngine) -> Seal | None:
    """The seal of the highest position, or None when the journal was never sealed."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(sa.select(seals).order_by(seals.c.position.desc()).limit(1))
        ).first()
    return None if row is None else _seal(row)


async def list_seals(
    engine: AsyncEngine, after: int = 0, before: int | None = None
) -> list[Seal]:
    """Seals with ``after < position < before`` (every seal by default), oldest first."""
    query = sa.select(seals).where(seals.c.position > after).order_by(seals.c.position)
    if before is not None:
        query = query.where(seals.c.position < before)
    async with engine.connect() as conn:
        return [_seal(row) for row in (await conn.execute(query)).all()]
