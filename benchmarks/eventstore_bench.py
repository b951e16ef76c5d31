"""Event store benchmark: our store vs the ``eventsourcing`` library vs raw ``sqlite3``.

Prints one JSON object with every figure and the ratios measured in this run:

- ``append_32``: 32 concurrent appenders, one 1-event append each, N in total, SQLite with full
  durability; eventsourcing saves one new aggregate per transaction from 32 threads.
- ``single_append_p50``: one uncontended append at a time vs a raw ``sqlite3`` one-row commit
  (WAL, synchronous=FULL, BEGIN IMMEDIATE).
- ``read_all``: reading the whole log with decoding (we touch ``.data``; eventsourcing maps
  each notification to a domain event).
- ``postgres_append_8``: 8 concurrent appenders on PostgreSQL (needs a server URL in
  ``--postgres-url``, ``OMS_BENCH_POSTGRES_URL`` or ``OMS_TEST_POSTGRES_URL``; skipped otherwise).
- ``postgres_cross_process_wake``: from an append in one store to a subscriber of another store
  on the same database (as another process would be), with LISTEN/NOTIFY vs polling alone.

Every figure is measured ``--repeat`` times (3 by default, 1 with ``--short``), each time on
fresh files with both sides back to back; the JSON reports the medians, the median of the
per-repetition ratios, and every ratio, because the machines this runs on are shared and noisy.

Usage: ``python benchmarks/eventstore_bench.py [--short] [--repeat N]`` (``--short`` is the CI
smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout as is

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from eventstore import NO_STREAM, EventStore, NewEvent

PAYLOAD = {"cloid": "0x1234567890abcdef", "px": "3012.5", "sz": "0.125", "side": "B"}


class Order(Aggregate):
    """The eventsourcing peer's aggregate: one event to create, more to note fills."""

    @event("Created")
    def __init__(self, cloid: str, px: str, sz: str, side: str) -> None:
        self.cloid, self.px, self.sz, self.side = cloid, px, sz, side

    @event("Filled")
    def fill(self, cloid: str, px: str, sz: str, side: str) -> None:
        self.px = px


def _es_app(env: dict[str, str]) -> Application:
    return Application(env=env)


# --- SQLite ---------------------------------------------------------------------------------

async def ours_append_32(url: str, total: int) -> float:
    async with await EventStore.open(url) as store:
        per = total // 32

        async def appender(a: int) -> None:
            for i in range(per):
                await store.append(f"o{a}-{i}", [NewEvent("Created", PAYLOAD)], NO_STREAM)

        start = time.perf_counter()
        await asyncio.gather(*(appender(a) for a in range(32)))
        return per * 32 / (time.perf_counter() - start)


def es_append(app: Application, total: int, threads: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: app.save(Order(**PAYLOAD)), range(total)))
    return total / (time.perf_counter() - start)


async def single_p50(url: str, raw_path: str, count: int) -> tuple[float, float]:
    """p50 of one uncontended append and of one raw sqlite3 commit, measured alternately so
    that noise from other processes on the machine hits both the same way."""
    raw = sqlite3.connect(raw_path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, stream TEXT, data BLOB)")
    blob = json.dumps(PAYLOAD).encode()
    ours_t, raw_t = [], []
    async with await EventStore.open(url) as store:
        for i in range(count):
            start = time.perf_counter()
            await store.append(f"single-{i}", [NewEvent("Created", PAYLOAD)], NO_STREAM)
            ours_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("INSERT INTO t (stream, data) VALUES (?, ?)", (f"s{i}", blob))
            raw.execute("COMMIT")
            raw_t.append(time.perf_counter() - start)
    raw.close()
    return statistics.median(ours_t) * 1e6, statistics.median(raw_t) * 1e6


async def ours_fill(url: str, total: int) -> None:
    async with await EventStore.open(url) as store:
        for b in range(0, total, 1000):
            n = min(1000, total - b)
            await store.append(f"bulk-{b}", [NewEvent("Filled", PAYLOAD) for _ in range(n)])


