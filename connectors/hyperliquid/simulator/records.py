"""Order records and the wire shapes the exchange reports them in (/info, WebSocket).

Numbers go out as strings the way Hyperliquid prints them: no exponent, no trailing zeros, at
least one decimal (``"60000.0"``, ``"0.02"``, ``"0.0"``).

Example::

    fmt(Decimal("60000"))   # '60000.0'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
    # Trigger orders (reference §13.1/§13.2): the trigger, its stage, and TP/SL group links.
    trigger_px: Decimal | None = None
    tpsl: str | None = None
    is_market: bool = False
    trigger_state: str | None = None  # "waitingForFill" | "waitingForTrigger" | None (fired)
    parent: int | None = None
    children: list[int] = field(default_factory=list)
    position_tpsl: bool = False

    @property
    def filled(self) -> Decimal:
        """Size executed so far."""
        return self.orig_sz - self.sz

    @property
    def is_trigger(self) -> bool:
        """A trigger order (stop / take-profit), fired or not."""
        return self.trigger_px is not None

    @property
    def waiting(self) -> bool:
        """A trigger that has not fired yet: held off the book."""
        return self.trigger_state is not None

    def order_type(self) -> str:
        """``orderType`` as ``frontendOpenOrders`` prints it (``"Stop Market"``...)."""
        if self.tpsl is None:
            return "Limit"
        kind = "Stop" if self.tpsl == "sl" else "Take Profit"
        return f"{kind} {'Market' if self.is_market else 'Limit'}"

    def trigger_condition(self) -> str:
        """``"Price above 2200"`` / ``"Price below 2200"`` (short number form, §13.1)."""
        if self.trigger_px is None:
            return "N/A"
        # A sell stop / buy take-profit fires on the way down; the other two on the way up.
        below = (self.tpsl == "sl") != self.is_buy
        text = f"{self.trigger_px.normalize():f}"
        return f"Price {'below' if below else 'above'} {text}"

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

    def frontend_wire(self, children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Shape of ``frontendOpenOrders`` entries and of ``orderStatus``/history orders.

        ``children``: the full entries of a resting parent's TP/SL legs (nested, §13.2).
        """
        out = self.basic_wire()
        out.update({
            "triggerCondition": self.trigger_condition(),
            "isTrigger": self.is_trigger,
            "triggerPx": fmt(self.trigger_px) if self.trigger_px is not None else "0.0",
            "children": children or [],
            "isPositionTpsl": self.position_tpsl,
            "reduceOnly": self.reduce_only,
            "orderType": self.order_type(),
            "tif": None if self.is_trigger else self.tif,
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
        if self.trigger_px is not None:
            out["trigger_px"] = str(self.trigger_px)
        return out

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> OrderRecord:
        """Inverse of :meth:`to_state`."""
        values = dict(raw)
        for key in ("limit_px", "sz", "orig_sz", "reserved"):
            values[key] = Decimal(values[key])
        if values.get("trigger_px") is not None:
            values["trigger_px"] = Decimal(values["trigger_px"])
        return cls(**values)
