"""The crash demo, start to finish: local exchange, engine subprocess, SIGKILL, restart, compare.

The exchange runs in this process (its market moves only when we step it, so both sides hold
still while they are compared). The engine runs in ``python -m oms.demo.worker`` subprocesses on
one journal; the first is killed with SIGKILL while it trades, the second recovers from the
journal and the exchange, is compared, finishes the strategy and is compared again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from eventstore import EventStore
from oms.demo.compare import Comparison, compare

Say = Callable[[str], None]
LINE_TIMEOUT_S = 60.0
SETTLE_TRIES = 8


class DemoError(RuntimeError):
    """The demo could not run (not a mismatch: that is reported in the result)."""


@dataclass(slots=True)
class DemoResult:
    """Everything the demo measured and compared."""

    exchange_url: str
    journal_url: str
    account: str
    orders_requested: int
    killed_after: int = 0
    killed_pid: int = 0
    fills_while_down: int = 0
    outside_trades: int = 0
    restart_seconds: float = 0.0
    recovery: dict[str, Any] = field(default_factory=dict)
    after_recovery: Comparison | None = None
    at_end: Comparison | None = None
    kept: Path | None = None
    """The demo's temporary folder when it was kept (``keep``, or a difference to look into)."""

    @property
    def differences(self) -> int:
        """Differences found in both comparisons (0: the engine matched the exchange)."""
        return sum(c.differences for c in (self.after_recovery, self.at_end) if c is not None)


class Worker:
    """One engine subprocess and its line protocol."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, args: list[str], env: dict[str, str], log: Path) -> Worker:
        """Spawn ``python -m oms.demo.worker ARGS`` with its stderr going to ``log``."""
        with log.open("ab") as sink:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "oms.demo.worker", *args,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=sink, env=env,
            )
        return cls(proc)

    async def line(self) -> str:
        """The next line the worker prints ('' once it has exited)."""
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), LINE_TIMEOUT_S)
        return raw.decode().strip()

    async def expect(self, word: str, log: Path) -> None:
        """Wait for ``word``; a worker that dies first raises with the end of its log."""
        while True:
            got = await self.line()
            if got == word:
                return
            if not got:
                await self.proc.wait()
                text = await asyncio.to_thread(log.read_text, errors="replace")
                tail = text.strip().splitlines()[-1:]
                why = tail[0] if tail else f"exit code {self.proc.returncode}"
                raise DemoError(f"the engine process stopped before {word}: {why} (log: {log})")

    async def send(self, command: str) -> None:
        """Write one command line to the worker."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    async def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, no goodbye."""
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        """Ask the worker to close the engine cleanly; kill it if it does not."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await self.send("stop")
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            await self.kill()


@contextlib.asynccontextmanager
async def _market(sim: SimulatedExchange, every_s: float = 0.15) -> AsyncIterator[None]:
    """Step the exchange's market in the background (it stands still otherwise)."""

    async def loop() -> None:
        while True:
            await sim.step_market()
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _require_new_journal(url: str) -> None:
    async with await EventStore.open(url) as store:
        position, _ = await store.head()
    if position:
        raise DemoError(
            f"the demo needs a new journal, but {url} already holds {position} events: "
            "pass a new file/database with --url (or none: a temporary one is used)"
        )


async def run_demo(
    seed: int, orders: int, url: str | None, say: Say, *, keep: bool = False
) -> DemoResult:
    """Run the whole demo; ``say`` receives one line per step. Raises :class:`DemoError`.

    The demo works in a temporary folder (the engine's log and view, the nonce file, and the
    journal unless ``url`` names one). The folder is removed when the demo ends, unless ``keep``
    is set or something went wrong after the engine started (then its log is worth reading:
    the error, or ``DemoResult.kept``, says where it is).
    """
    work = Path(tempfile.mkdtemp(prefix="oms-demo-"))
    started = False
    try:
        journal = url or f"sqlite+aiosqlite:///{work / 'journal.db'}"
        await _require_new_journal(journal)
        started = True
        result = await _run(work, journal, seed, orders, say)
    except BaseException as exc:
        if started and isinstance(exc, DemoError):
            raise DemoError(f"{exc} (the demo's files are kept in {work})") from exc
        await asyncio.to_thread(shutil.rmtree, work, True)
        raise
    if keep or result.differences:
        result.kept = work
    else:
        await asyncio.to_thread(shutil.rmtree, work, True)
    return result


