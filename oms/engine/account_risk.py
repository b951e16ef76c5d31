"""Account-level risk: limits read from the account projection, and the kill switch they trip.

- ``max_leverage``: total notional / account value (exchange figures from the last
  reconciliation; a new order's notional is added before it is sent).
- ``min_margin_ratio``: account value / margin used must stay at or above this.
- ``max_drawdown``: fall of the account value from its highest observed value, as a fraction
  (``Decimal("0.2")``: 20 %).

A breach found at a reconciliation trips the kill switch (journaled ``KillSwitchTripped``): every
new order is refused until the operator resets it (``OrderManager.reset_account_kill_switch``),
and a restart keeps it on, since it is a fold of the journal.

>>> from decimal import Decimal as D
>>> from oms.domain.account import AccountState
>>> acct = AccountState(account_value=D("800"), peak_account_value=D("1000"))
>>> breach(AccountRiskLimits(max_drawdown=D("0.1")), acct)
'account value 800 is 20.0% below its peak 1000 (max_drawdown 10.0%)'
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms.domain.account import AccountState


@dataclass(frozen=True, slots=True)
class AccountRiskLimits:
    """Account-level limits (``None`` disables one); see the module docstring."""

    max_leverage: Decimal | None = None
    min_margin_ratio: Decimal | None = None
    max_drawdown: Decimal | None = None


def _pct(x: Decimal) -> str:
    return f"{(x * 100).quantize(Decimal('0.1'))}%"


def breach(limits: AccountRiskLimits, account: AccountState) -> str | None:
    """The first limit the account breaches now, as a sentence; None if none."""
    value = account.account_value
    if value is None:
        return None
    if limits.max_leverage is not None and account.total_notional:
        if value <= 0:
            return f"account value {value} with open positions: leverage unbounded"
        leverage = account.total_notional / value
        if leverage > limits.max_leverage:
            return f"leverage {leverage:.2f} above max_leverage {limits.max_leverage}"
    if limits.min_margin_ratio is not None and account.total_margin_used:
        ratio = value / account.total_margin_used
        if ratio < limits.min_margin_ratio:
            return f"margin ratio {ratio:.2f} below min_margin_ratio {limits.min_margin_ratio}"
    peak = account.peak_account_value
    if limits.max_drawdown is not None and peak:
        drawdown = (peak - value) / peak
        if drawdown > limits.max_drawdown:
            return (
                f"account value {value} is {_pct(drawdown)} below its peak {peak}"
                f" (max_drawdown {_pct(limits.max_drawdown)})"
            )
    return None


def pre_trade(
    limits: AccountRiskLimits, account: AccountState, notional: Decimal, reduce_only: bool
) -> str | None:
    """Why a new order of ``notional`` must be refused by the account's state, or None."""
    if account.kill_switch is not None:
        return f"account kill switch is on ({account.kill_switch}); reset it to trade again"
    if limits.max_leverage is None or reduce_only or account.account_value is None:
        return None
    value = account.account_value
    after = (account.total_notional or Decimal(0)) + notional
    if value <= 0 or after / value > limits.max_leverage:
        return f"order would take leverage beyond max_leverage {limits.max_leverage}"
    return None
