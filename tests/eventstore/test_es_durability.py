"""Guarantee 1 under failure: a killed writer loses nothing acknowledged; a full disk writes
nothing partial and the error reaches the caller."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from uuid import UUID

import pytest
from es_helpers import HERE, PYTHON, subprocess_env

from eventstore import EventStore, NewEvent


async def _create(url: str) -> None:
    async with await EventStore.open(url):
        pass


async def test_everything_acknowledged_survives_sigkill(store_url: str) -> None:
    await _create(store_url)
    child = await asyncio.create_subprocess_exec(
        PYTHON, str(HERE / "es_writer_proc.py"), "ack", store_url,
        stdout=subprocess.PIPE, env=subprocess_env(),
    )
    assert child.stdout is not None
    acked: list[UUID] = []
    try:
        while len(acked) < 60:
            line = await asyncio.wait_for(child.stdout.readline(), 30)
            assert line, "writer exited early"
            acked += [UUID(x) for x in line.decode().split()]
    finally:
        child.send_signal(signal.SIGKILL)  # no clean shutdown, mid-append most likely
        rest, _ = await child.communicate()
    for line in rest.decode().splitlines():  # printed before the kill: acknowledged too
        if len(line.split()) == 2:
            acked += [UUID(x) for x in line.split()]
    async with await EventStore.open(store_url) as store:
        events = [e async for e in store.read_all()]
        stored = {e.event_id for e in events}
        assert set(acked) <= stored
        assert [e.position for e in events] == list(range(1, len(events) + 1))
        assert [e.type for e in events] == ["E", "F"] * (len(events) // 2)  # no half batch
        assert (await store.verify()).ok


async def test_a_full_disk_fails_the_append_and_leaves_no_partial_batch(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'full.db'}"
    await _create(url)
    proc = await asyncio.create_subprocess_exec(
        PYTHON, str(HERE / "es_writer_proc.py"), "full", url,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env(),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert text.startswith("ERR "), (text, err.decode()[-2000:])
    assert "full" in text or "I/O" in text, text
    async with await EventStore.open(url) as store:
        events = [e async for e in store.read_all()]
        assert len(events) % 3 == 0 and len(events) >= 3
        assert [e.data["k"] for e in events] == [0, 1, 2] * (len(events) // 3)
        assert (await store.verify()).ok


async def test_a_lost_postgres_connection_fails_the_append_and_then_recovers(
    postgres_url: str,
) -> None:
    from sqlalchemy import text

    async with await EventStore.open(postgres_url) as store:
        await store.append("s", [NewEvent("E", {"i": 0})])
        async with store.engine.connect() as conn:  # kill every other session of this database
            await conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))
        with pytest.raises(Exception) as info:
            await store.append("s", [NewEvent("E", {"i": 1}), NewEvent("E", {"i": 2})])
        assert not isinstance(info.value, AssertionError)
        res = await store.append("s", [NewEvent("E", {"i": 3})])  # reconnects
        events = [e async for e in store.read_all()]
        assert [e.data["i"] for e in events] == [0, 3]  # the failed batch left nothing
        assert res.last_position == 2 and (await store.verify()).ok
