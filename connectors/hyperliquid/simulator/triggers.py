"""Trigger orders and TP/SL groups: held off the book until the mark price crosses them.

What the live exchange does, per the reference (§13.1, §13.2) and the recorded responses it cites:

- a trigger rests as an ``open`` order that is not on the book; it watches the mark price (here
  the market's reference price, which the market maker's random walk moves, and which tests set
  with ``SimulatedExchange.set_mark``): a sell stop / buy take-profit fires when the mark is at or
  below its trigger price, a sell take-profit / buy stop at or above;
- when it fires, an ``orderUpdates`` push says ``triggered`` and the same oid (and cloid) then
  executes: an IOC at its price for a market trigger (``p`` is the slippage bound), a GTC limit
  otherwise; a reduce-only trigger shrinks to the position, or ends ``reduceOnlyCanceled``;
- a trigger whose condition already holds when it is placed fires at once (python-sdk #117);
- ``normalTpsl``: entry + legs in one action; the legs wait (``waitingForFill``) until the entry
  fully fills, then arm (``waitingForTrigger``). Entry filled at once → ``[filled,
  "waitingForTrigger", "waitingForTrigger"]``; entry resting → ``[resting, "waitingForFill",
  "waitingForFill"]``; the bare strings carry no oid. Canceling an unfilled (or partly filled)
  entry cancels its legs; an entry canceled for margin with a partial fill arms them; when one
  armed leg fills, its sibling ends ``siblingFilledCanceled``;
- ``positionTpsl``: legs on the current position, armed at once (``"waitingForTrigger"``);
- a grouping whose legs are not reduce-only triggers is refused as a whole (one error status),
  nothing placed. The live text of that error is not recorded anywhere we could find; the wording
  here is the simulator's own.

An IOC entry that fills partly arms its legs (the reply says ``filled``); that case is not
documented and is the simulator's choice.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .records import OrderRecord
from .rules import order_rule_error, price_is_valid

if TYPE_CHECKING:
    from .config import MarketSpec
    from .engine import ExchangeEngine, OrderWire, Status

OPEN = "open"
WAITING_FOR_FILL = "waitingForFill"
WAITING_FOR_TRIGGER = "waitingForTrigger"
BAD_TRIGGER_PX = "Invalid TP/SL price."
GROUP_NOT_REDUCE_ONLY = "TP/SL orders in a grouping must be reduce-only triggers."
_ZERO = Decimal(0)


def fires(record: OrderRecord, mark: Decimal) -> bool:
    """Whether ``mark`` satisfies the trigger condition of ``record`` (table of §13.1)."""
    assert record.trigger_px is not None
    below = (record.tpsl == "sl") != record.is_buy
    return mark <= record.trigger_px if below else mark >= record.trigger_px


def _validate(engine: ExchangeEngine, user: str, market: MarketSpec, wire: OrderWire,
              armed: bool) -> tuple[str, str] | None:
    assert wire.trigger_px is not None
    rule = order_rule_error(market, wire.px, wire.sz)
    if rule is not None and not (wire.reduce_only and rule[0] == "minTradeNtlRejected"):
        return rule  # the $10 minimum applies to opening orders only (§13.3)
    if not price_is_valid(market, wire.trigger_px):
        return "tickRejected", "Price must be divisible by tick size."
    if market.is_spot:
        return "rejected", "Trigger orders are for perps only."
    # A market trigger's price is its worst price: it must lie beyond the trigger in the
    # direction of the fill, or the order could never execute (NT issue #3611).
    if wire.is_market and (wire.px > wire.trigger_px if not wire.is_buy
                           else wire.px < wire.trigger_px):
        return "badTriggerPxRejected", BAD_TRIGGER_PX
    if armed and wire.reduce_only:
        pos = engine.account(user).position(market.coin)
        if pos == _ZERO or (pos > _ZERO) == wire.is_buy:
            return "reduceOnlyRejected", "Reduce only order would increase position."
    return None


def place_trigger(engine: ExchangeEngine, user: str, market: MarketSpec, wire: OrderWire,
                  now: int, stage: str = WAITING_FOR_TRIGGER, parent: int | None = None,
                  position_tpsl: bool = False) -> Status:
    """Place one trigger order; ``{"resting": {"oid"}}`` or a per-order error."""
    if wire.cloid is not None and (user, wire.cloid) in engine.open_cloids:
        return {"error": f"Duplicate cloid: an open order already uses {wire.cloid}. "
                         f"asset={market.asset}"}
    problem = _validate(engine, user, market, wire, stage == WAITING_FOR_TRIGGER)
    if problem is not None:
        return engine.reject(user, market, wire, problem[0], problem[1], now)
    record = engine.new_record(user, market, wire, OPEN, now)
    record.trigger_px, record.tpsl, record.is_market = wire.trigger_px, wire.tpsl, wire.is_market
    record.trigger_state, record.parent, record.position_tpsl = stage, parent, position_tpsl
    if wire.cloid is not None:
        engine.open_cloids[(user, wire.cloid)] = record.oid
    engine.pending_updates[user].append(record.update_wire())
    if stage == WAITING_FOR_TRIGGER:
        arm(engine, record, now)
    cloid_part = {"cloid": record.cloid} if record.cloid is not None else {}
    return {"resting": {"oid": record.oid, **cloid_part}}


def arm(engine: ExchangeEngine, record: OrderRecord, now: int) -> None:
    """Start watching the mark for ``record``; fire at once if the condition already holds."""
    record.trigger_state = WAITING_FOR_TRIGGER
    engine.armed.add(record.oid)
    if record.reduce_only:
        engine.reduce_only_open[record.user].add(record.oid)
    if fires(record, engine.mids[record.coin]):
        fire(engine, record, now)


def run_triggers(engine: ExchangeEngine, now: int) -> int:
    """Fire every armed trigger whose condition the current mark meets; returns how many."""
    fired = 0
    for oid in sorted(engine.armed):
        record = engine.orders.get(oid)
        if record is None or record.status != OPEN or record.trigger_state != WAITING_FOR_TRIGGER:
            engine.armed.discard(oid)
            continue
        if fires(record, engine.mids[record.coin]):
            fire(engine, record, now)
            fired += 1
    return fired


def fire(engine: ExchangeEngine, record: OrderRecord, now: int) -> None:
    """The mark crossed the trigger: push ``triggered``, then execute the same oid."""
    engine.armed.discard(record.oid)
    engine.reduce_only_open[record.user].discard(record.oid)  # back if it rests (GTC)
    record.trigger_state = None
    record.status, record.status_ts = "triggered", now
    engine.pending_updates[record.user].append(record.update_wire())
    record.status = OPEN
    record.tif = "Ioc" if record.is_market else "Gtc"
    engine.changes += 1
    market = engine.config.market_by_coin(record.coin)
    account = engine.account(record.user)
    if record.reduce_only:
        pos = account.position(record.coin)
        if pos == _ZERO or (pos > _ZERO) == record.is_buy:
            engine.close_order(record, "reduceOnlyCanceled", now)
            return
        # Shrunk to the position (§13.3); the simulator reports the shrunk size as origSz too.
        record.sz = record.orig_sz = min(record.sz, abs(pos))
    lev = account.leverage_of(record.coin, engine.config.default_leverage)
    if not record.reduce_only and engine.lacks_margin(account, market, record, lev):
        engine.close_order(record, "marginCanceled", now)
        return
    engine.execute(record, market, account, lev, now)


def on_status(engine: ExchangeEngine, record: OrderRecord, status: str, now: int) -> None:
    """Group consequences of an order ending: arm or cancel legs, cancel the sibling."""
    if record.children:
        legs = [engine.orders[c] for c in record.children]
        waiting = [leg for leg in legs if _unarmed(leg)]
        if status == "filled" or (record.filled > _ZERO and status == "marginCanceled"):
            for leg in waiting:
                arm(engine, leg, now)
        elif status != OPEN:
            for leg in waiting:
                engine.close_order(leg, "canceled", now)
    if record.parent is not None and status == "filled":
        parent = engine.orders.get(record.parent)
        for oid in parent.children if parent is not None else ():
            sibling = engine.orders[oid]
            if oid != record.oid and sibling.status == OPEN:
                engine.close_order(sibling, "siblingFilledCanceled", now)


def _leg_problem(orders: list[OrderWire], grouping: str) -> str | None:
    legs = orders[1:] if grouping == "normalTpsl" else orders
    if grouping == "normalTpsl" and (not orders or orders[0].trigger_px is not None):
        return "normalTpsl needs the entry order first."
    if not legs or any(leg.trigger_px is None or not leg.reduce_only for leg in legs):
        return GROUP_NOT_REDUCE_ONLY
    return None


def place_group(engine: ExchangeEngine, user: str, orders: list[OrderWire], grouping: str,
                now: int, place: Callable[[OrderWire], Status]) -> list[Status]:
    """Statuses of a ``normalTpsl`` / ``positionTpsl`` action (one error: nothing placed)."""
    problem = _leg_problem(orders, grouping)
    if problem is not None:
        return [{"error": problem}]
    if grouping == "positionTpsl":
        out: list[Status] = []
        for leg in orders:
            market = engine.markets.get(leg.asset)
            if market is None:
                out.append({"error": f"Invalid asset {leg.asset}."})
                continue
            status = place_trigger(engine, user, market, leg, now, position_tpsl=True)
            out.append(WAITING_FOR_TRIGGER if "resting" in status else status)
        return out
    entry_status = place(orders[0])
    placed = _oid_of(entry_status)
    if placed is None:
        return [entry_status] + [entry_status for _ in orders[1:]]
    entry = engine.orders[placed]
    out = [entry_status]
    market = engine.markets[orders[0].asset]
    filled_now = entry.status == "filled" or (entry.status != OPEN and entry.filled > _ZERO)
    for leg in orders[1:]:
        status = place_trigger(engine, user, market, leg, now, WAITING_FOR_FILL, parent=placed)
        oid = _oid_of(status)
        if oid is None:
            out.append(status)
            continue
        entry.children.append(oid)
        if filled_now:
            arm(engine, engine.orders[oid], now)
        out.append(WAITING_FOR_TRIGGER if filled_now else WAITING_FOR_FILL)
    if entry.status not in (OPEN, "filled") and not filled_now:
        on_status(engine, entry, entry.status, now)  # entry already gone: legs go with it
    return out


def _oid_of(status: Status) -> int | None:
    if isinstance(status, dict):
        for key in ("resting", "filled"):
            if isinstance(status.get(key), dict):
                return int(status[key]["oid"])
    return None


def nested_children(engine: ExchangeEngine, record: OrderRecord) -> list[dict[str, Any]]:
    """Full entries of a resting entry's legs still waiting for it (``frontendOpenOrders``)."""
    legs = [engine.orders[c] for c in record.children]
    return [leg.frontend_wire() for leg in legs if _unarmed(leg)]


def _unarmed(leg: OrderRecord) -> bool:
    return leg.status == OPEN and leg.trigger_state == WAITING_FOR_FILL
