"""PostgreSQL range partitions (archive = detach + drop), event keys kept across archives (a
retry of an archived event id is recognised, on both backends), appends racing an archive and
partition creation on separate connections, and the conversion of an existing journal."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from eventstore import (
    ANY,
    NO_STREAM,
    EventStore,
    NewEvent,
    archive_before,
    make_seal,
    read_history,
    restore_archive,
    upgrade_database,
    verify_history,
    write_seal,
)
from eventstore.codec import GENESIS_HASH, chain_hash
from eventstore.engine import create_engine
from eventstore.history_errors import EventArchived
from eventstore.migration import alembic_config, head_revision
from eventstore.partitions import Partition, plan_ahead, sa_partitions, set_partition_size
from oms.engine.seal_keys import Eip191SealKey

KEY = Eip191SealKey("0x" + "42" * 32)


async def _seal(store: EventStore, position: int) -> None:
    head_hash = await store.hash_at(position)
    assert head_hash is not None
    seal = make_seal(KEY, position=position, head_hash=head_hash, snapshot=b"{}",
                     schema_revision=head_revision(), sealed_at_us=time.time_ns() // 1000)
    async with store.engine.begin() as conn:
        await write_seal(conn, seal)


async def _fill(store: EventStore, orders: int, prefix: str = "order") -> None:
    for i in range(orders):
        await store.append(f"{prefix}-{i}", [NewEvent("E", {"i": i, "n": n}) for n in range(3)],
                           NO_STREAM)


async def _partitions(store: EventStore) -> list[Partition]:
    async with store.engine.connect() as conn:
        return await sa_partitions(conn)


async def _tables(store: EventStore) -> set[str]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.text(
            "SELECT relname FROM pg_class WHERE relname LIKE 'events_p%' AND relkind = 'r'"))
        return {r[0] for r in rows}


def test_partitions_are_planned_ahead_of_the_head() -> None:
    assert plan_ahead([], 0, 10, 1) == [(1, 11)]  # a new journal: one partition of room
    parts = [Partition(1, 11, "events_p1")]
    assert plan_ahead(parts, 0, 10, 1) == []
    assert plan_ahead(parts, 1, 10, 1) == [(11, 21)]  # in the top partition: one more
    assert plan_ahead(parts, 25, 10, 1) == [(11, 21), (21, 31), (31, 41)]


async def test_archive_detaches_and_drops_whole_partitions_and_restore_reattaches(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_PG_PARTITION_SIZE", "10")
    async with await EventStore.open(postgres_url) as store:
        await _fill(store, 20)  # positions 1-60
        before = [(e.position, e.hash) async for e in read_history(store, None)]
        parts = await _partitions(store)
        assert [(p.first, p.end) for p in parts][:6] == [(1 + 10 * k, 11 + 10 * k)
                                                        for k in range(6)]
        assert parts[-1].end > 60 + 10  # a whole partition of room above the head
        await _seal(store, 45)
        entry = await archive_before(store, tmp_path, before=50)
        assert (entry.first_position, entry.last_position) == (1, 45)
        # 1-40 were whole partitions: dropped, not emptied row by row; 41-45 deleted from the
        # partition that also holds 46-50.
        assert [p.first for p in await _partitions(store)][:2] == [41, 51]
        assert not {"events_p1", "events_p11", "events_p21", "events_p31"} & await _tables(store)
        assert [e.position async for e in store.read_all(46, 50)] == [46, 47, 48, 49, 50]
        assert [(e.position, e.hash) async for e in read_history(store, tmp_path)] == before
        assert (await verify_history(store, archive_dir=tmp_path)).ok
        # The next archive passes the end of the partial partition: it is dropped too.
        await _seal(store, 52)
        second = await archive_before(store, tmp_path, before=55)
        assert (second.first_position, second.last_position) == (46, 52)
        assert (await _partitions(store))[0].first == 51
        assert "events_p41" not in await _tables(store)
        await restore_archive(store, tmp_path / second.file_name)
        await restore_archive(store, tmp_path / entry.file_name)
        assert (await _partitions(store))[0].first == 1
        assert [(e.position, e.hash) async for e in store.read_all(1)] == before
        assert (await store.verify()).ok
        result = await store.append("order-0", [NewEvent("E", {"after": "restore"})], 2)
        assert result.first_position == 61


async def test_a_retry_of_an_archived_event_id_is_recognised(
    store_url: str, tmp_path: Path
) -> None:
    async with await EventStore.open(store_url) as store:
        events = [NewEvent("E", {"n": n}, event_id=uuid.uuid4()) for n in range(2)]
        original = await store.append("kept", events, NO_STREAM)
        await _fill(store, 5)
        await _seal(store, 10)
        await archive_before(store, tmp_path, before=12)
        head = await store.head()
        for expected in (NO_STREAM, ANY):
            with pytest.raises(EventArchived, match="position 1") as caught:
                await store.append("kept", events, expected)
            assert (caught.value.stream_id, caught.value.version) == ("kept", 0)
        # One archived id in a batch with a fresh one: refused as a whole, nothing written.
        with pytest.raises(EventArchived):
            await store.append("other", [NewEvent("E", {}), events[1]], ANY)
        assert await store.head() == head
        # Live ids still get their original result.
        late = [NewEvent("E", {"x": 1}, event_id=uuid.uuid4())]
        live = await store.append("late", late)
        assert (await store.append("late", late)).first_position == live.first_position
        assert await store.head() == (head[0] + 1, live.events[0].hash)
        # Once restored, the retry returns the original result again.
        await restore_archive(store, tmp_path / (await _manifest_file(store)))
        again = await store.append("kept", events, NO_STREAM)
        assert (again.first_position, again.last_position) == (
            original.first_position, original.last_position)


async def _manifest_file(store: EventStore) -> str:
    from eventstore import read_manifest

    return (await read_manifest(store.engine))[-1].file_name


async def test_appends_racing_archives_and_partition_creation_lose_and_repeat_nothing(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_PG_PARTITION_SIZE", "7")  # a new partition every few batches
    first = await EventStore.open(postgres_url)
    second = await EventStore.open(postgres_url)  # its own engine: other connections
    archiver = await EventStore.open(postgres_url)
    try:
        await _fill(first, 20)  # 1-60
        await _seal(first, 40)
        written: list[tuple[int, str]] = []
        seen: list[int] = []  # appends done when the archiver started, and when it ended

        async def appender(store: EventStore, name: str) -> None:
            # At least 60 appends each, and on until the archiver is done (bounded).
            for i in range(2000):
                if i >= 60 and len(seen) == 2:
                    return
                res = await store.append(f"{name}-{i % 5}", [NewEvent("E", {"i": i})], ANY)
                written.append((res.first_position, res.events[0].stream_id))

        async def archive_and_restore() -> None:
            seen.append(len(written))
            for _ in range(2):
                entry = await archive_before(archiver, tmp_path, before=50)
                await restore_archive(archiver, tmp_path / entry.file_name)
            await archive_before(archiver, tmp_path, before=50)
            seen.append(len(written))

        await asyncio.gather(appender(first, "a"), appender(second, "b"), archive_and_restore())
        assert seen[1] > seen[0]  # appends committed while archives were taken and restored
        head, _ = await first.head()
        total = len(written)
        assert head == 60 + total
        assert sorted(p for p, _ in written) == list(range(61, head + 1))  # none lost or twice
        everything = [e async for e in read_history(first, tmp_path)]
        assert [e.position for e in everything] == list(range(1, head + 1))
        assert len({e.event_id for e in everything}) == head
        report = await verify_history(first, archive_dir=tmp_path)
        assert report.ok, report.reason
        assert (report.archived_checked, report.live_checked) == (40, head - 40)
        parts = await _partitions(first)
        assert parts[0].first <= 41 and parts[-1].end > head + 7
        assert all(a.end == b.first for a, b in itertools.pairwise(parts))
    finally:
        for store in (first, second, archiver):
            await store.close()


async def _old_journal(url: str, rows: int) -> list[tuple[int, str]]:
    """A journal at revision 0004 (one plain events table), written row by row."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda c: command.upgrade(alembic_config(connection=c), "0004_account"))
            prev, out = GENESIS_HASH, []
            for p in range(1, rows + 1):
                eid, data = str(uuid.uuid4()), b'{"p":%d}' % p
                prev = chain_hash(prev, p, f"s-{p % 4}", (p - 1) // 4, "E", 1, eid, p, data,
                                  b"{}")
                await conn.execute(sa.text(
                    "INSERT INTO events (position, stream_id, version, type, event_version, "
                    "event_id, data, metadata, recorded_at_us, hash) VALUES "
                    "(:p, :s, :v, 'E', 1, :e, :d, '\\x7b7d'::bytea, :p, :h)"),
                    {"p": p, "s": f"s-{p % 4}", "v": (p - 1) // 4, "e": eid, "d": data,
                     "h": prev})
                out.append((p, prev))
        return out
    finally:
        await engine.dispose()


async def test_an_existing_postgres_journal_is_converted_to_partitions(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_PG_PARTITION_SIZE", "16")
    rows = await _old_journal(postgres_url, 40)
    assert await upgrade_database(postgres_url) == head_revision()
    async with await EventStore.open(postgres_url) as store:
        assert [(e.position, e.hash) async for e in store.read_all()] == rows
        assert (await store.verify()).ok
        assert [(p.first, p.end) for p in await _partitions(store)] == [
            (1, 17), (17, 33), (33, 49), (49, 65)]
        # The keys came along: versions continue and a duplicate version is refused.
        result = await store.append("s-1", [NewEvent("E", {})], 9)
        assert (result.first_position, result.next_version) == (41, 11)
        await set_partition_size(store.engine, 100)
        await _fill(store, 10)  # 42-71: partitions made from now on are 100 wide
        parts = await _partitions(store)
        assert [p.end - p.first for p in parts if p.first >= 65] == [100] * (len(parts) - 4)
        assert parts[-1].end > 71 + 100 and len(parts) > 4
        assert (await store.verify()).ok
