"""``AccountState`` to and from JSON, for snapshots and the account read model.

Decimals are written as strings, so a restored account is exactly the one that was saved.

>>> from decimal import Decimal as D
>>> from oms.domain.account import AccountState
>>> acct = AccountState()
>>> acct.apply_own_fill("ETH", 1, D("1"), D("100"), D("0.05"), "USDC", 7)
>>> account_from_json(account_to_json(acct)) == acct
True
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from oms.domain.account import AccountState, AssetPosition

_POSITION_FIELDS = tuple(f.name for f in fields(AssetPosition))
_DECIMAL_POSITION = frozenset(
    f.name for f in fields(AssetPosition) if "Decimal" in str(f.type)
)
_SCALARS = (
    "cash",
    "ledger",
    "cash_corrections",
    "account_value",
    "withdrawable",
    "total_margin_used",
    "total_notional",
    "peak_account_value",
)
_INTS = ("observed_at_ms", "last_exchange_time_ms", "corrections", "anomalies", "events_applied")


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def position_to_json(pos: AssetPosition) -> list[Any]:
    """One position as a JSON list, in ``AssetPosition`` field order."""
    return [
        _s(getattr(pos, n)) if n in _DECIMAL_POSITION else getattr(pos, n)
        for n in _POSITION_FIELDS
    ]


def position_from_json(values: list[Any]) -> AssetPosition:
    """The inverse of :func:`position_to_json`."""
    kwargs: dict[str, Any] = {
        n: (_d(v) if n in _DECIMAL_POSITION else v)
        for n, v in zip(_POSITION_FIELDS, values, strict=True)
    }
    return AssetPosition(**kwargs)


def account_to_json(account: AccountState) -> dict[str, Any]:
    """The whole account as a JSON-able dict."""
    out: dict[str, Any] = {n: _s(getattr(account, n)) for n in _SCALARS}
    out.update({n: getattr(account, n) for n in _INTS})
    out["position_fields"] = list(_POSITION_FIELDS)
    out["positions"] = [position_to_json(p) for p in account.positions.values()]
    out["spot"] = {k: str(v) for k, v in account.spot.items()}
    out["other_fees"] = {k: str(v) for k, v in account.other_fees.items()}
    out["seen"] = sorted(account.seen)
    out["kill_switch"] = account.kill_switch
    return out


def account_from_json(body: dict[str, Any]) -> AccountState:
    """The inverse of :func:`account_to_json`; raises ValueError on another layout."""
    if body.get("position_fields") != list(_POSITION_FIELDS):
        raise ValueError("account snapshot layout differs from this code's; replay from zero")
    account = AccountState()
    for name in _SCALARS:
        value = _d(body[name])
        setattr(account, name, Decimal(0) if value is None and name in _SCALARS[:3] else value)
    for name in _INTS:
        setattr(account, name, int(body[name]))
    for values in body["positions"]:
        pos = position_from_json(values)
        account.positions[pos.pair] = pos
    account.spot = {k: Decimal(v) for k, v in body["spot"].items()}
    account.other_fees = {k: Decimal(v) for k, v in body["other_fees"].items()}
    account.seen = set(body["seen"])
    account.kill_switch = body["kill_switch"]
    return account
