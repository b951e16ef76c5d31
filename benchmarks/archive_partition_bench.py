"""PostgreSQL archiving: detaching whole partitions vs the old range DELETE, in one run.

Two identical journals (same rows, bulk-generated with real chain hashes, partitions of
``--partition`` events) are archived up to a seal near the head:

- ``detach``: what ``oms audit archive`` does now (whole partitions detached and dropped, the
  rows of the one partial partition deleted);
- ``delete``: the old way, one range ``DELETE`` of every archived row (the removal step of
  ``archive_before`` swapped for that statement; everything else — reading, checking, writing
  the file — is the same code).

Printed: the whole archive's time and the removal transaction's time for each, and their
ratios ``delete / detach`` (above 1: detach is faster). Also bytes per event on disk of the
partitioned layout (``events`` partitions plus ``event_keys``) against the old one-table layout
(revision ``0004``) holding the same rows: ``partitioned_over_plain``. Timings are noisy on a
shared machine: compare the ratios, never absolute times; nothing here fails on a timing.

    python benchmarks/archive_partition_bench.py [--short] [--events N] [--partition N]
        [--postgres URL]   # default $OMS_TEST_POSTGRES_URL; nothing to do without one
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

sys.path.insert(0, str(Path(__file__).parent))
from bulk_journal import JournalGenerator, batches, templates
from sealed_start_bench import _pg_database, copy_postgres, postgres_bytes

import eventstore.archiving as archiving
from eventstore import EventStore, archive_before, make_seal, write_seal
from eventstore.engine import create_engine
from eventstore.migration import alembic_config, head_revision
from oms.engine.seal_keys import Eip191SealKey

KEY = Eip191SealKey("0x" + "3d" * 32)
_COLS = ("position", "stream_id", "version", "type", "event_version", "event_id", "data",
         "metadata", "recorded_at_us", "hash")
Rows = list[tuple[Any, ...]]


def journal_rows(events: int) -> Rows:
    """``events``-odd rows of order lifecycles from position 1, chained from genesis."""
    rows: Rows = []
    for batch in batches(JournalGenerator(templates()), events, 100_000, sqlite_ids=False):
        rows += batch
    return rows


async def _removal(kind: str, timings: list[float]) -> Any:
    """The removal step of ``archive_before`` for ``kind``, timed into ``timings``."""
    detach = archiving.remove_archived_rows

    async def removal(conn: Any, dialect: str, first: int, last: int) -> list[str]:
        began = time.perf_counter()
        if kind == "detach":
            dropped = await detach(conn, dialect, first, last)
        else:  # the code before partitions: every archived row deleted
            await conn.execute(
                sa.text("DELETE FROM events WHERE position >= :f AND position <= :l"),
                {"f": first, "l": last})
            dropped = []
        timings.append(time.perf_counter() - began)
        return dropped

    return removal


async def archive_one(url: str, rows: Rows, seal_at: int, folder: Path, kind: str
                      ) -> dict[str, Any]:
    """Fill a fresh journal with ``rows``, seal at ``seal_at`` and archive it the ``kind`` way."""
    async with await EventStore.open(url) as store:
        for i in range(0, len(rows), 100_000):
            await copy_postgres(store, rows[i : i + 100_000])
        head_hash = await store.hash_at(seal_at)
        assert head_hash is not None
        seal = make_seal(KEY, position=seal_at, head_hash=head_hash, snapshot=b"{}",
                         schema_revision=head_revision(), sealed_at_us=time.time_ns() // 1000)
        async with store.engine.begin() as conn:
            await write_seal(conn, seal)
        events, keys = await postgres_bytes(store)
        timings: list[float] = []
        original = archiving.remove_archived_rows
        archiving.remove_archived_rows = await _removal(kind, timings)  # type: ignore[assignment]
        try:
            began = time.perf_counter()
            entry = await archive_before(store, folder, seal_at + 1)
            took = time.perf_counter() - began
        finally:
            archiving.remove_archived_rows = original  # type: ignore[assignment]
        assert entry.last_position == seal_at and (await store.verify()).ok
    return {"archived": entry.event_count, "archive_s": round(took, 4),
            "removal_s": round(timings[0], 4),
            "archive_events_per_s": round(entry.event_count / took),
            "bytes_per_event": round((events + keys) / len(rows), 1),
            "event_keys_bytes_per_event": round(keys / len(rows), 1)}


async def plain_bytes(url: str, rows: Rows) -> float:
    """Bytes per event of the same rows in the one-table layout of revision ``0004``."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda c: command.upgrade(alembic_config(connection=c), "0004_account"))
        async with engine.connect() as conn:
            apg: Any = (await conn.get_raw_connection()).driver_connection
            await apg.copy_records_to_table(
                "events", columns=_COLS, records=rows)
            total = await apg.fetchval("SELECT pg_total_relation_size('events')")
    finally:
        await engine.dispose()
    return round(int(total) / len(rows), 1)


async def run(base: str, events: int, partition: int) -> dict[str, Any]:
    """Both archives and the layout comparison, each in a database of its own."""
    rows = journal_rows(events)
    seal_at = len(rows) - 100  # a seal near the head
    os.environ["OMS_PG_PARTITION_SIZE"] = str(partition)  # read by the 0005 migration
    out: dict[str, Any] = {"events": len(rows), "partition_size": partition, "sealed_at": seal_at}
    with tempfile.TemporaryDirectory(prefix="partition-bench-") as tmp:
        for kind in ("detach", "delete"):
            name = f"oms_bench_{uuid.uuid4().hex[:10]}"
            url = await _pg_database(base, name, create=True)
            folder = Path(tmp) / kind
            folder.mkdir()
            try:
                out[kind] = await archive_one(url, rows, seal_at, folder, kind)
            finally:
                await _pg_database(base, name, create=False)
    name = f"oms_bench_{uuid.uuid4().hex[:10]}"
    url = await _pg_database(base, name, create=True)
    try:
        out["plain_bytes_per_event"] = await plain_bytes(url, rows)
    finally:
        await _pg_database(base, name, create=False)
    out["removal_delete_over_detach"] = round(
        out["delete"]["removal_s"] / out["detach"]["removal_s"], 1)
    out["archive_delete_over_detach"] = round(
        out["delete"]["archive_s"] / out["detach"]["archive_s"], 2)
    out["bytes_partitioned_over_plain"] = round(
        out["detach"]["bytes_per_event"] / out["plain_bytes_per_event"], 2)
    return out


def main() -> None:
    """Parse the flags, run, print one JSON object."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--short", action="store_true", help="10k events (CI)")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--partition", type=int, help="events per partition (default events/10)")
    parser.add_argument("--postgres", default=os.environ.get("OMS_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    events = 10_000 if args.short else args.events
    if not args.postgres:
        print(json.dumps({"skipped": "no PostgreSQL: pass --postgres or set "
                                     "OMS_TEST_POSTGRES_URL"}))
        return
    result = asyncio.run(run(args.postgres, events, args.partition or max(events // 10, 1)))
    result["mode"] = "short" if args.short else "full"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