async def ours_read(url: str) -> tuple[int, float]:
    async with await EventStore.open(url) as store:
        start = time.perf_counter()
        count = 0
        async for ev in store.read_all():
            ev.data  # noqa: B018 - decoding is part of what is measured
            count += 1
        return count, count / (time.perf_counter() - start)


def es_fill(app: Application, total: int) -> None:
    for _ in range(0, total, 1000):
        agg = Order(**PAYLOAD)
        for _ in range(999):
            agg.fill(**PAYLOAD)
        app.save(agg)


def es_read(app: Application) -> tuple[int, float]:
    recorder: Any = app.recorder
    start, count, pos = time.perf_counter(), 0, 1
    while True:
        batch = recorder.select_notifications(pos, 10_000)
        for n in batch:
            app.mapper.to_domain_event(n)
        count += len(batch)
        if len(batch) < 10_000:
            break
        pos = batch[-1].id + 1
    return count, count / (time.perf_counter() - start)


# --- PostgreSQL ---------------------------------------------------------------------------------

async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def ours_pg_append_8(url: str, total: int) -> float:
    async with await EventStore.open(url) as store:
        per = total // 8

        async def appender(a: int) -> None:
            for i in range(per):
                await store.append(f"o{a}-{i}", [NewEvent("Created", PAYLOAD)], NO_STREAM)

        start = time.perf_counter()
        await asyncio.gather(*(appender(a) for a in range(8)))
        return per * 8 / (time.perf_counter() - start)


