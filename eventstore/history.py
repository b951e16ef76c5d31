"""The whole history — archive files plus the live log — read and verified as one.

>>> async def audit(store: EventStore) -> None:  # doctest: +SKIP
...     report = await verify_history(store, archive_dir=Path("/backups/oms"),
...                                   verifier=verifier, trusted="0xAudit...")
...     print(report.ok, report.reason)
...     async for ev in read_history(store, Path("/backups/oms"), from_position=1):
...         ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from eventstore.archive_file import ArchiveReader, file_sha256
from eventstore.archive_manifest import ArchiveEntry, read_manifest
from eventstore.codec import GENESIS_HASH
from eventstore.errors import EventStoreError
from eventstore.history_errors import (
    ArchiveCorrupt,
    ArchivedRange,
    ArchiveMissing,
    ArchiveOutOfOrder,
    SealedTailMissing,
    SealMismatch,
)
from eventstore.model import RecordedEvent, RowEvent
from eventstore.seal_store import list_seals
from eventstore.seals import Seal, SealVerifier, check_seal
from eventstore.store import EventStore


@dataclass(frozen=True, slots=True)
class HistoryReport:
    """The outcome of :func:`verify_history`; ``error`` is the specific failure, if any."""

    ok: bool
    error: EventStoreError | None
    live_checked: int
    archived_checked: int
    archives: int
    archives_read: bool
    seals: int
    seals_signature_checked: bool
    head_position: int
    head_hash: str | None

    @property
    def reason(self) -> str | None:
        """The failure's message, or None."""
        return None if self.error is None else str(self.error)


async def _opened(path: Path, entry: ArchiveEntry) -> ArchiveReader:
    """The archive file of ``entry`` in ``path``, checked against the manifest's digest."""
    if not await asyncio.to_thread(path.is_file):
        raise ArchiveMissing(str(path), entry.first_position, entry.last_position)
    if await asyncio.to_thread(file_sha256, path) != entry.file_sha256:
        raise ArchiveCorrupt(str(path), "its digest differs from the one recorded when it was "
                             "archived (the file was edited or replaced)")
    reader = await asyncio.to_thread(ArchiveReader, path)
    h = reader.header
    if (h.first_position, h.last_position, h.last_hash) != (
        entry.first_position, entry.last_position, entry.last_hash
    ):
        reader.close()
        raise ArchiveCorrupt(str(path), "its header does not match the archive manifest")
    return reader


async def read_history(
    store: EventStore,
    archive_dir: Path | None,
    from_position: int = 1,
    to_position: int | None = None,
    *,
    batch_size: int = 10_000,
) -> AsyncIterator[RecordedEvent]:
    """Events ``from_position``..``to_position`` from the archive files, then the live log.

    Without ``archive_dir`` an archived start raises :class:`ArchivedRange` (where to read from).
    Each file is checked against the manifest's digest before its first row is given, and its
    chain while it is read.
    """
    manifest = await read_manifest(store.engine)
    point = manifest[-1].last_position if manifest else 0
    start = max(from_position, 1)
    if start <= point:
        if archive_dir is None:
            raise ArchivedRange(start, point + 1)
        for entry in manifest:
            if entry.last_position < start:
                continue
            if to_position is not None and entry.first_position > to_position:
                return
            reader = await _opened(archive_dir / entry.file_name, entry)
            try:
                batches = reader.batches(batch_size)
                while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                    for row in batch:
                        if to_position is not None and row[0] > to_position:
                            return
                        if row[0] >= start:
                            yield RowEvent(row)
            finally:
                reader.close()
        start = point + 1
    if to_position is not None and start > to_position:
        return
    async for ev in store.read_all(start, to_position, batch_size=batch_size):
        yield ev


