"""The crash examples' engine process: the example itself run again with ``--child``, killed
with SIGKILL mid-run and started again on the same journal.

The child prints ``progress ... <count>`` lines (the count last) while it works and a final line
when done; the parent echoes every line, kills the child once the count reaches ``kill_after``,
and returns the last line, so the restarted run can check how it ended.

Example::

    args = [journal, url, nonces]
    await run_child(__file__, args, signer.env(), kill_after=4, moment="the TWAP mid-schedule")
    last = await run_child(__file__, args, signer.env())  # restarted: runs to its end
    assert last.startswith("finished done")
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping, Sequence

#: A child silent this long is stuck: the example fails instead of hanging.
LINE_TIMEOUT_S = 60.0


async def run_child(script: str, args: Sequence[str], env: Mapping[str, str], *,
                    kill_after: int = 0, moment: str = "the engine running") -> str:
    """Run ``python script --child *args`` with ``env`` added to this process's environment.

    Each line the child prints is echoed (``  engine: ...``). With ``kill_after`` > 0 the child
    is SIGKILLed once a ``progress`` line ends with a count of at least ``kill_after`` (and
    ``SIGKILL with <moment> (<line>)`` is printed); with 0 it runs to its end. Returns the last
    line the child printed ("" if none).
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable, script, "--child", *args, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )  # fmt: skip
    assert proc.stdout is not None
    last = ""
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT_S)).decode().strip()
            if not line:  # the end of its output (or an empty line): the child is done
                break
            print("  engine:", line)
            last = line
            if kill_after and line.startswith("progress") and int(line.split()[-1]) >= kill_after:
                proc.send_signal(signal.SIGKILL)
                print(f"SIGKILL with {moment} ({line})")
                break
    except BaseException:
        if proc.returncode is None:
            proc.kill()  # a stuck or unreadable child is never left behind
        raise
    finally:
        await proc.wait()
    return last
