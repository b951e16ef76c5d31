"""Child process for the multi-process and durability tests (not collected by pytest).

``writers URL PROC APPENDERS COUNT``: APPENDERS coroutines each append COUNT single events to
their own stream ``p{PROC}-a{i}``, then print DONE.
``ack URL``: append forever, printing each acknowledged event id after ``append`` returns.
``full URL``: cap this process's file size (RLIMIT_FSIZE) just above the database, append
3-event batches of 20 kB events until an append fails, print ``ERR <type>: <message>``.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sys

from eventstore import NO_STREAM, EventStore, NewEvent


async def writers(url: str, proc: int, appenders: int, count: int) -> None:
    async with await EventStore.open(url, create=False) as store:

        async def one(i: int) -> None:
            for n in range(count):
                expected = n - 1 if n else NO_STREAM
                await store.append(f"p{proc}-a{i}", [NewEvent("E", {"n": n})], expected)

        await asyncio.gather(*(one(i) for i in range(appenders)))
    print("DONE", flush=True)


async def ack(url: str) -> None:
    async with await EventStore.open(url, create=False) as store:
        n = 0
        while True:
            batch = [NewEvent("E", {"n": n}), NewEvent("F", {"n": n})]
            await store.append(f"k{n % 4}", batch)
            print(" ".join(str(e.event_id) for e in batch), flush=True)
            n += 1


def cap_file_size(url: str) -> None:
    """Let files grow only ~400 kB past the database's current size (a full disk)."""
    path = url.split("///", 1)[1]
    sizes = [os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write(), not a signal
    cap = max(sizes) + 400_000
    resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))


async def full(url: str) -> None:
    async with await EventStore.open(url, create=False) as store:
        for n in range(10_000):
            batch = [NewEvent("Big", {"n": n, "k": k, "pad": "x" * 20_000}) for k in range(3)]
            try:
                await store.append(f"b{n % 2}", batch)
            except Exception as exc:
                print(f"ERR {type(exc).__name__}: {exc}", flush=True)
                return
    print("NEVER FULL", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "writers":
        asyncio.run(writers(sys.argv[2], *map(int, sys.argv[3:6])))
    elif mode == "ack":
        asyncio.run(ack(sys.argv[2]))
    else:
        cap_file_size(sys.argv[2])
        asyncio.run(full(sys.argv[2]))