async def verify_history(
    store: EventStore,
    *,
    archive_dir: Path | None = None,
    verifier: SealVerifier | None = None,
    trusted: str | None = None,
    anchor: tuple[int, str] | None = None,
) -> HistoryReport:
    """Check everything: every seal (signature with ``verifier``, hash at its position), the
    archive manifest's continuity, every archive file (with ``archive_dir``) and the live chain.

    Never raises for a failed check: the report's ``error`` is the specific exception
    (``SealForged``, ``SealMismatch``, ``SealedTailMissing``, ``ArchiveMissing``,
    ``ArchiveCorrupt``, ``ArchiveOutOfOrder`` or ``IntegrityError``).
    """
    manifest = await read_manifest(store.engine)
    seals = {s.position: s for s in await list_seals(store.engine)}
    counts = {"live": 0, "archived": 0}
    head: tuple[int, str | None] = (0, None)
    error: EventStoreError | None = None
    try:
        if verifier is not None:
            for seal in seals.values():
                check_seal(seal, verifier, trusted)
        previous = await _check_archives(manifest, seals, archive_dir, counts)
        point = manifest[-1].last_position if manifest else 0
        live = await store.verify(anchor=anchor, from_position=point + 1, previous_hash=previous)
        live.raise_if_bad()
        counts["live"], head = live.checked, (live.head_position, live.head_hash)
        for seal in seals.values():
            if seal.position <= point:
                continue
            if seal.position > live.head_position:
                raise SealedTailMissing(seal.position, live.head_position)
            if await store.hash_at(seal.position) != seal.head_hash:
                raise SealMismatch(seal.position, "the stored hash differs from the sealed one")
    except EventStoreError as exc:
        error = exc
    return HistoryReport(
        ok=error is None, error=error, live_checked=counts["live"],
        archived_checked=counts["archived"], archives=len(manifest),
        archives_read=archive_dir is not None, seals=len(seals),
        seals_signature_checked=verifier is not None, head_position=head[0], head_hash=head[1],
    )


async def _check_archives(
    manifest: list[ArchiveEntry], seals: dict[int, Seal], archive_dir: Path | None,
    counts: dict[str, int],
) -> str:
    """Check the archives in order; return the last archived hash (the live chain's seed)."""
    last, previous = 0, GENESIS_HASH
    for entry in manifest:
        shown = entry.file_name
        if entry.first_position != last + 1 or entry.previous_hash != previous:
            raise ArchiveOutOfOrder(shown, last + 1, entry.first_position)
        seal = seals.get(entry.seal_position)
        if seal is None or (seal.position, seal.head_hash) != (
            entry.last_position, entry.last_hash
        ):
            raise SealMismatch(entry.seal_position, f"archive {shown} is not covered by its seal")
        if archive_dir is not None:
            reader = await _opened(archive_dir / entry.file_name, entry)
            try:
                batches = reader.batches()
                while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                    counts["archived"] += len(batch)
                    for row in batch:
                        sealed = seals.get(row[0])
                        if sealed is not None and sealed.head_hash != row[9]:
                            raise SealMismatch(row[0], f"archive {shown} differs from the seal")
            finally:
                reader.close()
        last, previous = entry.last_position, entry.last_hash
    return previous



async def read_stream_history(
    store: EventStore, stream_id: str, archive_dir: Path | None
) -> AsyncIterator[RecordedEvent]:
    """Every event of one stream, in version order, also when its first events were archived.

    The live stream is read as usual when it starts at version 0 (or never existed). When its
    first events (or all of them) were archived, they are read from the archive files in
    ``archive_dir`` (a scan of the files) — without it :class:`ArchivedRange` says where to read.
    """
    live = [ev async for ev in store.read_stream(stream_id)]
    if (live and live[0].version == 0) or (
        not live and await store.stream_version(stream_id) is None
    ):
        for ev in live:
            yield ev
        return
    point = await store.archive_point()
    if archive_dir is None:
        raise ArchivedRange(1, point + 1)
    async for ev in read_history(store, archive_dir, 1):
        if ev.stream_id == stream_id:
            yield ev
