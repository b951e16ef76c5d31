"""Child process for the multi-process and durability tests (not collected by pytest).

``writers URL PROC APPENDERS COUNT``: APPENDERS coroutines each append COUNT single events to
their own stream ``p{PROC}-a{i}``, then print DONE.
``ack URL``: append forever, printing each acknowledged event id after ``append`` returns.
"""

from __future__ import annotations

import asyncio
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


if __name__ == "__main__":
    if sys.argv[1] == "writers":
        asyncio.run(writers(sys.argv[2], *map(int, sys.argv[3:6])))
    else:
        asyncio.run(ack(sys.argv[2]))
