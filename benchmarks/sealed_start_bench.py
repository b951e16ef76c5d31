"""Start-up against journals of growing length: from the newest seal vs a full chain check.

For each size N (default 100k and 1M events; ``--huge`` adds 10M; ``--short``: 10k and 50k) a
journal is bulk-generated straight into the database (realistic order lifecycles, real chain
hashes; never through the engine, never committed), the state is folded once, the journal is
sealed with an EIP-191 key and ``--tail`` more events are appended after the seal (a seal "near
the head", as after a crash). Then, in one run, it times the journal part of the engine's
start-up exactly as ``oms.engine.recovery`` runs it (replay step + verify step):

- ``sealed``: ``verify_on_start="since_seal"`` — check the seal, load its snapshot, fold and verify
  the tail;
- ``full``: ``verify_on_start="chain"`` — load the snapshot, fold the tail, verify from position 1.

Connect and reconcile are left out: they talk to the exchange and do not depend on the journal's
length. Also printed: bytes per event on disk (SQLite file, PostgreSQL ``events`` partitions
plus ``event_keys``, archive file) and archive/restore throughput (events/s) on the largest
journal. Ratios
(``sealed[largest] / sealed[smallest]``, ``full / sealed``) are what to compare across machines.

    python benchmarks/sealed_start_bench.py [--short] [--huge] [--sizes 100000,1000000]
        [--postgres URL]   # default $OMS_TEST_POSTGRES_URL; PostgreSQL is skipped without one
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from replay_bench import order_life

from eventstore import EventStore, archive_before, restore_archive
from eventstore.codec import GENESIS_HASH, chain_hash
from eventstore.partitions import ensure_partitions
from eventstore.postgres_backend import APPEND_LOCK_KEY
from oms.domain import ClientOrderId, OrderState, encode
from oms.domain.order import step
from oms.engine.seal_keys import Eip191SealKey
from oms.engine.sealing import seal_journal, start_state

TERMINAL = {OrderState.FILLED, OrderState.CANCELED, OrderState.FAILED}
KEY = Eip191SealKey("0x" + "3c" * 32)
_TEMPLATES = 4000
CAPACITY = 10_000  # completed orders kept in memory (EngineConfig.completed_in_memory)
_COLS = ("position", "stream_id", "version", "type", "event_version", "event_id", "data",
         "metadata", "recorded_at_us", "hash")


def _templates() -> list[tuple[str, list[tuple[str, int, bytes]]]]:
    """Order lifecycles encoded once; each generated order copies one with a new cloid.

    Only lifecycles that end (filled, canceled, rejected): a real account keeps a bounded number
    of orders open, and a generator that left 10% of all orders open forever would make the
    *state* (and so the snapshot) grow with history, which is not what is measured here.
    """
    import orjson

    rng, seq, out = random.Random(20), [0], []
    for i in range(_TEMPLATES):
        cid = ClientOrderId.new(now_ns=1_700_000_000_000_000_000 + i)
        rows = []
        life = order_life(rng, cid, seq)
        record = None
        for ev in life:
            record = step(record, ev)
        if record is None or record.state not in TERMINAL:
            continue
        for ev in life:
            type_, data, version = encode(ev)
            rows.append((type_, version, orjson.dumps(data, option=orjson.OPT_SORT_KEYS)))
        out.append((str(cid), rows))
    return out


def generate(count: int, first: int, prev: str, order_no: int,
             templates: list[tuple[str, list[tuple[str, int, bytes]]]]
             ) -> tuple[list[tuple[Any, ...]], str, int]:
    """``count``-odd rows from position ``first`` chained on ``prev``; (rows, last hash, orders)."""
    rows: list[tuple[Any, ...]] = []
    position, now_us = first, 1_700_000_000_000_000 + first
    while len(rows) < count:
        template_cid, lifecycle = templates[order_no % len(templates)]
        cid = f"{order_no:032x}"
        stream = f"order-{cid}"
        for version, (type_, event_version, data) in enumerate(lifecycle):
            body = data.replace(template_cid.encode(), cid.encode())
            event_id = str(uuid.UUID(int=random.getrandbits(128), version=4))
            prev = chain_hash(prev, position, stream, version, type_, event_version, event_id,
                              now_us, body, b"{}")
            rows.append((position, stream, version, type_, event_version, event_id, body, b"{}",
                         now_us, prev))
            position += 1
            now_us += 1
        order_no += 1
    return rows, prev, order_no


async def bulk_insert(store: EventStore, path: str | None, rows: list[tuple[Any, ...]]) -> None:
    """Rows straight into ``events`` (SQLite: one transaction; PostgreSQL: COPY)."""
    if path is not None:
        with sqlite3.connect(path) as conn:
            conn.executemany(
                f"INSERT INTO events ({', '.join(_COLS)}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(*r[:5], r[5].replace("-", ""), *r[6:]) for r in rows],
            )
        return
    async with store.engine.connect() as conn:
        apg: Any = (await conn.get_raw_connection()).driver_connection
        async with apg.transaction():  # as the appender does: partitions first, keys beside
            await apg.execute(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})")
            await ensure_partitions(apg, rows[-1][0], rows[0][0])
            await apg.copy_records_to_table(
                "events", columns=_COLS,
                records=[(*r[:5], uuid.UUID(r[5]), *r[6:]) for r in rows],
            )
            await apg.copy_records_to_table(
                "event_keys", columns=("event_id", "stream_id", "version", "position"),
                records=[(uuid.UUID(r[5]), r[1], r[2], r[0]) for r in rows],
            )


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


async def _timed_start(store: EventStore, mode: str, capacity: int) -> tuple[float, int]:
    began = time.perf_counter()
    start = await start_state(store, mode, KEY, capacity)
    report = await store.verify(from_position=start.verify_from, previous_hash=start.previous_hash)
    assert report.ok, report.reason
    return time.perf_counter() - began, report.checked


async def one_journal(url: str, path: str | None, size: int, tail: int, archive_dir: Path,
                      measure_archive: bool, capacity: int) -> dict[str, Any]:
    templates = _templates()
    result: dict[str, Any] = {"events": size}
    async with await EventStore.open(url) as store:
        began = time.perf_counter()
        prev, order_no, position = GENESIS_HASH, 0, 1
        while position <= size - tail:
            rows, prev, order_no = generate(
                min(200_000, size - tail - position + 1), position, prev, order_no, templates)
            await bulk_insert(store, path, rows)
            position += len(rows)
        result["generate_s"] = round(time.perf_counter() - began, 2)
        loaded = await start_state(store, "chain", None, capacity)  # fold once, to seal it
        seal = await seal_journal(store, loaded.loaded.projector, KEY)
        assert seal is not None
        rows, prev, order_no = generate(tail, position, prev, order_no, templates)
        await bulk_insert(store, path, rows)
        head, _ = await store.head()
        result.update(events=head, sealed_at=seal.position)
        sealed = [await _timed_start(store, "since_seal", capacity) for _ in range(3)]
        full = [await _timed_start(store, "chain", capacity) for _ in range(2)]
        result["sealed_start_s"] = round(min(s for s, _ in sealed), 4)
        result["sealed_verified"] = sealed[0][1]
        result["full_start_s"] = round(min(s for s, _ in full), 4)
        result["full_verified"] = full[0][1]
        result["full_over_sealed"] = round(result["full_start_s"] / result["sealed_start_s"], 1)
        if path is not None:
            result["sqlite_bytes_per_event"] = round(_file_bytes(path) / head, 1)
        else:
            events, keys = await postgres_bytes(store)
            result["postgres_bytes_per_event"] = round((events + keys) / head, 1)
            result["postgres_event_keys_bytes_per_event"] = round(keys / head, 1)
        if measure_archive:
            began = time.perf_counter()
            entry = await archive_before(store, archive_dir, head + 1)
            took = time.perf_counter() - began
            file_size = (archive_dir / entry.file_name).stat().st_size
            result["archive_bytes_per_event"] = round(file_size / entry.event_count, 1)
            result["archive_events_per_s"] = round(entry.event_count / took)
            after = [await _timed_start(store, "since_seal", capacity) for _ in range(2)]
            result["sealed_start_after_archive_s"] = round(min(s for s, _ in after), 4)
            began = time.perf_counter()
            await restore_archive(store, archive_dir / entry.file_name)
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
              capacity: int, archive: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": sizes, "tail_after_seal": tail, "sqlite": [],
                           "postgres": [], "completed_in_memory": capacity}
    with tempfile.TemporaryDirectory(prefix="sealed-bench-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"j{size}.db"
            folder = Path(tmp) / f"a{size}"
            folder.mkdir()
            out["sqlite"].append(await one_journal(
                f"sqlite+aiosqlite:///{path}", str(path), size, tail, folder,
                measure_archive=archive and size == max(sizes), capacity=capacity))
            path.unlink()
        if pg_base:
            for size in pg_sizes:
                name = f"oms_bench_{uuid.uuid4().hex[:10]}"
                url = await _pg_database(pg_base, name, create=True)
                folder = Path(tmp) / f"pa{size}"
                folder.mkdir()
                try:
                    out["postgres"].append(await one_journal(
                        url, None, size, tail, folder,
                        measure_archive=archive and size == max(pg_sizes), capacity=capacity))
                finally:
                    await _pg_database(pg_base, name, create=False)
    for kind in ("sqlite", "postgres"):
        rows = out[kind]
        if len(rows) >= 2:
            out[f"{kind}_sealed_largest_over_smallest"] = round(
                rows[-1]["sealed_start_s"] / rows[0]["sealed_start_s"], 2)
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
    args = parser.parse_args()
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
                             not args.no_archive))
    result["mode"] = "short" if args.short else "full"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
