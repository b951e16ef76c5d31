"""Execution algorithms as journaled parent orders: TWAP and iceberg that survive a kill -9.

See :class:`oms.algos.runner.AlgoRunner`; the parent's events and decider are in
``oms.domain.parent`` and ``oms.domain.parent_decide``.
"""

from oms.algos.amend import ParentNotActive
from oms.algos.runner import AlgoRunner, UnknownParent
from oms.algos.specs import AlgoSpecError

__all__ = ["AlgoRunner", "AlgoSpecError", "ParentNotActive", "UnknownParent"]
