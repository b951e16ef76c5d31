"""The crash demo behind ``oms demo``: trade, SIGKILL the engine, restart, compare with truth.

>>> # result = asyncio.run(run_demo(seed=7, orders=30, url=None, say=print))
>>> # result.differences == 0
"""

from oms.demo.compare import Comparison, OrderCheck, PositionCheck, compare
from oms.demo.run import DemoError, DemoResult, run_demo

__all__ = [
    "Comparison",
    "DemoError",
    "DemoResult",
    "OrderCheck",
    "PositionCheck",
    "compare",
    "run_demo",
]