async def _run(work: Path, journal: str, seed: int, orders: int, say: Say) -> DemoResult:
    """The demo proper, in the folder ``work``."""
    key = "0x" + bytes(Account.create().key).hex()  # fresh for this demo, never printed
    account = str(Account.from_key(key).address).lower()
    env = {**os.environ, "HL_PRIVATE_KEY": key}
    dump, log = work / "engine-view.json", work / "engine.log"
    rng = random.Random(seed)
    kill_at = rng.randint(max(1, orders // 3), max(1, (2 * orders) // 3))
    async with SimulatedExchange(SimulatorConfig(seed=seed, market_maker=False)) as sim:
        await sim.step_market()  # the house market maker quotes a first book
        args = ["--url", journal, "--exchange", sim.base_url, "--seed", str(seed),
                "--dump", str(dump), "--nonce-file", str(work / "nonce")]
        result = DemoResult(sim.base_url, journal, account, orders)
        say(f"local exchange listening at {sim.base_url} (seed {seed}); account {account}")
        first = await Worker.start(args, env, log)
        await first.expect("RECOVERED", log)
        say(f"engine #1 (pid {first.proc.pid}) opened the new journal; trading…")
        async with _market(sim):
            await first.send(f"trade 0 {orders}")
            while result.killed_after < kill_at:
                line = await first.line()
                if not line:
                    raise DemoError(f"engine #1 exited while trading (log: {log})")
                if line.startswith("PLACED "):
                    result.killed_after = int(line.split()[1])
                    if result.killed_after == max(1, kill_at // 2) and not result.outside_trades:
                        # The same account trades from elsewhere (the web UI, another bot),
                        # and a funding round is paid, while the engine runs.
                        sim.trade_as(account, "ETH", True, Decimal("0.05"))
                        sim.pay_funding(Decimal("0.0001"))
                        result.outside_trades += 1
            await first.kill()
        result.killed_pid = first.proc.pid
        say(f"SIGKILL sent to engine #1 right after order {result.killed_after} of {orders}")
        before = len(sim.truth.fills(account))
        for _ in range(10):  # the market moves on while the engine is down
            await sim.step_market()
        result.fills_while_down = len(sim.truth.fills(account)) - before
        sim.trade_as(account, "SOL", False, Decimal("1"))  # and again while it is down
        sim.pay_funding(Decimal("0.0001"))
        result.outside_trades += 1
        say(f"the exchange kept trading while the engine was down: "
            f"{result.fills_while_down} new fills of our orders; meanwhile "
            f"{result.outside_trades} trades were made on the account from elsewhere and funding"
            " was paid")
        started = time.perf_counter()
        second = await Worker.start(args, env, log)
        await second.expect("RECOVERED", log)
        result.restart_seconds = time.perf_counter() - started
        view = json.loads(await asyncio.to_thread(dump.read_text))
        result.recovery = view["recovery"]
        result.after_recovery = compare(view, sim)
        say(f"engine #2 (pid {second.proc.pid}) recovered and reconciled in "
            f"{result.restart_seconds:.2f} s (process start included)")
        remaining = orders - result.killed_after
        if remaining > 0:
            async with _market(sim):
                await second.send(f"trade {result.killed_after} {remaining}")
                await second.expect("DONE", log)
            say(f"engine #2 placed the remaining {remaining} orders")
        result.at_end = await _settled_comparison(second, sim, dump, log)
        await second.stop()
    return result


async def _settled_comparison(
    worker: Worker, sim: SimulatedExchange, dump: Path, log: Path
) -> Comparison:
    """Compare once the live streams have delivered the last replies and fills (bounded)."""
    comparison = None
    for _ in range(SETTLE_TRIES):
        await asyncio.sleep(0.25)
        await worker.send("dump")
        await worker.expect("DUMPED", log)
        comparison = compare(json.loads(await asyncio.to_thread(dump.read_text)), sim)
        if comparison.differences == 0:
            break
    assert comparison is not None
    return comparison
