"""Start-up against journals of growing length: from the newest seal vs a full chain check.

For each size N (default 100k and 1M events; ``--huge`` adds 10M; ``--short``: 10k and 50k) a
journal is bulk-generated straight into the database (``bulk_journal``: realistic order
lifecycles, real chain hashes; never through the engine, never committed), the state is folded
once, the journal is sealed with an EIP-191 key, ``--tail`` more events are appended after the
seal (a seal "near the head", as after a crash) and the anchor file is written with the head,
as a running engine leaves it. Then each start-up runs in a **fresh process** (as a restart
after a crash does) and is timed from ``EventStore.open`` to the point where the engine would
connect to the exchange, through the same journal steps as ``oms.engine.recovery``: open
(schema check) → anchor check → lease claim → replay → verify → anchor the head:

- ``sealed``: ``verify_on_start="since_seal"`` — check the seal, load its snapshot, fold and verify
  the tail;
- ``full``: ``verify_on_start="chain"`` — load the snapshot, fold the tail, verify from position 1.

Connect and reconcile are left out: they talk to the exchange and do not depend on the journal's
length. Also printed: bytes per event on disk (SQLite file, PostgreSQL ``events`` partitions
plus ``event_keys``, archive file) and archive/restore throughput (events/s) on the largest
journal. Ratios
(``sealed[largest] / sealed[smallest]``, ``full / sealed``) are what to compare across machines.

    python benchmarks/sealed_start_bench.py [--short] [--huge] [--sizes 100000,1000000]
        [--full-max N]     # full verification only up to N events (default: every size)
        [--postgres URL]   # default $OMS_TEST_POSTGRES_URL; PostgreSQL is skipped without one
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bulk_journal import (
    COLUMNS,
    JournalGenerator,
    batches,
    insert_sqlite,
    pipelined,
    sqlite_writer,
    templates,
)

from eventstore import AnchorKeeper, EventStore, archive_before, restore_archive
from eventstore.partitions import ensure_partitions
from eventstore.postgres_backend import APPEND_LOCK_KEY
from oms.engine.anchoring import anchor_head, check_anchor
from oms.engine.lease import EngineLease
from oms.engine.seal_keys import Eip191SealKey
from oms.engine.sealing import seal_journal, start_state

KEY = Eip191SealKey("0x" + "3c" * 32)
CAPACITY = 10_000  # completed orders kept in memory (EngineConfig.completed_in_memory)
_BATCH = 100_000


async def fill_journal(store: EventStore, path: str | None, gen: JournalGenerator,
                       count: int) -> None:
    """``count``-odd more rows from ``gen`` (SQLite: pipelined executemany; PostgreSQL: COPY)."""
    if path is not None:
        conn = await asyncio.to_thread(sqlite_writer, path)
        try:
            await asyncio.to_thread(pipelined, gen, count, _BATCH, True,
                                    lambda rows: insert_sqlite(conn, rows))
        finally:
            conn.close()
        return
    for rows in batches(gen, count, _BATCH, sqlite_ids=False):
        await copy_postgres(store, rows)


async def copy_postgres(store: EventStore, rows: list[tuple[Any, ...]]) -> None:
    """One transaction of PostgreSQL ``rows`` (``sqlite_ids=False``), as the appender writes:
    partitions first, ``event_keys`` beside ``events``."""
    async with store.engine.connect() as conn:
        apg: Any = (await conn.get_raw_connection()).driver_connection
        async with apg.transaction():
            await apg.execute(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})")
            await ensure_partitions(apg, rows[-1][0], rows[0][0])
            await apg.copy_records_to_table("events", columns=COLUMNS, records=rows)
            await apg.copy_records_to_table(
                "event_keys", columns=("event_id", "stream_id", "version", "position"),
                records=[(r[5], r[1], r[2], r[0]) for r in rows],
            )


def _remove(folder: Path, pattern: str) -> None:
    for leftover in folder.glob(pattern):
        leftover.unlink()


async def postgres_bytes(store: EventStore) -> tuple[int, int]:
    """On-disk bytes of ``events`` (every partition, with indexes) and of ``event_keys``."""
    async with store.engine.connect() as conn:
        apg: Any = (await conn.get_raw_connection()).driver_connection
        events = await apg.fetchval(
            "SELECT COALESCE(SUM(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i "
            "WHERE i.inhparent = 'events'::regclass")
        keys = await apg.fetchval("SELECT pg_total_relation_size('event_keys')")
    return int(events), int(keys)


def _file_bytes(path: str) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    return Path(path).stat().st_size


async def child_start(url: str, mode: str, capacity: int, anchor: str) -> dict[str, Any]:
    """One start-up's journal steps, timed (run in a fresh process by :func:`timed_start`)."""
    times: dict[str, float] = {}
    began = last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        times[name], last = round(now - last, 4), now

    store = await EventStore.open(url)
    lap("open")
    try:
        keeper = AnchorKeeper(Path(anchor))
        await check_anchor(keeper, store)
        lap("anchor")
        await EngineLease(store, "hyperliquid", "bench").claim()
        lap("claim")
        start = await start_state(store, mode, KEY, capacity)
        lap("replay")
        report = await store.verify(from_position=start.verify_from,
                                    previous_hash=start.previous_hash)
        if not report.ok:
            raise AssertionError(report.reason)
        await anchor_head(keeper, store)
        lap("verify")
    finally:
        await store.close()
    return {"total_s": round(time.perf_counter() - began, 4), "verified": report.checked,
            "from_seal": start.seal is not None, "steps_s": times}


