"""Follow the OMS's live event feed from another process: ZeroMQ and NATS JetStream.

    python examples/feed_subscriber.py                      # self-contained demo (a few s)
    python examples/feed_subscriber.py --zmq tcp://127.0.0.1:5557 --journal URL
    python examples/feed_subscriber.py --nats nats://127.0.0.1:4222 --stream OMS

Following a running service: ``--zmq`` prints every event from the journal's start (gaps,
e.g. while the relay restarts, are read from ``--journal``); ``--nats`` reads the JetStream
stream from its first message with an ordered consumer. Without arguments, the demo writes a
small journal, runs both relays in this process and checks each subscriber saw every event
once, in order (the NATS half needs a server on 127.0.0.1:4222 and says so when there is none).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import tempfile
import uuid
from pathlib import Path
from typing import Any

import nats

from eventstore import ANY, EventStore, NewEvent
from oms.feed import POSITION_HEADER, NatsRelay, SubjectNamer, ZmqRelay, ZmqSubscriber


async def follow_zmq(endpoint: str, store: EventStore, limit: int | None = None) -> list[int]:
    """Print events from the ZeroMQ feed (gap-filled from the journal); their positions."""
    positions: list[int] = []
    async for message in ZmqSubscriber(endpoint, store, from_position=1).messages():
        positions.append(message["position"])
        print(f"zmq  {message['position']:>6} {message['type']:<16} {message['stream']} "
              f"({message['source']})")
        if limit is not None and len(positions) >= limit:
            break
    return positions


async def follow_nats(url: str, stream: str, prefix: str = "oms",
                      limit: int | None = None) -> list[int]:
    """Print events from the JetStream stream, from its first message; their positions."""
    nc = await nats.connect(url)
    positions: list[int] = []
    try:
        js = nc.jetstream()
        subscription = await js.subscribe(f"{prefix}.>", stream=stream, ordered_consumer=True)
        async for message in subscription.messages:
            position = int(message.headers[POSITION_HEADER])
            positions.append(position)
            print(f"nats {position:>6} {message.subject}")
            if limit is not None and len(positions) >= limit:
                break
    finally:
        await nc.close()
    return positions


async def demo() -> None:
    """Journal 60 events, relay them both ways, check each subscriber got all, in order."""
    with tempfile.TemporaryDirectory() as tmp:
        store = await EventStore.open(f"sqlite+aiosqlite:///{Path(tmp) / 'journal.db'}")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        endpoint = f"tcp://127.0.0.1:{port}"
        account = "0x" + "ab" * 20
        stream = f"DEMO{uuid.uuid4().hex[:6].upper()}"
        tasks: list[asyncio.Task[Any]] = [asyncio.create_task(
            ZmqRelay(store, endpoint, namer=SubjectNamer("demo", account)).run())]
        nats_ok = await _nats_up()
        if nats_ok:
            namer = SubjectNamer(stream.lower(), account)
            tasks.append(asyncio.create_task(
                NatsRelay(store, "nats://127.0.0.1:4222", stream=stream, namer=namer).run()))
        zmq_task = asyncio.create_task(follow_zmq(endpoint, store, limit=60))
        for i in range(20):
            cid = uuid.uuid4().hex
            await store.append(f"order-{cid}", [
                NewEvent("OrderCreated", {"client_order_id": cid, "pair": "ETH"}),
                NewEvent("OrderAccepted", {"client_order_id": cid}),
                NewEvent("OrderFilled", {"client_order_id": cid, "trade_id": str(i)}),
            ], expected_version=ANY)
        zmq_positions = await asyncio.wait_for(zmq_task, 20)
        print(f"ZeroMQ: {len(zmq_positions)} events, in order: "
              f"{zmq_positions == list(range(1, 61))}")
        if nats_ok:
            nats_positions = await asyncio.wait_for(follow_nats(
                "nats://127.0.0.1:4222", stream, stream.lower(), limit=60), 20)
            print(f"NATS JetStream: {len(nats_positions)} events, in order: "
                  f"{nats_positions == list(range(1, 61))}")
            nc = await nats.connect("nats://127.0.0.1:4222")
            await nc.jetstream().delete_stream(stream)
            await nc.close()
        else:
            print("NATS JetStream: skipped (no server on 127.0.0.1:4222)")
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await store.close()


async def _nats_up() -> bool:
    try:
        nc = await nats.connect("nats://127.0.0.1:4222", connect_timeout=1,
                                max_reconnect_attempts=0)
    except Exception:
        return False
    await nc.close()
    return True


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zmq", help="the relay's ZeroMQ endpoint")
    parser.add_argument("--journal", help="the journal URL (ZeroMQ gap fill)")
    parser.add_argument("--nats", help="the NATS server URL")
    parser.add_argument("--stream", default="OMS", help="the JetStream stream")
    parser.add_argument("--prefix", default="oms", help="the subject prefix ([feed])")
    args = parser.parse_args()
    if args.zmq:
        if not args.journal:
            parser.error("--zmq needs --journal (to fill gaps)")
        async with await EventStore.open(args.journal, create=False) as store:
            await follow_zmq(args.zmq, store)
    elif args.nats:
        await follow_nats(args.nats, args.stream, args.prefix)
    else:
        await demo()


if __name__ == "__main__":
    asyncio.run(main())
