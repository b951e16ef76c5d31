"""What the algorithm crash workers print while their parent runs (the crash tests parse it).

``parent <id>`` once; ``progress <executed> <children> <status>`` every 50 ms while the parent
is not finished; ``finished <status> <executed> <reason>`` once it is and the engine has
settled. Imported by the worker scripts beside it (their own folder is first on ``sys.path``).
"""

from __future__ import annotations

import asyncio

from oms.algos import AlgoRunner
from oms.engine import OrderManager

FINISHED = ("done", "canceled", "failed")


async def report_until_finished(oms: OrderManager, algos: AlgoRunner, parent_id: str) -> None:
    """Print the parent's progress lines until it finishes, then its ``finished`` line."""
    print("parent", parent_id, flush=True)
    while True:
        state = algos.parent(parent_id)
        if state.status in FINISHED:
            break
        print("progress", state.executed, len(state.children), state.status, flush=True)
        await asyncio.sleep(0.05)
    await oms.settled()
    print("finished", state.status, state.executed, state.reason, flush=True)
