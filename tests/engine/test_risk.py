"""Pre-trade risk gate: each limit refuses with a reason; passing orders count towards the rate."""

from decimal import Decimal

from oms.engine.risk import RiskGate, RiskLimits

D = Decimal
BASE = {"pair": "ETH", "side": "buy", "amount": D("1"), "price": D("3000"), "open_orders": 0,
        "position": D("0"), "now_ns": 10**18}


def test_no_limits_pass() -> None:
    assert RiskGate(RiskLimits()).check(**BASE) is None  # type: ignore[arg-type]


def test_max_notional() -> None:
    gate = RiskGate(RiskLimits(max_order_notional=D("2999")))
    reason = gate.check(**BASE)  # type: ignore[arg-type]
    assert reason is not None and "max_order_notional" in reason


def test_max_open_orders() -> None:
    gate = RiskGate(RiskLimits(max_open_orders=3))
    assert gate.check(**{**BASE, "open_orders": 2}) is None  # type: ignore[arg-type]
    assert "max_open_orders" in (gate.check(**{**BASE, "open_orders": 3}) or "")  # type: ignore[arg-type]


def test_max_position_allows_reducing() -> None:
    gate = RiskGate(RiskLimits(max_position={"ETH": D("2")}))
    assert gate.check(**{**BASE, "position": D("1.5")}) is not None  # type: ignore[arg-type]
    # Selling from a too-large long reduces exposure: allowed.
    assert gate.check(**{**BASE, "side": "sell", "position": D("5")}) is None  # type: ignore[arg-type]
    assert gate.check(**{**BASE, "position": D("5"), "reduce_only": True}) is None  # type: ignore[arg-type]


def test_rate_window_slides() -> None:
    gate = RiskGate(RiskLimits(max_orders_per_second=2))
    t = 10**18
    assert gate.check(**{**BASE, "now_ns": t}) is None  # type: ignore[arg-type]
    assert gate.check(**{**BASE, "now_ns": t + 1}) is None  # type: ignore[arg-type]
    assert "rate limit" in (gate.check(**{**BASE, "now_ns": t + 2}) or "")  # type: ignore[arg-type]
    assert gate.check(**{**BASE, "now_ns": t + 1_000_000_001}) is None  # type: ignore[arg-type]


def test_kill_switch() -> None:
    assert "kill switch" in (RiskGate(RiskLimits(kill_switch=True)).check(**BASE) or "")  # type: ignore[arg-type]
