"""Settings of the account keeper (``EngineConfig.account``).

>>> AccountConfig().reconcile_interval_s
60.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from oms.engine.account_risk import AccountRiskLimits


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """How the account is reconciled and guarded.

    - ``reconcile_interval_s``: periodic reconciliation while running (``None``: start-up only).
    - ``lookback_s``: how far before the last reconciliation fills, funding and ledger updates
      are fetched again (de-duplicated: re-fetching costs nothing but a request).
    - ``settle_s``: pause between the two reads a difference must survive.
    - ``cash_tolerance``: cash differences up to this (rounding of the exchange's figures) are
      not corrections.
    - ``risk``: account-level limits whose breach trips the journaled kill switch.
    """

    reconcile_interval_s: float | None = 60.0
    lookback_s: float = 120.0
    settle_s: float = 0.3
    cash_tolerance: Decimal = Decimal("0.01")
    spot_tolerance: Decimal = Decimal("0.00000001")
    risk: AccountRiskLimits = field(default_factory=AccountRiskLimits)
