"""One engine per journal, with two real processes: the second start fences the first.

The first engine's next journal write fails; it stops trading and names the engine that took
over; nothing it did not journal before the claim reaches the exchange. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from eth_account import Account

from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import EventStore
from oms.domain.ids import ClientOrderId, order_stream
from oms.engine.lease import LEASE_STREAM

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


class Worker:
    """A lease_worker.py subprocess and the lines it printed."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, url: str, sim: SimulatedExchange, key: str, tmp: Path,
                    seconds: float) -> Worker:
        env = {**os.environ, "HL_PRIVATE_KEY": key,
               "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "lease_worker.py"), "--url", url,
            "--base-url", sim.base_url, "--nonce-file", str(tmp / "nonce"),
            "--seconds", str(seconds),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode().rstrip())

    async def wait_line(self, prefix: str, limit_s: float = 60.0) -> str:
        loop = asyncio.get_running_loop()
        end = loop.time() + limit_s
        while loop.time() < end:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            if self._reader.done():
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {prefix!r} line; output:\n" + "\n".join(self.lines[-40:]))

    def placed(self) -> list[str]:
        return [line.split()[1] for line in self.lines if line.startswith("PLACED")]

    async def finish(self, limit_s: float = 60.0) -> int:
        try:
            code = await asyncio.wait_for(self.proc.wait(), limit_s)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        await self._reader
        return code


async def _two_engines(url: str, sim: SimulatedExchange, tmp: Path) -> None:
    account = Account.create()
    sim.fund(account.address)
    key = "0x" + bytes(account.key).hex()
    first = await Worker.start(url, sim, key, tmp, seconds=60)
    second: Worker | None = None
    try:
        await first.wait_line("TRADING")
        await first.wait_line("PLACED")
        second = await Worker.start(url, sim, key, tmp, seconds=2)
        second_pid = (await second.wait_line("TRADING")).split()[1]
        stopped = await first.wait_line("STOPPED", limit_s=30)
        assert "fenced" in stopped and f"pid {second_pid}" in stopped, stopped
        assert await first.finish() == 0
        await second.wait_line("DONE")
        assert await second.finish() == 0
    finally:
        for worker in (first, second):
            if worker is not None and worker.proc.returncode is None:
                worker.proc.kill()
    assert key[2:] not in "\n".join(first.lines + second.lines)  # the key is never printed

    async with await EventStore.open(url) as store:
        claims = [e async for e in store.read_stream(LEASE_STREAM)]
        assert [c.data["pid"] for c in claims] == [first.proc.pid, second.proc.pid]
        second_claim = claims[-1].position
        journaled: dict[str, int] = {}
        for cloid in first.placed() + second.placed():
            cid = ClientOrderId.from_cloid(cloid)
            async for recorded in store.read_stream(order_stream(cid)):
                journaled[cloid] = recorded.position  # the OrderCreated comes first
                break
        # Nothing the first engine decided after the claim was journaled...
        for cloid in first.placed():
            assert journaled.get(cloid, 0) < second_claim, cloid
        assert second.placed() and all(c in journaled for c in second.placed())
        # ...and nothing reached the exchange that the journal does not hold.
        on_exchange = set(sim.truth.orders(account.address))
        assert on_exchange & set(first.placed()) and on_exchange & set(second.placed())
        assert on_exchange <= set(journaled), on_exchange - set(journaled)
        assert (await store.verify()).ok


async def test_second_engine_fences_the_first_sqlite(
    sim: SimulatedExchange, sqlite_url: str, tmp_path: Path
) -> None:
    await _two_engines(sqlite_url, sim, tmp_path)


@pytest.mark.postgres
async def test_second_engine_fences_the_first_postgres(
    sim: SimulatedExchange, postgres_url: str, tmp_path: Path
) -> None:
    await _two_engines(postgres_url, sim, tmp_path)
