"""The ``archives`` manifest: which positions moved out of ``events`` into which files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.history_schema import archives


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One archive file as the live database records it."""

    first_position: int
    last_position: int
    previous_hash: str
    last_hash: str
    seal_position: int
    file_name: str
    file_sha256: str
    event_count: int
    archived_at_us: int

    def as_row(self) -> dict[str, Any]:
        """The ``archives`` row."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


async def read_manifest(engine: AsyncEngine) -> list[ArchiveEntry]:
    """Every archive of the journal, oldest first."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(archives).order_by(archives.c.first_position))
        ).all()
    return [ArchiveEntry(**row._mapping) for row in rows]


async def last_archive(engine: AsyncEngine) -> ArchiveEntry | None:
    """The newest archive (the one that ends at the archive point), or None."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(archives).order_by(archives.c.last_position.desc()).limit(1)
            )
        ).first()
    return None if row is None else ArchiveEntry(**row._mapping)
