"""Seals and archives on both backends: forged seals, archive files edited, missing or replayed
out of order, reads and subscriptions across the archive point, restore."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from eventstore import (
    NO_STREAM,
    ArchiveCorrupt,
    ArchivedRange,
    ArchiveError,
    ArchiveMissing,
    ArchiveOutOfOrder,
    EventStore,
    NewEvent,
    SealForged,
    SealMismatch,
    archive_before,
    make_seal,
    read_history,
    read_manifest,
    restore_archive,
    verify_history,
    write_seal,
)
from eventstore.history_schema import seals
from eventstore.migration import head_revision
from oms.engine.seal_keys import Eip191SealKey, Eip191SealVerifier
from projections import order_as_of

KEY = Eip191SealKey("0x" + "42" * 32)
OTHER = Eip191SealKey("0x" + "43" * 32)
VERIFIER = Eip191SealVerifier()


async def _fill(store: EventStore, orders: int, per_order: int = 3) -> None:
    for i in range(orders):
        await store.append(
            f"order-{i}", [NewEvent("E", {"i": i, "n": n}) for n in range(per_order)], NO_STREAM
        )


async def _seal(store: EventStore, position: int, key: Eip191SealKey = KEY) -> None:
    head_hash = await store.hash_at(position)
    assert head_hash is not None
    seal = make_seal(key, position=position, head_hash=head_hash, snapshot=b"{}",
                     schema_revision=head_revision(), sealed_at_us=time.time_ns() // 1000)
    async with store.engine.begin() as conn:
        await write_seal(conn, seal)


async def _all(store: EventStore, folder: Path | None) -> list[tuple[int, str, str]]:
    return [(e.position, e.hash, e.raw_data.decode()) async for e in read_history(store, folder)]


async def test_seals_verify_and_a_forged_or_edited_seal_is_caught(store_url: str) -> None:
    async with await EventStore.open(store_url) as store:
        await _fill(store, 10)
        await _seal(store, 12)
        report = await verify_history(store, verifier=VERIFIER, trusted=KEY.address)
        assert report.ok and report.seals == 1 and report.live_checked == 30
        await _seal(store, 21, OTHER)  # a seal made without the key
        report = await verify_history(store, verifier=VERIFIER, trusted=KEY.address)
        assert isinstance(report.error, SealForged) and report.error.position == 21
        async with store.engine.begin() as conn:
            await conn.execute(sa.delete(seals).where(seals.c.position == 21))
            # An editor moves the genuine seal to another hash: the signature no longer holds.
            await conn.execute(sa.update(seals).values(head_hash="0" * 64))
        report = await verify_history(store, verifier=VERIFIER, trusted=KEY.address)
        assert isinstance(report.error, SealForged) and report.error.position == 12


async def test_archive_moves_sealed_history_out_and_reads_still_see_all_of_it(
    store_url: str, tmp_path: Path
) -> None:
    async with await EventStore.open(store_url) as store:
        await _fill(store, 20)
        before = await _all(store, None)
        with pytest.raises(ArchiveError, match="no seal"):
            await archive_before(store, tmp_path, before=50)
        await _seal(store, 30)
        await _seal(store, 45)
        entry = await archive_before(store, tmp_path, before=50, verifier=VERIFIER,
                                     trusted=KEY.address)
        assert (entry.first_position, entry.last_position, entry.event_count) == (1, 45, 45)
        assert (tmp_path / entry.file_name).is_file()
        assert await store.archive_point() == 45
        live = [e.position async for e in store.read_all(46)]
        assert live == list(range(46, 61))
        with pytest.raises(ArchivedRange, match="from position 46"):
            [e async for e in store.read_all(1)]
        with pytest.raises(ArchivedRange):
            await anext(store.subscribe(10))
        assert await _all(store, tmp_path) == before
        assert (await store.verify()).ok  # the live chain, from the archive point
        report = await verify_history(store, archive_dir=tmp_path, verifier=VERIFIER,
                                      trusted=KEY.address)
        assert report.ok, report.reason
        assert (report.archived_checked, report.live_checked) == (45, 15)
        # A stream whose events went to the archive continues its versions.
        result = await store.append("order-3", [NewEvent("E", {"late": True})], 2)
        assert result.next_version == 4
        # Reading that order back from its live stream alone would fold half a history: refused.
        with pytest.raises(ArchivedRange):
            await order_as_of(store, "3")


async def test_edited_missing_and_out_of_order_archives_are_detected(
    store_url: str, tmp_path: Path
) -> None:
    async with await EventStore.open(store_url) as store:
        await _fill(store, 10)
        await _seal(store, 9)
        await _seal(store, 21)
        first = await archive_before(store, tmp_path, before=10)
        second = await archive_before(store, tmp_path, before=30)
        assert (first.last_position, second.first_position, second.last_position) == (9, 10, 21)
        assert (await verify_history(store, archive_dir=tmp_path)).ok
        # Restoring the older archive first would leave a gap: refused, nothing changes.
        with pytest.raises(ArchiveOutOfOrder):
            await restore_archive(store, tmp_path / first.file_name)
        # Edit one row of the newer file and re-compress it: a self-consistent-looking file.
        path = tmp_path / second.file_name
        original = path.read_bytes()
        lines = gzip.decompress(original).splitlines()
        row = orjson.loads(lines[3])
        row[7] = row[7].replace('"n":2', '"n":7')
        lines[3] = orjson.dumps(row)
        path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
        report = await verify_history(store, archive_dir=tmp_path)
        assert isinstance(report.error, ArchiveCorrupt)
        with pytest.raises(ArchiveCorrupt):
            await restore_archive(store, path)
        path.unlink()
        report = await verify_history(store, archive_dir=tmp_path)
        assert isinstance(report.error, ArchiveMissing)
        path.write_bytes(original)
        await restore_archive(store, path, verifier=VERIFIER, trusted=KEY.address)
        await restore_archive(store, tmp_path / first.file_name)
        assert await read_manifest(store.engine) == []
        report = await verify_history(store)
        assert report.ok and report.live_checked == 30


async def test_a_tampered_archive_chain_is_caught_even_with_a_matching_digest(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with await EventStore.open(sqlite_url) as store:
        await _fill(store, 6)
        await _seal(store, 18)
        with pytest.raises(ArchiveError, match="never the newest event"):
            await archive_before(store, tmp_path, before=19)  # the head stays live
        await _seal(store, 15)
        entry = await archive_before(store, tmp_path, before=19)
        # The archive file alone (an auditor with no database): its chain and seal check out.
        from eventstore.archive_file import ArchiveReader

        reader = ArchiveReader(tmp_path / entry.file_name)
        assert sum(len(b) for b in reader.batches()) == 15
        reader.close()
        # A row dropped from the file (digest re-recorded by someone with database access).
        path = tmp_path / entry.file_name
        lines = gzip.decompress(path.read_bytes()).splitlines()
        del lines[5]
        path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
        from eventstore.archive_file import file_sha256
        from eventstore.history_schema import archives

        async with store.engine.begin() as conn:
            await conn.execute(sa.update(archives).values(file_sha256=file_sha256(path)))
        report = await verify_history(store, archive_dir=tmp_path)
        assert isinstance(report.error, ArchiveCorrupt)
        assert "position 5 is missing" in str(report.error)


async def test_a_seal_whose_hash_differs_from_the_log_is_a_mismatch(sqlite_url: str) -> None:
    async with await EventStore.open(sqlite_url) as store:
        await _fill(store, 4)
        head_hash = await store.hash_at(5)
        assert head_hash is not None
        seal = make_seal(KEY, position=6, head_hash=head_hash, snapshot=b"{}",
                         schema_revision=head_revision(), sealed_at_us=1)
        async with store.engine.begin() as conn:
            await write_seal(conn, seal)  # signed, but over the wrong hash for position 6
        report = await verify_history(store, verifier=VERIFIER, trusted=KEY.address)
        assert isinstance(report.error, SealMismatch) and report.error.position == 6
