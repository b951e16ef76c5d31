"""The NATS JetStream relay: every journaled event exactly once, in order, across a SIGKILL of
the relay and a restart of the NATS server mid-stream (a private nats-server, own storage)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

import nats
from feed_helpers import ACCOUNT, NatsServer, Relay, append_orders, feed_config
from nats.js.api import ConsumerConfig, DeliverPolicy

from eventstore import EventStore
from oms.feed import POSITION_HEADER, Checkpoint


class LiveConsumer:
    """A durable pull consumer that keeps reading through server restarts; it applies each
    stream sequence once (a redelivery after a restart is recognised by its sequence)."""

    def __init__(self, url: str, stream: str) -> None:
        self.url, self.stream = url, stream
        self.positions: list[int] = []
        self.ids: list[str] = []
        self.subjects: list[str] = []
        self.redeliveries = 0
        self._last_seq = 0

    async def run(self) -> None:
        nc = await nats.connect(self.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream(timeout=3)
        subscription: Any = None
        try:
            while True:
                try:
                    if subscription is None:
                        subscription = await js.pull_subscribe(
                            f"oms.{ACCOUNT}.>", durable="test", stream=self.stream,
                            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
                    batch = await subscription.fetch(200, timeout=0.5)
                except asyncio.CancelledError:
                    raise
                except Exception:  # timeouts while idle, or the server restarting
                    await asyncio.sleep(0.1)
                    continue
                for message in batch:
                    seq = message.metadata.sequence.stream
                    if seq <= self._last_seq:
                        self.redeliveries += 1
                    else:
                        self._last_seq = seq
                        self.positions.append(int(message.headers[POSITION_HEADER]))
                        self.ids.append(message.headers["Nats-Msg-Id"])
                        self.subjects.append(message.subject)
                    with contextlib.suppress(Exception):
                        await message.ack()
        finally:
            with contextlib.suppress(Exception):
                await nc.close()


async def _stream_count(url: str, stream: str) -> int:
    nc = await nats.connect(url, max_reconnect_attempts=2)
    try:
        return int((await nc.jetstream().stream_info(stream)).state.messages)
    except Exception:
        return -1
    finally:
        await nc.close()


async def _wait(predicate: Any, limit_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not await predicate():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_jetstream_gets_every_event_once_across_relay_kill_and_nats_restart(
    tmp_path: Path,
) -> None:
    server = NatsServer(tmp_path)
    await server.start()
    db = tmp_path / "journal.db"
    store = await EventStore.open(f"sqlite+aiosqlite:///{db}")
    relay = Relay(feed_config(tmp_path, db, nats_url=server.url), tmp_path / "relay.err")
    consumer = LiveConsumer(server.url, "OMSTEST")
    consumer_task: asyncio.Task[None] | None = None
    try:
        await append_orders(store, 1000)  # 3,000 events
        await relay.start()
        consumer_task = asyncio.create_task(consumer.run())
        await _wait(lambda: _count_at_least(server.url, 300), 60, "the relay to publish")
        assert await relay.signal(signal.SIGKILL) == -signal.SIGKILL  # mid-stream
        published_before = await _stream_count(server.url, "OMSTEST")
        assert 0 < published_before < 3000, published_before

        await append_orders(store, 500)  # journaled while the relay is down
        await relay.start()
        await append_orders(store, 500)
        await _wait(lambda: _count_at_least(server.url, published_before + 500), 60, "progress")
        await server.stop()  # the NATS server goes away mid-stream ...
        await append_orders(store, 300)
        await asyncio.sleep(1.0)
        await server.start()  # ... and comes back with its storage
        head, _ = await store.head()
        await _wait(lambda: _count_at_least(server.url, head), 90, "every event in the stream")
        await _wait(lambda: _true(len(consumer.positions) >= head), 60, "the consumer")

        assert await _stream_count(server.url, "OMSTEST") == head  # stored exactly once
        assert consumer.positions == list(range(1, head + 1))  # each once, in journal order
        ids = [str(e.event_id) async for e in store.read_all()]
        assert consumer.ids == ids  # the message id is the event id
        assert f"oms.{ACCOUNT}.ETH.OrderCreated" in consumer.subjects
        assert f"oms.{ACCOUNT}.BTC.OrderFilled" in consumer.subjects

        assert "NATS relay: disconnected" in relay.log.read_text()  # it saw the outage
        assert await relay.signal(signal.SIGTERM) == 0
        assert await Checkpoint(store, "feed:nats:OMSTEST").load() == head
    finally:
        if consumer_task is not None:
            consumer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer_task
        if relay.proc is not None and relay.proc.returncode is None:
            relay.proc.kill()
            await relay.proc.wait()
        await store.close()
        await server.stop()


async def _count_at_least(url: str, n: int) -> bool:
    return await _stream_count(url, "OMSTEST") >= n


async def _true(value: bool) -> bool:
    return value
