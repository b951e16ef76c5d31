"""PostgreSQL: subscribers of another process are woken by NOTIFY, and survive losing LISTEN.

Two ``EventStore`` objects on one database stand for two processes: they share no memory, only
the server. The subscriber's poll interval is 30 s, so anything it sees within a few seconds was
delivered by the notification, not by polling.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from eventstore import EventStore, NewEvent, RecordedEvent
from eventstore.postgres_backend import LISTENER_APPLICATION_NAME


async def _tail(
    store: EventStore, seen: list[RecordedEvent], want: int, done: asyncio.Event
) -> None:
    async for ev in store.subscribe():
        seen.append(ev)
        if len(seen) >= want:
            done.set()


async def test_another_process_commit_wakes_a_subscriber_at_once(postgres_url: str) -> None:
    async with (
        await EventStore.open(postgres_url) as writer,
        await EventStore.open(postgres_url, poll_interval=30) as reader,
    ):
        seen: list[RecordedEvent] = []
        first, second = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(_tail(reader, seen, 1, first))
        await asyncio.sleep(0.3)  # parked in its 30 s wait, LISTENing
        await writer.append("s", [NewEvent("E", {"i": 0})])
        await asyncio.wait_for(first.wait(), 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        assert [e.position for e in seen] == [1]

        again: list[RecordedEvent] = []  # a new subscription: catch-up, then live again
        task = asyncio.create_task(_tail(reader, again, 3, second))
        await asyncio.sleep(0.3)
        for i in (1, 2):
            await writer.append("s", [NewEvent("E", {"i": i})])
        await asyncio.wait_for(second.wait(), 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert [e.position for e in again] == [1, 2, 3]


async def test_a_killed_listener_connection_is_replaced_and_nothing_is_missed(
    postgres_url: str,
) -> None:
    async with (
        await EventStore.open(postgres_url) as writer,
        await EventStore.open(postgres_url, poll_interval=30) as reader,
    ):
        seen: list[RecordedEvent] = []
        done = asyncio.Event()
        task = asyncio.create_task(_tail(reader, seen, 3, done))
        await asyncio.sleep(0.3)
        await writer.append("s", [NewEvent("E", {"i": 0})])
        async with writer.engine.connect() as conn:
            killed = (await conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = :name"
            ), {"name": LISTENER_APPLICATION_NAME})).scalar_one()
        assert killed == 1
        await asyncio.sleep(0.5)  # the loss wakes the subscriber, which LISTENs again
        for i in (1, 2):
            await writer.append("s", [NewEvent("E", {"i": i})])
        await asyncio.wait_for(done.wait(), 5)  # far below the 30 s poll: notified again
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert [e.position for e in seen] == [1, 2, 3]


async def test_listen_false_keeps_subscribers_on_polling(postgres_url: str) -> None:
    """For PgBouncer in transaction mode (no LISTEN): no listener connection, polling delivers."""
    async with (
        await EventStore.open(postgres_url) as writer,
        await EventStore.open(postgres_url, poll_interval=0.05, listen=False) as reader,
    ):
        seen: list[RecordedEvent] = []
        done = asyncio.Event()
        task = asyncio.create_task(_tail(reader, seen, 2, done))
        await writer.append("s", [NewEvent("E", {"i": 0}), NewEvent("E", {"i": 1})])
        await asyncio.wait_for(done.wait(), 5)
        async with writer.engine.connect() as conn:
            listeners = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = :name"
            ), {"name": LISTENER_APPLICATION_NAME})).scalar_one()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert listeners == 0
        assert [e.position for e in seen] == [1, 2]
