"""Which strategy placed which order, journaled so that it survives a restart.

The domain's orders carry no owner, so the service keeps its own stream in the same journal,
``strategy-orders-<account>``: one ``StrategyOrders`` event per strategy and flush, with data
``{"strategy": NAME, "client_order_ids": [...], "at_ns": ...}``. On start the service reads it
back and gives each strategy its orders that are still active (:meth:`OwnershipLog.load`), so a
strategy's ``ctx.open_orders()`` shows what it placed before a crash and their events reach it.
Each start then journals a ``StrategyOrdersCheckpoint`` (every active order's owner) and its
version in ``<stream>-checkpoint``, so the next start reads only from there.

Ordering (why a crash never leaves an order without its owner record): :meth:`OwnershipLog.record`
is called in the same synchronous stretch as the engine command that journals the order, and
schedules the ownership append at once. The engine's journal writer is a separate task that
hands the order's events to the store only in a later step (it appends through tasks of its
own), and asyncio runs ready callbacks first-in first-out, so the ownership append reaches the
store's single group-commit writer first. That writer commits in arrival order: the owner
record is durable in the same transaction as the order's creation or an earlier one, before
anything is sent. ``tests/service/test_service_ownership.py`` checks this on the journal (every
owned order's record has a lower global position than its ``OrderCreated``).

Example::

    owners = OwnershipLog(store, "strategy-orders-0xabc")
    owners.record("mm", [cid])                  # right after ctx.buy(...) placed cid
    mine = await owners.load({cid})             # after a restart: {cid: "mm"}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from eventstore import ANY, EventStore, NewEvent

log = logging.getLogger("oms.service.ownership")

OWNERSHIP_EVENT = "StrategyOrders"
CHECKPOINT_EVENT = "StrategyOrdersCheckpoint"
POINTER_EVENT = "StrategyOrdersCheckpointAt"
OWNERSHIP_STREAM_PREFIX = "strategy-orders-"


def ownership_stream(account: str) -> str:
    """The ownership stream of one account."""
    return f"{OWNERSHIP_STREAM_PREFIX}{account}"


class OwnershipLog:
    """Appends ``(strategy, client order ids)`` records and reads them back on start."""

    def __init__(self, store: EventStore, stream: str,
                 on_failure: Callable[[str], None] | None = None) -> None:
        self._store = store
        self.stream = stream
        self._pointer = f"{stream}-checkpoint"
        self._on_failure = on_failure
        self._pending: dict[str, list[str]] = {}
        self._flush_started = True
        self._tasks: set[asyncio.Task[None]] = set()
        self.recorded = 0
        """Client order ids journaled as owned in this run."""

    def record(self, strategy: str, client_order_ids: Iterable[str]) -> None:
        """Journal that ``strategy`` placed these orders (never blocks; see the module doc)."""
        ids = [str(c) for c in client_order_ids if c]
        if not ids:
            return
        self._pending.setdefault(strategy, []).extend(ids)
        if self._flush_started:  # no flush is waiting to run: schedule one now
            self._flush_started = False
            task = asyncio.get_running_loop().create_task(self._write(), name="oms-ownership")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write(self) -> None:
        # The first step runs before the engine's journal appends its next batch: take
        # everything recorded so far and hand it to the store's writer without awaiting first.
        self._flush_started = True
        pending, self._pending = self._pending, {}
        now = time.time_ns()
        events = [NewEvent(OWNERSHIP_EVENT, {"strategy": name, "client_order_ids": ids,
                                             "at_ns": now})
                  for name, ids in pending.items()]
        try:
            await self._store.append(self.stream, events, expected_version=ANY)
        except Exception as exc:
            count = sum(len(ids) for ids in pending.values())
            log.error("could not journal the owners of %d orders (%s): after a restart they "
                      "are managed by the engine but not given back to their strategy",
                      count, exc)
            if self._on_failure is not None:
                self._on_failure(f"{count} order owners not journaled: {exc}")
            return
        self.recorded += sum(len(ids) for ids in pending.values())

    async def flush(self) -> None:
        """Wait until every record made so far is durable (or has failed and been reported)."""
        for _ in range(3):  # a flush may schedule nothing new; bounded anyway
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def load(self, wanted: set[str]) -> dict[str, str]:
        """``client order id -> strategy`` for the ids in ``wanted`` that have a record.

        Reads the stream from the last start's checkpoint on (:meth:`checkpoint`), so a start
        reads what was placed since the previous start, not the service's whole history; memory
        stays bounded by ``wanted``.
        """
        owners: dict[str, str] = {}
        if await self._store.stream_version(self.stream) is None:
            return owners
        start = 0
        last = await self._store.stream_version(self._pointer)
        if last is not None:
            async for pointer in self._store.read_stream(self._pointer, last):
                start = int(pointer.data.get("from_version", 0))
        async for recorded in self._store.read_stream(self.stream, start):
            if recorded.type not in (OWNERSHIP_EVENT, CHECKPOINT_EVENT):
                continue
            if recorded.type == CHECKPOINT_EVENT:
                for name, ids in dict(recorded.data.get("owners", {})).items():
                    owners.update({str(c): str(name) for c in ids if c in wanted})
                continue
            name = str(recorded.data.get("strategy", ""))
            for cid in recorded.data.get("client_order_ids", ()):
                if cid in wanted:
                    owners[str(cid)] = name
        return owners

    async def checkpoint(self, owners: dict[str, str]) -> None:
        """Journal every active order's owner as one event, then point the next start's
        :meth:`load` at it (called once the start-up load is done)."""
        by_strategy: dict[str, list[str]] = {}
        for cid, name in sorted(owners.items()):
            by_strategy.setdefault(name, []).append(cid)
        result = await self._store.append(self.stream, [NewEvent(CHECKPOINT_EVENT, {
            "owners": by_strategy, "at_ns": time.time_ns()})], expected_version=ANY)
        version = result.next_version - 1
        await self._store.append(self._pointer, [NewEvent(POINTER_EVENT, {
            "from_version": version})], expected_version=ANY)