def timed_start(url: str, mode: str, capacity: int, anchor: str) -> dict[str, Any]:
    """:func:`child_start` in a new interpreter (a restart's heap and caches, not ours)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, mode, str(capacity), anchor],
        check=True, capture_output=True, text=True, timeout=3600,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])},
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


async def one_journal(url: str, path: str | None, size: int, tail: int, work: Path,
                      measure_archive: bool, capacity: int, full: bool, runs: int = 3
                      ) -> dict[str, Any]:
    """Generate, seal and time one journal of ``size`` events."""
    gen = JournalGenerator(templates())
    result: dict[str, Any] = {"events": size}
    anchor = str(work / "journal.anchor")
    async with await EventStore.open(url) as store:
        began = time.perf_counter()
        await fill_journal(store, path, gen, size - tail)
        result["generate_s"] = round(time.perf_counter() - began, 2)
        result["generate_events_per_s"] = round((gen.position - 1) / (time.perf_counter() - began))
        began = time.perf_counter()
        loaded = await start_state(store, "chain", None, capacity)  # fold once, to seal it
        result["fold_to_seal_s"] = round(time.perf_counter() - began, 2)
        seal = await seal_journal(store, loaded.loaded.projector, KEY)
        assert seal is not None
        del loaded
        await fill_journal(store, path, gen, tail)
        await AnchorKeeper(Path(anchor)).update(store)  # as the last engine left it
        head, _ = await store.head()
        result.update(events=head, sealed_at=seal.position)
    loop = asyncio.get_running_loop()

    async def starts(mode: str, runs: int) -> list[dict[str, Any]]:
        return [await loop.run_in_executor(None, timed_start, url, mode, capacity, anchor)
                for _ in range(runs)]

    sealed = await starts("since_seal", runs)
    assert all(s["from_seal"] for s in sealed)
    best = min(sealed, key=lambda s: s["total_s"])
    result["sealed_start_s"] = best["total_s"]
    result["sealed_steps_s"] = best["steps_s"]
    result["sealed_verified"] = best["verified"]
    if full:
        done = await starts("chain", 2 if size < 5_000_000 and runs > 1 else 1)
        result["full_start_s"] = min(s["total_s"] for s in done)
        result["full_verified"] = done[0]["verified"]
        result["full_over_sealed"] = round(result["full_start_s"] / result["sealed_start_s"], 1)
    else:
        result["full_start_s"] = "skipped (--full-max)"
    async with await EventStore.open(url) as store:
        head, _ = await store.head()
        if path is not None:
            result["sqlite_bytes_per_event"] = round(_file_bytes(path) / head, 1)
        else:
            events, keys = await postgres_bytes(store)
            result["postgres_bytes_per_event"] = round((events + keys) / head, 1)
            result["postgres_event_keys_bytes_per_event"] = round(keys / head, 1)
        if measure_archive:
            folder = work / "archive"
            folder.mkdir()
            began = time.perf_counter()
            entry = await archive_before(store, folder, head + 1)
            took = time.perf_counter() - began
            file_size = (folder / entry.file_name).stat().st_size
            result["archive_bytes_per_event"] = round(file_size / entry.event_count, 1)
            result["archive_events_per_s"] = round(entry.event_count / took)
    if measure_archive:
        after = await starts("since_seal", min(runs, 2))
        result["sealed_start_after_archive_s"] = min(s["total_s"] for s in after)
        async with await EventStore.open(url) as store:
            began = time.perf_counter()
            await restore_archive(store, folder / entry.file_name)
            took = time.perf_counter() - began
            result["restore_events_per_s"] = round(entry.event_count / took)
    return result


async def _pg_database(base: str, name: str, create: bool) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    admin = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"' if create else
                            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def run(sizes: list[int], tail: int, pg_base: str | None, pg_sizes: list[int],
              capacity: int, archive: bool = True, full_max: int | None = None,
              runs: int = 3) -> dict[str, Any]:
    """Every journal on SQLite, then on PostgreSQL (with ``pg_base``); the results and ratios."""
    out: dict[str, Any] = {"sizes": sizes, "tail_after_seal": tail, "sqlite": [],
                           "postgres": [], "completed_in_memory": capacity,
                           "load_average_at_start": os.getloadavg()[0]}

    def done(kind: str, row: dict[str, Any]) -> None:
        out[kind].append(row)
        print(json.dumps({kind: row}), file=sys.stderr, flush=True)  # progress of long runs

    with tempfile.TemporaryDirectory(prefix="sealed-bench-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"j{size}.db"
            work = Path(tmp) / f"s{size}"
            work.mkdir()
            done("sqlite", await one_journal(
                f"sqlite+aiosqlite:///{path}", str(path), size, tail, work,
                measure_archive=archive and size == max(sizes), capacity=capacity,
                full=full_max is None or size <= full_max, runs=runs))
            _remove(Path(tmp), f"j{size}.db*")  # a 10M-event file holds ~5 GB
        if pg_base:
            for size in pg_sizes:
                name = f"oms_bench_{uuid.uuid4().hex[:10]}"
                url = await _pg_database(pg_base, name, create=True)
                work = Path(tmp) / f"p{size}"
                work.mkdir()
                try:
                    done("postgres", await one_journal(
                        url, None, size, tail, work,
                        measure_archive=archive and size == max(pg_sizes), capacity=capacity,
                        full=full_max is None or size <= full_max, runs=runs))
                finally:
                    await _pg_database(pg_base, name, create=False)
    out["load_average_at_end"] = os.getloadavg()[0]
    for kind in ("sqlite", "postgres"):
        rows = out[kind]
        if len(rows) >= 2:
            out[f"{kind}_sealed_largest_over_smallest"] = round(
                rows[-1]["sealed_start_s"] / rows[0]["sealed_start_s"], 2)
            if all(isinstance(r["full_start_s"], float) for r in (rows[0], rows[-1])):
                out[f"{kind}_full_largest_over_smallest"] = round(
                    rows[-1]["full_start_s"] / rows[0]["full_start_s"], 2)
    return out


def main() -> None:
    """Parse the flags, run, print one JSON object."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--short", action="store_true", help="10k and 50k events (CI)")
    parser.add_argument("--huge", action="store_true", help="add a 10M-event journal")
    parser.add_argument("--sizes", help="comma-separated journal sizes (overrides the above)")
    parser.add_argument("--tail", type=int, default=1000, help="events after the seal")
    parser.add_argument("--postgres", default=os.environ.get("OMS_TEST_POSTGRES_URL"))
    parser.add_argument("--pg-sizes", help="comma-separated PostgreSQL sizes (default: --sizes)")
    parser.add_argument("--no-archive", action="store_true", help="skip archive/restore")
    parser.add_argument("--full-max", type=int, help="full verification only up to N events")
    parser.add_argument("--child", nargs=4, metavar=("URL", "MODE", "CAPACITY", "ANCHOR"),
                        help=argparse.SUPPRESS)  # one timed start-up (see timed_start)
    args = parser.parse_args()
    if args.child:
        url, mode, capacity_text, anchor = args.child
        print(json.dumps(asyncio.run(child_start(url, mode, int(capacity_text), anchor))))
        return
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = [10_000, 50_000] if args.short else [100_000, 1_000_000]
        if args.huge:
            sizes.append(10_000_000)
    pg_sizes = sizes if not args.short else [sizes[0], 30_000]
    if args.pg_sizes:
        pg_sizes = [int(s) for s in args.pg_sizes.split(",")]
    # --short keeps fewer completed orders in memory so that its small journals already hold
    # more orders than the tracker keeps (the state stops growing, as on a real account).
    capacity = 1_000 if args.short else CAPACITY
    result = asyncio.run(run(sizes, args.tail, args.postgres, pg_sizes, capacity,
                             not args.no_archive, args.full_max,
                             runs=1 if args.short else 3))  # --short: a quick CI smoke
    result["mode"] = "short" if args.short else "full"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
