"""Move sealed history out of the live database into archive files, and put it back.

>>> async def monthly(store: EventStore) -> None:  # doctest: +SKIP
...     entry = await archive_before(store, Path("/backups/oms"), before=5_000_000)
...     print(entry.file_name, entry.event_count)

Archiving ends exactly at a seal: the newest seal below ``before``. The rows from the archive
point up to it are read, re-checked against the chain (and against the seal's hash), written
to one file (fsynced, renamed into place), and only then, in one transaction, recorded in the
``archives`` manifest and removed from ``events`` (PostgreSQL: whole partitions detached and
dropped; SQLite: a range delete — see :mod:`eventstore.archive_removal`). A crash before
that transaction leaves the rows where they were (running the command again rewrites the same
file); after it, the file is on disk. Restore takes the newest archive back first, so the
live log stays one unbroken run.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from eventstore.archive_file import (
    ArchiveHeader,
    ArchiveReader,
    ArchiveWriter,
    encode_row,
    file_sha256,
)
from eventstore.archive_manifest import ArchiveEntry, last_archive
from eventstore.archive_removal import finish_restore, prepare_restore, remove_archived_rows
from eventstore.codec import GENESIS_HASH
from eventstore.history_errors import ArchiveCorrupt, ArchiveError, ArchiveOutOfOrder
from eventstore.history_schema import archived_streams, archives
from eventstore.schema import events
from eventstore.seal_store import list_seals
from eventstore.seals import SealVerifier, check_seal
from eventstore.store import EventStore
from eventstore.verify import verify_chain

_BATCH = 10_000


async def archive_before(
    store: EventStore,
    folder: Path,
    before: int,
    *,
    verifier: SealVerifier | None = None,
    trusted: str | None = None,
) -> ArchiveEntry:
    """Archive the live log from the archive point up to the newest seal below ``before``
    (and below the head: the newest event always stays in the live database).

    With ``verifier`` the seal's signature is checked first (against ``trusted`` if given).
    Raises :class:`ArchiveError` when no seal lies in that range, ``IntegrityError`` when the
    rows do not verify (nothing is written or deleted then).
    """
    if not await asyncio.to_thread(folder.is_dir):
        raise ArchiveError(f"archive folder {folder} does not exist: create it first")
    previous = await last_archive(store.engine)
    point = previous.last_position if previous else 0
    # The head itself always stays live: readers, the next append's chain link and an anchor
    # kept at the head all need at least the last row.
    head, _ = await store.head()
    limit = min(before, head)
    seals = await list_seals(store.engine, after=point, before=limit)
    if not seals:
        raise ArchiveError(
            f"no seal between position {point + 1} and {limit - 1}: only sealed history is "
            "archived, and never the newest event; let the engine seal (it does at every "
            "snapshot) or pick a later --before"
        )
    seal = seals[-1]
    if verifier is not None:
        check_seal(seal, verifier, trusted)
    header = ArchiveHeader(
        first_position=point + 1,
        last_position=seal.position,
        previous_hash=previous.last_hash if previous else GENESIS_HASH,
        last_hash=seal.head_hash,
        event_count=seal.position - point,
        seal=seal,
    )
    writer = await asyncio.to_thread(ArchiveWriter, folder, header)
    try:
        versions = await _write_rows(store, writer, header)
        digest = await asyncio.to_thread(writer.finish)
    except BaseException:
        await asyncio.to_thread(writer.abandon)
        raise
    entry = ArchiveEntry(
        first_position=header.first_position,
        last_position=header.last_position,
        previous_hash=header.previous_hash,
        last_hash=header.last_hash,
        seal_position=seal.position,
        file_name=writer.path.name,
        file_sha256=digest,
        event_count=header.event_count,
        archived_at_us=time.time_ns() // 1000,
    )
    async with store.engine.begin() as conn:
        await conn.execute(sa.insert(archives), [entry.as_row()])
        await _remember_versions(conn, store.dialect, versions)
        # PostgreSQL: detach and drop whole partitions; SQLite: a range DELETE
        await remove_archived_rows(
            conn, store.dialect, header.first_position, header.last_position
        )
    return entry


async def _write_rows(
    store: EventStore, writer: ArchiveWriter, header: ArchiveHeader
) -> dict[str, int]:
    """Stream the rows into the file, checking the chain on the way; the streams' last versions."""
    versions: dict[str, int] = {}
    failed: list[str] = []

    async def batches() -> Any:
        async for batch in store._batches(header.first_position, header.last_position, _BATCH):
            await asyncio.to_thread(writer.write, [encode_row(ev._row) for ev in batch])
            for ev in batch:
                versions[ev.stream_id] = ev.version
            yield batch

    report = await verify_chain(
        batches(), (header.last_position, header.last_hash), header.first_position,
        header.previous_hash,
    )
    if not report.ok:
        failed.append(f"at position {report.first_bad_position}: {report.reason}")
    elif report.head_position != header.last_position:
        failed.append(f"the log ends at {report.head_position}, before the seal")
    if failed:
        raise ArchiveError(
            f"refusing to archive: the live log does not verify {failed[0]}; nothing was "
            "archived or deleted (run `oms audit verify`)"
        )
    return versions