def postgres_once(base: str, total: int) -> tuple[float, float]:
    """One repetition on PostgreSQL: (ours per s, eventsourcing per s), fresh databases."""
    from sqlalchemy.engine import make_url

    name = f"oms_bench_{uuid.uuid4().hex[:10]}"
    es_name = name + "_es"
    for db in (name, es_name):
        asyncio.run(_pg_admin(base, f'CREATE DATABASE "{db}"'))
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        ours = asyncio.run(ours_pg_append_8(url, total))
        u = make_url(base)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": es_name,
            "POSTGRES_HOST": u.host or "127.0.0.1",
            "POSTGRES_PORT": str(u.port or 5432),
            "POSTGRES_USER": u.username or "postgres",
            "POSTGRES_PASSWORD": u.password or "",
            "POSTGRES_POOL_SIZE": "8",
        }
        app = _es_app(env)
        es = es_append(app, total, 8)
        app.close()
    finally:
        for db in (name, es_name):
            asyncio.run(_pg_admin(base, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    return ours, es


async def wake_latency_ms(url: str, count: int, listen: bool) -> tuple[float, float]:
    """p50 and p99 (ms) from an append's start in one store to the event reaching a subscriber
    of another store on the same database (two stores share nothing but the server, as two
    processes would); subscribers poll every 0.1 s, with or without LISTEN."""
    seen: dict[int, int] = {}
    arrived = asyncio.Event()
    rng = random.Random(1)
    async with (
        await EventStore.open(url) as writer,
        await EventStore.open(url, poll_interval=0.1, listen=listen) as reader,
    ):
        async def tail() -> None:
            async for ev in reader.subscribe():
                seen[ev.position] = time.perf_counter_ns()
                arrived.set()

        task = asyncio.create_task(tail())
        await asyncio.sleep(0.3)
        lat: list[float] = []
        for i in range(count):
            t0 = time.perf_counter_ns()
            pos = (await writer.append("w", [NewEvent("E", {"i": i})])).last_position
            async with asyncio.timeout(10):
                while pos not in seen:
                    arrived.clear()
                    await arrived.wait()
            lat.append((seen[pos] - t0) / 1e6)
            await asyncio.sleep(rng.uniform(0.001, 0.1))  # arrivals spread over a poll period
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    lat.sort()
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def postgres_wake(base: str, count: int) -> dict[str, Any]:
    """Cross-process wake-up latency on PostgreSQL: LISTEN/NOTIFY against polling alone."""
    from sqlalchemy.engine import make_url

    name = f"oms_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        listen = asyncio.run(wake_latency_ms(url, count, True))
        poll = asyncio.run(wake_latency_ms(url, count, False))
    finally:
        asyncio.run(_pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return {
        "events": count,
        "listen_notify_ms": {"p50": round(listen[0], 2), "p99": round(listen[1], 2)},
        "polling_only_ms": {"p50": round(poll[0], 2), "p99": round(poll[1], 2)},
        "ratio_p50": round(poll[0] / listen[0], 1),
    }


def summarise(
    samples: list[tuple[float, float]], names: tuple[str, str], digits: int, target: str
) -> dict[str, Any]:
    """Median of each side and median of the per-repetition ratios (each ratio comes from
    one repetition, where both sides ran back to back), plus every sample."""
    ours = statistics.median(a for a, _ in samples)
    peer = statistics.median(b for _, b in samples)
    ratios = [a / b for a, b in samples]

    def shown(x: float) -> float:
        return round(x, digits) if digits else round(x)

    return {
        names[0]: shown(ours),
        names[1]: shown(peer),
        "ratio": round(statistics.median(ratios), 2),
        "ratios": [round(r, 2) for r in ratios],
        "target_ratio": target,
    }


def sqlite_once(tmp: str, rep: int, counts: tuple[int, int, int]) -> dict[str, tuple[float, ...]]:
    """One repetition of every SQLite figure, each on fresh database files."""
    n_append, n_single, n_read = counts

    def url(name: str) -> str:
        return f"sqlite+aiosqlite:///{tmp}/{name}-{rep}.db"

    def es_env(name: str) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": f"{tmp}/{name}-{rep}",
        }

    ours = asyncio.run(ours_append_32(url("append"), n_append))
    app = _es_app(es_env("es-append.db"))
    es = es_append(app, n_append, 32)
    app.close()
    single = asyncio.run(single_p50(url("single"), f"{tmp}/raw-{rep}.db", n_single))
    asyncio.run(ours_fill(url("read"), n_read))
    count, ours_rate = asyncio.run(ours_read(url("read")))
    app = _es_app(es_env("es-read.db"))
    es_fill(app, n_read)
    es_count, es_rate = es_read(app)
    app.close()
    assert count == es_count == n_read, (count, es_count, n_read)
    return {"append": (ours, es), "single": single, "read": (ours_rate, es_rate)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="small counts for CI (< 60 s)")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument(
        "--repeat", type=int, default=None,
        help="repetitions per figure; the median is reported (default 3, 1 with --short)",
    )
    args = parser.parse_args()
    reps = args.repeat or (1 if args.short else 3)
    n_append = 3_200 if args.short else 50_000
    n_single = 300 if args.short else 2_000
    n_read = 20_000 if args.short else 200_000
    n_pg = 1_600 if args.short else 20_000
    pg = (
        args.postgres_url
        or os.environ.get("OMS_BENCH_POSTGRES_URL")
        or os.environ.get("OMS_TEST_POSTGRES_URL")
    )
    out: dict[str, Any] = {
        "mode": "short" if args.short else "full",
        "repetitions": reps,
        "method": "each figure is the median of the repetitions; each ratio is the median of "
        "per-repetition ratios, both sides measured back to back in that repetition",
    }
    with tempfile.TemporaryDirectory(prefix="es-bench-") as tmp:
        runs = [sqlite_once(tmp, rep, (n_append, n_single, n_read)) for rep in range(reps)]
    out["append_32"] = {
        "appends": n_append,
        **summarise([r["append"] for r in runs], ("ours_per_s", "eventsourcing_per_s"), 0, ">= 10"),
    }
    out["single_append_p50"] = {
        "appends": n_single,
        **summarise([r["single"] for r in runs], ("ours_us", "raw_sqlite3_us"), 1, "<= 2"),
    }
    out["read_all"] = {
        "events": n_read,
        **summarise([r["read"] for r in runs], ("ours_per_s", "eventsourcing_per_s"), 0, ">= 2"),
    }
    if pg:
        samples = [postgres_once(pg, n_pg) for _ in range(reps)]
        out["postgres_append_8"] = {
            "appends": n_pg,
            **summarise(samples, ("ours_per_s", "eventsourcing_per_s"), 0, ">= 3"),
        }
        out["postgres_cross_process_wake"] = postgres_wake(pg, 50 if args.short else 300)
    else:
        out["postgres_append_8"] = {"skipped": "no PostgreSQL URL (--postgres-url)"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
