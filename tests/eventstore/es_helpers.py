"""Helpers shared by the event store tests (raw SQL edits for tamper tests, subprocess env)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from eventstore import EventStore, NewEvent

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def subprocess_env() -> dict[str, str]:
    """Environment for child Pythons: the repo importable whatever the install state."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


PYTHON = sys.executable


async def sql(store: EventStore, statement: str, **params: Any) -> None:
    """Run one raw statement in its own transaction through the store's public engine."""
    async with store.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def fill(store: EventStore, count: int, streams: int = 3) -> None:
    """Append ``count`` single-event appends spread round-robin over ``streams`` streams."""
    for i in range(count):
        await store.append(f"s{i % streams}", [NewEvent("E", {"i": i})])
