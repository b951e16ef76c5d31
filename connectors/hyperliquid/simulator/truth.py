"""Ground truth for tests: the exchange's own view of a user's orders, fills and positions, as
plain dicts with Decimal amounts, keyed so a test can compare an OMS's view to it.

Example::

    sim.truth.orders(user)["0x0000…0001"]["status"]      # 'open'
    sim.truth.positions(user)["ETH"]["szi"]               # Decimal('0.05')
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .engine import ExchangeEngine


class Truth:
    """Read-only views over an engine."""

    def __init__(self, engine: ExchangeEngine) -> None:
        self._engine = engine

    def orders(self, user: str) -> dict[str, dict[str, Any]]:
        """Every order of ``user`` keyed by cloid (``"oid:<n>"`` when it has none).

        A cloid reused after its order finished maps to the newest order.
        """
        out: dict[str, dict[str, Any]] = {}
        for oid in self._engine.user_orders.get(user.lower(), []):
            r = self._engine.orders[oid]
            out[r.cloid or f"oid:{oid}"] = {
                "oid": r.oid, "cloid": r.cloid, "coin": r.coin,
                "side": "buy" if r.is_buy else "sell", "status": r.status,
                "limit_px": r.limit_px, "orig_sz": r.orig_sz, "filled_sz": r.filled,
                "remaining_sz": r.sz, "reduce_only": r.reduce_only, "tif": r.tif,
                "timestamp": r.timestamp, "trigger_px": r.trigger_px,
                "trigger_state": r.trigger_state, "parent": r.parent,
            }
        return out

    def fills(self, user: str) -> list[dict[str, Any]]:
        """Fills of ``user``, oldest first."""
        return [{
            "tid": f["tid"], "oid": f["oid"], "cloid": f["cloid"], "coin": f["coin"],
            "side": "buy" if f["side"] == "B" else "sell", "px": Decimal(f["px"]),
            "sz": Decimal(f["sz"]), "fee": Decimal(f["fee"]),
            "closed_pnl": Decimal(f["closedPnl"]), "crossed": f["crossed"], "time": f["time"],
        } for f in self._engine.fills.get(user.lower(), [])]

    def positions(self, user: str) -> dict[str, dict[str, Decimal]]:
        """Open perp positions of ``user``: coin -> signed size and entry price."""
        account = self._engine.accounts.get(user.lower())
        if account is None:
            return {}
        return {coin: {"szi": p.szi, "entry_px": p.entry_px}
                for coin, p in account.positions.items()}

    def leverage(self, user: str) -> dict[str, tuple[int, bool]]:
        """Leverage set per coin of ``user``: ``(leverage, is_cross)`` (unset coins absent)."""
        account = self._engine.accounts.get(user.lower())
        return dict(account.leverage) if account is not None else {}

    def balances(self, user: str) -> dict[str, Decimal]:
        """Perp collateral (``"USDC"``) and spot balances (``"spot:<token>"``) of ``user``."""
        account = self._engine.accounts.get(user.lower())
        if account is None:
            return {}
        out = {"USDC": account.usdc}
        out.update({f"spot:{token}": v for token, v in account.spot.items()})
        return out
