"""Order records and the wire shapes the exchange reports them in (/info, WebSocket).

Numbers go out as strings the way Hyperliquid prints them: no exponent, no trailing zeros, at
least one decimal (``"60000.0"``, ``"0.02"``, ``"0.0"``).

Example::

    fmt(Decimal("60000"))   # '60000.0'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


def fmt(value: Decimal) -> str:
    """A Decimal as a Hyperliquid number string."""
    if value == ZERO:
        return "0.0"
    text = f"{value.normalize():f}"
    return text if "." in text else text + ".0"


def decimals_of(value: Decimal) -> int:
    """How many decimals ``value`` really carries (trailing zeros ignored)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@dataclass(slots=True)
class OrderRecord:
    """Everything the exchange remembers about one order, open or finished."""

    oid: int
    user: str
    coin: str
    asset: int
    is_buy: bool
    limit_px: Decimal
    sz: Decimal
    orig_sz: Decimal
    timestamp: int
    cloid: str | None
    tif: str
    reduce_only: bool
    status: str
    status_ts: int
    reserved: Decimal = ZERO

    @property
    def filled(self) -> Decimal:
        """Size executed so far."""
        return self.orig_sz - self.sz

    def basic_wire(self) -> dict[str, Any]:
        """Shape of ``openOrders`` entries and of the ``order`` inside WS ``orderUpdates``."""
        return {
            "coin": self.coin,
            "side": "B" if self.is_buy else "A",
            "limitPx": fmt(self.limit_px),
            "sz": fmt(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "origSz": fmt(self.orig_sz),
            "cloid": self.cloid,
        }

    def frontend_wire(self) -> dict[str, Any]:
        """Shape of ``frontendOpenOrders`` entries and of ``orderStatus``/history orders."""
        out = self.basic_wire()
        out.update({
            "triggerCondition": "N/A",
            "isTrigger": False,
            "triggerPx": "0.0",
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": self.reduce_only,
            "orderType": "Limit",
            "tif": self.tif,
        })
        return out

    def status_wire(self) -> dict[str, Any]:
        """``{"order": …, "status": …, "statusTimestamp": …}`` (orderStatus, historicalOrders)."""
        return {"order": self.frontend_wire(), "status": self.status,
                "statusTimestamp": self.status_ts}

    def update_wire(self) -> dict[str, Any]:
        """One element of a WS ``orderUpdates`` push."""
        return {"order": self.basic_wire(), "status": self.status,
                "statusTimestamp": self.status_ts}

    def to_state(self) -> dict[str, Any]:
        """JSON-ready dict (Decimals as strings) for persistence."""
        out = asdict(self)
        for key in ("limit_px", "sz", "orig_sz", "reserved"):
            out[key] = str(out[key])
        return out

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> OrderRecord:
        """Inverse of :meth:`to_state`."""
        values = dict(raw)
        for key in ("limit_px", "sz", "orig_sz", "reserved"):
            values[key] = Decimal(values[key])
        return cls(**values)
