"""The engine in a child process that a crash test SIGKILLs and starts again on the same journal.

A crash test's worker is a script beside the test (``algo_worker.py``, ``native_twap_worker.py``)
that opens the engine, prints ``progress <executed> <count> <status>`` lines while it works and
``finished ...`` when done. The test kills it with SIGKILL at a chosen point (no clean shutdown, as
a power cut would leave it), then runs it again so that recovery resumes from the journal.

Example::

    lines = await run_worker(WORKER, args, env, log, kill_after=3)  # SIGKILLed at count >= 3
    lines = await run_worker(WORKER, args, env, log)  # restarted: runs to its end
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

LINE_TIMEOUT_S = 60.0  # a worker silent this long is stuck: the test fails instead of hanging


@asynccontextmanager
async def worker_process(script: Path, args: Sequence[str], env: Mapping[str, str],
                         log: Path) -> AsyncIterator[asyncio.subprocess.Process]:  # fmt: skip
    """Start ``python script *args`` with its stdout piped and its stderr appended to ``log``.

    On leaving the block the process is killed if it still runs (the test failed while it ran,
    or it was SIGKILLed already) and always reaped: a test never leaves a worker behind.
    """
    with log.open("ab") as stderr:  # the child holds its own copy of the descriptor
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(script), *args, stdout=asyncio.subprocess.PIPE, stderr=stderr,
            env=dict(env),
        )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def run_worker(script: Path, args: Sequence[str], env: Mapping[str, str], log: Path,
                     kill_after: int | None = None) -> list[str]:  # fmt: skip
    """Run the worker and return the lines it printed (stripped).

    With ``kill_after``, SIGKILL it as soon as a ``progress <executed> <count> ...`` line reports
    a count of at least ``kill_after`` (that line is the last one returned); without, let it run
    to its end. Each line must come within :data:`LINE_TIMEOUT_S` (else ``TimeoutError``).
    """
    lines: list[str] = []
    async with worker_process(script, args, env, log) as proc:
        assert proc.stdout is not None
        for _ in range(100_000):  # bounded by the worker's own bounded run
            raw = await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT_S)
            if not raw:
                break
            lines.append(raw.decode().strip())
            words = lines[-1].split()
            due = kill_after is not None and words[0] == "progress"
            if due and int(words[2]) >= (kill_after or 0):
                proc.send_signal(signal.SIGKILL)
                break
    return lines
