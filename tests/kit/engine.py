"""White-box access to a running engine's collaborators, for tests only.

``OrderManager`` keeps its collaborators private (nothing internal is public); a test that must
inject a report exactly as a stream would deliver it, or run one reconcile step on its own,
reaches them here, in one place, instead of through public hooks.
"""

from __future__ import annotations

from oms.engine import OrderManager
from oms.engine.intake import ReportHandler
from oms.engine.reconcile import Reconciler


def reports_of(oms: OrderManager) -> ReportHandler:
    """The engine's report handler (``on_fill``, ``on_status_report``...)."""
    handler = oms._reports
    assert isinstance(handler, ReportHandler)
    return handler


def reconciler_of(oms: OrderManager) -> Reconciler:
    """The engine's reconciler (``sweep_unknown``, ``gap_fill``, ``refresh``...)."""
    reconciler = oms._reconciler
    assert isinstance(reconciler, Reconciler)
    return reconciler
