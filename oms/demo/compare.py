"""Side by side: the engine's view of every order and position against the exchange's own truth.

Exchange statuses map onto engine states: ``open`` is OPEN or PARTIALLY_FILLED, ``filled`` is
FILLED, any ``…canceled``/``…Cancel`` status is CANCELED, any ``…rejected`` status is FAILED. An
order the exchange never saw must be FAILED in the engine (refused, or lost in the crash before it
left and declared never-placed after its deadline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.hyperliquid.simulator import SimulatedExchange


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """One order seen by both sides."""

    cloid: str
    pair: str
    side: str
    engine_state: str
    exchange_status: str
    engine_executed: Decimal | None
    exchange_filled: Decimal | None
    engine_fills: int
    exchange_fills: int
    problem: str | None

    @property
    def ok(self) -> bool:
        """True when both sides agree."""
        return self.problem is None


@dataclass(frozen=True, slots=True)
class PositionCheck:
    """One pair's net position on both sides."""

    pair: str
    engine: Decimal
    exchange: Decimal

    @property
    def ok(self) -> bool:
        """True when both sides agree."""
        return self.engine == self.exchange


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """One figure of the account on both sides (amounts within a micro-USDC)."""

    name: str
    engine: Decimal
    exchange: Decimal

    @property
    def ok(self) -> bool:
        """True when both sides agree."""
        return abs(self.engine - self.exchange) <= Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every order, position and account check of one moment."""

    orders: list[OrderCheck]
    positions: list[PositionCheck]
    account: list[AccountCheck] = field(default_factory=list)

    @property
    def differences(self) -> int:
        """How many orders, positions and account figures disagree."""
        return (sum(not o.ok for o in self.orders) + sum(not p.ok for p in self.positions)
                + sum(not a.ok for a in self.account))


def expected_states(status: str) -> set[str]:
    """The engine states that agree with an exchange order status."""
    if status == "open":
        return {"open", "partially_filled"}
    if status == "filled":
        return {"filled"}
    if status.lower().endswith(("canceled", "cancel")):
        return {"canceled"}
    if status.lower().endswith("rejected"):
        return {"failed"}
    return set()


def _order_problem(ours: dict[str, Any] | None, real: dict[str, Any] | None,
                   real_tids: set[str]) -> str | None:
    if ours is None:
        return "on the exchange but unknown to the engine"
    if real is None:
        return None if ours["state"] == "failed" else "the exchange never saw it"
    if ours["state"] not in expected_states(real["status"]):
        return "state differs"
    if Decimal(ours["executed"]) != real["filled_sz"]:
        return "executed amount differs"
    if set(ours["trade_ids"]) != real_tids:
        return "fills differ"
    return None


def compare(view: dict[str, Any], sim: SimulatedExchange) -> Comparison:
    """Compare an engine view (see ``oms.demo.worker.engine_view``) with the exchange's truth."""
    user = view["account"]
    ours = {c: o for c, o in view["orders"].items() if o["account"] == user}
    # Orders with no cloid were placed elsewhere (the engine always sends one): the account
    # checks below cover their fills.
    truth = {c: o for c, o in sim.truth.orders(user).items() if not c.startswith("oid:")}
    tids: dict[str, set[str]] = {}
    for fill in sim.truth.fills(user):
        tids.setdefault(fill["cloid"], set()).add(str(fill["tid"]))
    checks = []
    for cloid in sorted(set(ours) | set(truth)):
        mine, real = ours.get(cloid), truth.get(cloid)
        base = mine or {}
        checks.append(OrderCheck(
            cloid=cloid,
            pair=base.get("pair") or (real or {}).get("coin", "?"),
            side=base.get("side") or (real or {}).get("side", "?"),
            engine_state=base.get("state", "—"),
            exchange_status=real["status"] if real else "never seen",
            engine_executed=Decimal(base["executed"]) if mine else None,
            exchange_filled=real["filled_sz"] if real else None,
            engine_fills=len(base.get("trade_ids", ())),
            exchange_fills=len(tids.get(cloid, ())),
            problem=_order_problem(mine, real, tids.get(cloid, set())),
        ))
    # The account's positions: our fills and everyone else's (the view's own-fill book is the
    # fallback for views written before the account existed).
    held = view.get("account_positions", view["positions"])
    engine_pos = {p: Decimal(v) for p, v in held.items()}
    real_pos = {p: v["szi"] for p, v in sim.truth.positions(user).items()}
    positions = [
        PositionCheck(pair, engine_pos.get(pair, Decimal(0)), real_pos.get(pair, Decimal(0)))
        for pair in sorted(set(engine_pos) | set(real_pos))
    ]
    return Comparison(checks, positions, account_checks(view, sim))


def account_checks(view: dict[str, Any], sim: SimulatedExchange) -> list[AccountCheck]:
    """Cash, realized trading PnL, fees, funding and outside fills: engine vs exchange."""
    summary = view.get("account_summary")
    if summary is None:
        return []
    user = view["account"]
    fills = sim.truth.fills(user)
    funding = sum((Decimal(r["delta"]["usdc"])
                   for r in sim.engine.history.fundings.get(user, [])), Decimal(0))
    truth = {
        "cash (collateral)": sim.truth.balances(user).get("USDC", Decimal(0)),
        "realized trading PnL": sum((f["closed_pnl"] for f in fills), Decimal(0)),
        "fees": sum((f["fee"] for f in fills), Decimal(0)),
        "funding": funding,
        "fills placed elsewhere": Decimal(sum(f["cloid"] is None for f in fills)),
    }
    keys = ("cash", "realized_trading", "fees", "funding", "outside_fills")
    return [AccountCheck(name, Decimal(str(summary[key])), real)
            for (name, real), key in zip(truth.items(), keys, strict=True)]
