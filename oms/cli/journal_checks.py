"""Cheap integrity checks for the query commands (``orders``, ``positions``, ``history``).

A query must not present tampered or truncated data as if it were fine, yet it should not
recompute the whole chain every time (``oms audit verify`` does that). So each query compares the
journal with its anchor file (head behind it, or a different hash at the anchored position:
reads two rows), and ``history`` also recomputes the chain link of every event it shows (one
extra row read per event). Any problem is printed after the output as one ``error:`` line and
the command exits 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from sqlalchemy.engine import URL

from eventstore import (
    AnchorUnreadable,
    EventStore,
    RecordedEvent,
    compare_anchor,
    default_anchor_path,
    read_anchor,
)
from eventstore.codec import GENESIS_HASH
from eventstore.verify import verify_chain
from oms.cli.errors import CliError


async def anchor_problem(
    store: EventStore, url: URL, anchor_file: Path | None = None
) -> str | None:
    """Why the journal does not match its anchor file (default: beside a SQLite journal)."""
    path = anchor_file or default_anchor_path(url)
    if path is None:
        return None
    try:
        anchor = await asyncio.to_thread(read_anchor, path)
    except AnchorUnreadable as exc:
        return str(exc)
    if anchor is None:
        return None
    problem = await compare_anchor(store, anchor)
    return None if problem is None else f"{problem} (anchor file {path})"


async def _one(ev: RecordedEvent) -> AsyncIterator[list[RecordedEvent]]:
    yield [ev]


async def rows_problem(store: EventStore, events: Sequence[RecordedEvent]) -> str | None:
    """Recompute the chain link of each event (from the stored hash of the row before it)."""
    for ev in events:
        previous = GENESIS_HASH
        if ev.position > 1:
            before = [e async for e in store.read_all(ev.position - 1, ev.position - 1)]
            if not before:
                return f"position {ev.position - 1} is missing from the journal"
            previous = before[0].hash
        report = await verify_chain(_one(ev), None, ev.position, previous)
        if not report.ok:
            return f"position {report.first_bad_position}: {report.reason}"
    return None


def fail_if(problem: str | None) -> None:
    """Raise the one-line failure for a problem found after the output was printed."""
    if problem is not None:
        raise CliError(
            f"the journal does not check out: {problem}; the values shown may be wrong: "
            "run `oms audit verify`"
        )
