"""The ZeroMQ relay: a subscriber gets every event once, in order, across a relay SIGKILL
(what it misses on the wire it reads from the journal, found by the positions)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

from feed_helpers import Relay, append_orders, feed_config, free_port

from eventstore import EventStore
from oms.feed import ZmqSubscriber


async def _wait(predicate: Any, limit_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_zmq_subscriber_gets_every_event_once_across_a_relay_kill(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    store = await EventStore.open(f"sqlite+aiosqlite:///{db}")
    reader = await EventStore.open(f"sqlite+aiosqlite:///{db}")  # the subscriber's own
    relay = Relay(feed_config(tmp_path, db, zmq_endpoint=endpoint), tmp_path / "relay.err")
    subscriber = ZmqSubscriber(endpoint, reader, from_position=1, idle_catch_up_s=0.5)
    received: list[dict[str, Any]] = []

    async def consume() -> None:
        async for message in subscriber.messages():
            received.append(message)

    task = asyncio.create_task(consume())
    try:
        await relay.start()
        await asyncio.sleep(0.5)  # let the SUB socket connect (ZeroMQ's slow joiner)
        for _ in range(5):
            await append_orders(store, 40)
            await asyncio.sleep(0.05)
        await _wait(lambda: len(received) >= 300, 30, "live messages")
        assert await relay.signal(signal.SIGKILL) == -signal.SIGKILL
        await append_orders(store, 200)  # nobody publishes these
        await relay.start()
        await asyncio.sleep(0.3)
        await append_orders(store, 200)
        head, _ = await store.head()
        await _wait(lambda: subscriber.next_position > head, 30, "every event")

        positions = [m["position"] for m in received]
        assert positions == list(range(1, head + 1))  # each once, in journal order
        assert subscriber.live > 0 and subscriber.from_journal > 0  # both paths were used
        ids = [str(e.event_id) async for e in store.read_all()]
        assert [m["event_id"] for m in received] == ids
        assert {m["type"] for m in received} == {"OrderCreated", "OrderAccepted", "OrderFilled"}
        assert await relay.signal(signal.SIGTERM) == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if relay.proc is not None and relay.proc.returncode is None:
            relay.proc.kill()
            await relay.proc.wait()
        await reader.close()
        await store.close()
