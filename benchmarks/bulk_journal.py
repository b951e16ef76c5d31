"""Bulk journal generation for benchmarks: realistic order lifecycles, real chain hashes, fast.

Never through the engine (10M events through group commits would take hours): rows are made
here with the store's own ``chain_hash`` and written straight into ``events`` (SQLite:
``executemany`` on a connection of its own with generator-only pragmas; PostgreSQL: ``COPY``),
while the next batch is generated on the other core. Event ids are time-ordered (UUIDv7 layout,
as ``eventstore.ids`` makes them), so the ``event_id`` index is appended to at its right edge
as in production, not scattered as random UUIDs would be.

    rows = JournalGenerator(templates()).batches(1_000_000)   # lists of row tuples
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import orjson
from replay_bench import order_life

from eventstore.codec import GENESIS_HASH, chain_hash
from oms.domain import ClientOrderId, OrderState, encode
from oms.domain.order import step

TERMINAL = {OrderState.FILLED, OrderState.CANCELED, OrderState.FAILED}
COLUMNS = ("position", "stream_id", "version", "type", "event_version", "event_id", "data",
           "metadata", "recorded_at_us", "hash")
_TEMPLATES = 4000
_VARIANT = 1 << 63  # RFC 9562 variant bits "10" on top of 62 random bits
Template = tuple[str, list[tuple[str, int, bytes]]]


def templates(count: int = _TEMPLATES) -> list[Template]:
    """Order lifecycles encoded once; each generated order copies one with a new cloid.

    Only lifecycles that end (filled, canceled, rejected): a real account keeps a bounded number
    of orders open, and a generator that left 10% of all orders open forever would make the
    *state* (and so the snapshot) grow with history, which is not what is measured here.
    """
    rng, seq, out = random.Random(20), [0], []
    for i in range(count):
        cid = ClientOrderId.new(now_ns=1_700_000_000_000_000_000 + i)
        life = order_life(rng, cid, seq)
        record = None
        for ev in life:
            record = step(record, ev)
        if record is None or record.state not in TERMINAL:
            continue
        rows = []
        for ev in life:
            type_, data, version = encode(ev)
            rows.append((type_, version, orjson.dumps(data, option=orjson.OPT_SORT_KEYS)))
        out.append((str(cid), rows))
    return out


class JournalGenerator:
    """Rows chained from the genesis hash, position 1 on; keeps its place between calls."""

    def __init__(self, lifecycles: list[Template], seed: int = 20) -> None:
        self._templates = lifecycles
        self._rng = random.Random(seed)
        self.position, self.prev, self.order_no = 1, GENESIS_HASH, 0

    def rows(self, count: int, sqlite_ids: bool) -> list[tuple[Any, ...]]:
        """About ``count`` rows (whole orders). ``sqlite_ids``: event ids as SQLite stores them
        (32 hex characters), else as ``uuid.UUID`` for PostgreSQL's ``COPY``."""
        import uuid

        out: list[tuple[Any, ...]] = []
        append, bits, hash_ = out.append, self._rng.getrandbits, chain_hash
        position, prev, order_no = self.position, self.prev, self.order_no
        lifecycles = self._templates
        while len(out) < count:
            template_cid, lifecycle = lifecycles[order_no % len(lifecycles)]
            cid = f"{order_no:032x}"
            stream, old, new = f"order-{cid}", template_cid.encode(), cid.encode()
            for version, (type_, event_version, data) in enumerate(lifecycle):
                now_us = 1_700_000_000_000_000 + position
                ms, sub = divmod(now_us, 1000)
                hex_id = f"{ms:012x}7{(sub << 12) // 1000:03x}{_VARIANT | bits(62):016x}"
                dashed = (f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-"
                          f"{hex_id[20:]}")
                body = data.replace(old, new)
                prev = hash_(prev, position, stream, version, type_, event_version, dashed,
                             now_us, body, b"{}")
                append((position, stream, version, type_, event_version,
                        hex_id if sqlite_ids else uuid.UUID(hex_id), body, b"{}", now_us, prev))
                position += 1
            order_no += 1
        self.position, self.prev, self.order_no = position, prev, order_no
        return out


def sqlite_writer(path: str) -> sqlite3.Connection:
    """A connection for the generator only: no fsync, a large page cache (the data is thrown
    away with the benchmark; the engine's own connections keep their pragmas)."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")  # ~1 GB
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def insert_sqlite(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """One transaction of ``rows`` (as :meth:`JournalGenerator.rows` made them for SQLite)."""
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")


def pipelined(gen: JournalGenerator, total: int, batch: int, sqlite_ids: bool,
              write: Any) -> None:
    """Generate ``total`` rows in batches, writing batch k (``write(rows)``, in a thread: the
    drivers release the GIL) while batch k+1 is generated."""
    with ThreadPoolExecutor(1) as pool:
        pending: Future[None] | None = None
        for rows in batches(gen, total, batch, sqlite_ids):
            if pending is not None:
                pending.result()
            pending = pool.submit(write, rows)
        if pending is not None:
            pending.result()


def batches(gen: JournalGenerator, total: int, batch: int,
            sqlite_ids: bool) -> Iterator[list[tuple[Any, ...]]]:
    """``total``-odd rows from ``gen`` in lists of about ``batch``."""
    left = total
    while left > 0:
        rows = gen.rows(min(batch, left), sqlite_ids)
        left -= len(rows)
        yield rows
