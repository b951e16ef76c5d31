"""The engine: track before submit, journal, submit, reconcile, recover.

Example::

    from oms.engine import OrderManager, RiskLimits
    async with await OrderManager.open("sqlite+aiosqlite:///oms.db", connector,
                                       risk=RiskLimits(max_open_orders=50)) as oms:
        cid = oms.buy("ETH", Decimal("0.5"), OrderType.LIMIT, price=Decimal("3000"))
"""

from oms.engine.config import EngineConfig
from oms.engine.errors import EngineClosed, OrderNotActive, RecoveryFailed, UnknownOrder
from oms.engine.manager import OrderManager
from oms.engine.recovery import RecoveryReport
from oms.engine.risk import RiskLimits

__all__ = [
    "EngineClosed",
    "EngineConfig",
    "OrderManager",
    "OrderNotActive",
    "RecoveryFailed",
    "RecoveryReport",
    "RiskLimits",
    "UnknownOrder",
]