async def _remember_versions(conn: Any, dialect: str, versions: dict[str, int]) -> None:
    if not versions:
        return
    insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(archived_streams)
    upsert = insert.on_conflict_do_update(
        index_elements=["stream_id"], set_={"last_version": insert.excluded.last_version}
    )
    rows = [{"stream_id": s, "last_version": v} for s, v in versions.items()]
    for i in range(0, len(rows), _BATCH):
        await conn.execute(upsert, rows[i : i + _BATCH])


async def restore_archive(
    store: EventStore,
    path: Path,
    *,
    verifier: SealVerifier | None = None,
    trusted: str | None = None,
) -> ArchiveEntry:
    """Put the newest archive's rows back into ``events`` and drop it from the manifest.

    The file must be the one the manifest lists last (same digest), and must verify; raises
    :class:`ArchiveOutOfOrder`, :class:`ArchiveCorrupt` or ``SealForged`` otherwise.
    """
    entry = await last_archive(store.engine)
    if entry is None:
        raise ArchiveError("nothing is archived: there is nothing to restore")
    if not await asyncio.to_thread(path.is_file):
        raise ArchiveError(f"archive file {path} does not exist")
    reader = await asyncio.to_thread(ArchiveReader, path)
    try:
        h = reader.header
        if (h.first_position, h.last_position) != (entry.first_position, entry.last_position):
            raise ArchiveOutOfOrder(str(path), entry.first_position, h.first_position)
        if await asyncio.to_thread(file_sha256, path) != entry.file_sha256:
            raise ArchiveCorrupt(str(path), "its digest differs from the one recorded when "
                                 "it was archived (the file was edited or replaced)")
        if verifier is not None:
            check_seal(h.seal, verifier, trusted)
        # One pass, one transaction: each batch is checked by the reader before it is
        # inserted, and a bad row anywhere rolls every insert back.
        batches = reader.batches(_BATCH)
        async with store.engine.begin() as conn:
            await prepare_restore(conn, store.dialect, entry.first_position, entry.last_position)
            while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                await conn.execute(sa.insert(events), [_event_row(r) for r in batch])
            await finish_restore(conn, store.dialect, entry.first_position, entry.last_position)
            await conn.execute(
                sa.delete(archives).where(archives.c.first_position == entry.first_position)
            )
            if entry.first_position == 1:
                await conn.execute(sa.delete(archived_streams))  # every version is live again
    finally:
        await asyncio.to_thread(reader.close)
    return entry


def _event_row(row: tuple[Any, ...]) -> dict[str, Any]:
    (position, stream_id, version, type_, event_version, event_id, data, meta,
     recorded_at_us, hash_) = row
    return {
        "position": position, "stream_id": stream_id, "version": version, "type": type_,
        "event_version": event_version, "event_id": UUID(event_id), "data": data,
        "metadata": meta, "recorded_at_us": recorded_at_us, "hash": hash_,
    }


