"""The event feed: throughput and end-to-end latency (journal append → subscriber) for NATS
JetStream and ZeroMQ, each against a peer measured in the same run.

- throughput: the relay publishes N already-journaled events (read from the journal, subject
  lookup, publish; JetStream: pipelined, chained, acked, plus the checkpoint) until the
  subscriber has them all (ZeroMQ, both sides: timed from the first delivery to the last);
  peer: the same N message bodies sent by a bare client (JetStream: pipelined acked
  publishes, and one ack at a time; ZeroMQ: bare PUB sends), no journal.
- latency: one event appended every ``pace`` ms (each append awaited: durable), timed from
  before ``append`` to its arrival at the subscriber; peer: a bare ``EventStore.subscribe`` in
  the same process (the journal's own notification path, no message system).

Relay, writer and subscribers share one process and event loop (as inside ``oms run``), on a
SQLite journal in a temporary folder. NATS: the server at ``--nats`` (default the local
127.0.0.1:4222), with a stream of this run's own that is deleted at the end; when no server
answers, the NATS rows are skipped with the reason.

    python benchmarks/feed_bench.py [--short] [--nats nats://127.0.0.1:4222]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats
import zmq
import zmq.asyncio

from eventstore import ANY, EventStore, NewEvent
from oms.feed import NatsRelay, SubjectNamer, ZmqRelay, body, parse

ACCOUNT = "0x00000000000000000000000000000000000000b1"


def _event(i: int) -> NewEvent:
    return NewEvent("OrderFilled", {"client_order_id": f"{i:032x}", "trade_id": str(i),
                                    "price": "3000.5", "amount": "0.01", "at_ns": time.time_ns()})


async def _journal(store: EventStore, n: int) -> None:
    for start in range(0, n, 500):
        events = [_event(i) for i in range(start, min(start + 500, n))]
        await store.append(f"bench-{start}", events, expected_version=ANY)


def _pcts(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1e3, 3),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1e3, 3), "n": len(ordered)}


async def _latency(store: EventStore, count: int, pace_s: float, received: dict[int, float],
                   ) -> list[float]:
    """Append ``count`` events one by one; the latency of each, once received."""
    sent: dict[int, float] = {}
    for i in range(count):
        began = time.perf_counter()
        result = await store.append(f"lat-{uuid.uuid4().hex[:8]}", [_event(i)],
                                    expected_version=ANY)
        sent[result.last_position] = began
        await asyncio.sleep(pace_s)
    for _ in range(200):
        if all(p in received for p in sent):
            break
        await asyncio.sleep(0.05)
    return [received[p] - sent[p] for p in sent if p in received]


async def _direct_peer(store: EventStore, count: int, pace_s: float) -> dict[str, float]:
    head, _ = await store.head()
    received: dict[int, float] = {}

    async def follow() -> None:
        async for recorded in store.subscribe(from_position=head + 1):
            received[recorded.position] = time.perf_counter()

    task = asyncio.create_task(follow())
    samples = await _latency(store, count, pace_s, received)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return _pcts(samples)


async def _zmq(folder: Path, n: int, lat_n: int, pace_s: float) -> dict[str, Any]:
    store = await EventStore.open(f"sqlite+aiosqlite:///{folder / 'zmq.db'}")
    context = zmq.asyncio.Context.instance()
    with socket.socket() as probe:  # a free port (a ZeroMQ probe would hold it a while)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"tcp://127.0.0.1:{port}"
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt_string(zmq.SUBSCRIBE, "")
    sub.connect(endpoint)
    await _journal(store, n)
    # PUB drops what it sends before the subscriber's connection is up: the relay waits a
    # second after binding, then publishes the N journaled events (timed first to last).
    relay = ZmqRelay(store, endpoint, namer=SubjectNamer("bench", ACCOUNT), from_position=1,
                     high_water_mark=0, settle_s=1.0)
    received: dict[int, float] = {}

    async def listen() -> None:
        while True:
            _, raw = await sub.recv_multipart()
            received[parse(raw)["position"]] = time.perf_counter()

    listener = asyncio.create_task(listen())
    relay_task = asyncio.create_task(relay.run())
    deadline = time.monotonic() + 120
    while len(received) < n and time.monotonic() < deadline:
        if relay_task.done():
            relay_task.result()  # raises what stopped the relay
        await asyncio.sleep(0.01)
    if len(received) < n:
        raise RuntimeError(f"ZeroMQ subscriber got {len(received)} of {n} events "
                           f"(relay at {relay.position}, {relay.published} sent)")
    times = sorted(received.values())
    relay_rate = (n - 1) / (times[-1] - times[0])  # first to last delivery
    latency = _pcts(await _latency(store, lat_n, pace_s, received))
    relay_task.cancel()
    listener.cancel()
    for task in (relay_task, listener):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # Peer: the same bodies from a bare PUB socket (no journal read, no subject lookup).
    bodies = [body(e) async for e in store.read_all(1, n)]
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    peer_port = pub.bind_to_random_port("tcp://127.0.0.1")
    sub2 = context.socket(zmq.SUB)
    sub2.setsockopt(zmq.RCVHWM, 0)
    sub2.setsockopt_string(zmq.SUBSCRIBE, "")
    sub2.connect(f"tcp://127.0.0.1:{peer_port}")
    await asyncio.sleep(1.0)  # the slow joiner again
    arrivals: list[float] = []

    async def drain() -> None:
        while len(arrivals) < n:
            await sub2.recv_multipart()
            arrivals.append(time.perf_counter())

    drainer = asyncio.create_task(drain())
    for raw in bodies:
        await pub.send_multipart([b"bench", raw])
    await asyncio.wait_for(drainer, 120)
    peer_rate = (n - 1) / (arrivals[-1] - arrivals[0])
    direct = await _direct_peer(store, lat_n, pace_s)
    for sock in (sub, sub2, pub):
        sock.close(0)
    await store.close()
    return {"events": n, "relay_events_per_s": round(relay_rate),
            "bare_pub_events_per_s": round(peer_rate),
            "ratio_relay_to_bare": round(relay_rate / peer_rate, 3),
            "latency_append_to_subscriber": latency,
            "latency_peer_direct_journal_subscribe": direct,
            "latency_p50_ratio_to_direct": round(latency["p50_ms"] / direct["p50_ms"], 2)}


async def _nats(folder: Path, url: str, n: int, lat_n: int, pace_s: float) -> dict[str, Any]:
    try:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    except Exception as exc:
        return {"skipped": f"no NATS server at {url} ({type(exc).__name__})"}
    js = nc.jetstream(timeout=5)
    stream = f"BENCH{uuid.uuid4().hex[:8].upper()}"
    store = await EventStore.open(f"sqlite+aiosqlite:///{folder / 'nats.db'}")
    namer = SubjectNamer(stream.lower(), ACCOUNT)
    try:
        await _journal(store, n)
        relay = NatsRelay(store, url, stream=stream, namer=namer)
        received: dict[int, float] = {}

        async def on_message(message: Any) -> None:
            received[int(message.headers["Oms-Position"])] = time.perf_counter()

        began = time.perf_counter()
        relay_task = asyncio.create_task(relay.run())
        while relay.published < 1:  # noqa: ASYNC110 - the relay has no event to await
            await asyncio.sleep(0.005)
        # A core-NATS subscription on the stream's subjects: the live feed.
        subscription = await nc.subscribe(namer.wildcard, cb=on_message)
        deadline = time.monotonic() + 300
        while relay.position < n and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if relay.position < n:
            raise RuntimeError(f"the NATS relay reached position {relay.position} of {n}")
        relay_rate = n / (time.perf_counter() - began)
        latency = _pcts(await _latency(store, lat_n, pace_s, received))
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        await subscription.unsubscribe()
        # Peers: the same bodies published by a bare JetStream client (no journal, no
        # checkpoint), pipelined like the relay (256 acks outstanding) and one ack at a time.
        bodies = [body(e) async for e in store.read_all(1, n)]
        peer_stream = stream + "P"
        await js.add_stream(name=peer_stream, subjects=[f"{peer_stream.lower()}.>"])
        began = time.perf_counter()
        window: list[Any] = []
        for i, raw in enumerate(bodies):
            window.append(await js.publish_async(f"{peer_stream.lower()}.x", raw,
                                                 headers={"Nats-Msg-Id": f"a{i}"}))
            if len(window) >= 256:
                await window.pop(0)
        await asyncio.gather(*window)
        peer_rate = n / (time.perf_counter() - began)
        began = time.perf_counter()
        for i, raw in enumerate(bodies):
            await js.publish(f"{peer_stream.lower()}.y", raw, headers={"Nats-Msg-Id": f"s{i}"})
        sequential_rate = n / (time.perf_counter() - began)
        await js.delete_stream(peer_stream)
        direct = await _direct_peer(store, lat_n, pace_s)
        return {"events": n, "relay_events_per_s": round(relay_rate),
                "bare_jetstream_pipelined_events_per_s": round(peer_rate),
                "bare_jetstream_sequential_events_per_s": round(sequential_rate),
                "ratio_relay_to_bare": round(relay_rate / peer_rate, 3),
                "latency_append_to_subscriber": latency,
                "latency_peer_direct_journal_subscribe": direct,
                "latency_p50_ratio_to_direct": round(latency["p50_ms"] / direct["p50_ms"], 2)}
    finally:
        with contextlib.suppress(Exception):
            await js.delete_stream(stream)
        await nc.close()
        await store.close()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    n, lat_n = (500, 50) if args.short else (20_000, 1000)
    pace_s = 0.002
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        return {"benchmark": "feed", "short": args.short,
                "zeromq": await _zmq(folder, n, lat_n, pace_s),
                "nats_jetstream": await _nats(folder, args.nats, n, lat_n, pace_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="small run (CI smoke test)")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
