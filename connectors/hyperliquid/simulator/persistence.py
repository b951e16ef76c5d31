"""Save and load the whole exchange (accounts, orders, books, fills, nonces, agents, market
maker) as one JSON file, written atomically (temp file + fsync + rename).

Books are not stored: they are rebuilt from the open orders in oid order, which is their time
priority. Example::

    save_state(Path("sim.json"), engine, mm)
    state = load_state(Path("sim.json"))     # None when the file does not exist
    if state: restore(engine, mm, state)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from .accounts import Account, Position
from .auth import AgentBook, NonceBook
from .engine import OPEN, ExchangeEngine
from .market_maker import MarketMaker
from .matching import RestingOrder
from .records import OrderRecord

FORMAT_VERSION = 1


class StateFileError(RuntimeError):
    """The state file cannot be read back; move it aside or delete it to start fresh."""


def _account_state(account: Account) -> dict[str, Any]:
    return {
        "usdc": str(account.usdc), "spot": {k: str(v) for k, v in account.spot.items()},
        "positions": {c: [str(p.szi), str(p.entry_px)] for c, p in account.positions.items()},
        "leverage": {c: list(v) for c, v in account.leverage.items()},
        "isolated_extra": {c: str(v) for c, v in account.isolated_extra.items()},
        "order_margin": str(account.order_margin), "cum_volume": str(account.cum_volume),
        "n_requests": account.n_requests, "house": account.house,
    }


def _account_from(raw: dict[str, Any]) -> Account:
    return Account(
        usdc=Decimal(raw["usdc"]), spot={k: Decimal(v) for k, v in raw["spot"].items()},
        positions={c: Position(Decimal(s), Decimal(e)) for c, (s, e) in raw["positions"].items()},
        leverage={c: (int(v[0]), bool(v[1])) for c, v in raw["leverage"].items()},
        isolated_extra={c: Decimal(v) for c, v in raw.get("isolated_extra", {}).items()},
        order_margin=Decimal(raw["order_margin"]), cum_volume=Decimal(raw["cum_volume"]),
        n_requests=int(raw["n_requests"]), house=bool(raw["house"]))


def snapshot(engine: ExchangeEngine, mm: MarketMaker) -> dict[str, Any]:
    """Everything needed to continue where we left off, JSON-ready."""
    return {
        "version": FORMAT_VERSION,
        "next_oid": engine.next_oid, "next_tid": engine.next_tid,
        "mids": {c: str(m) for c, m in engine.mids.items()},
        "accounts": {u: _account_state(a) for u, a in engine.accounts.items()},
        "orders": [r.to_state() for r in engine.orders.values()],
        "fills": engine.fills,
        "scheduled_cancels": engine.scheduled_cancels,
        "nonces": engine.nonces.snapshot(),
        "agents": {a: list(v) for a, v in engine.agents.agents.items()},
        "links": {a: list(v) for a, v in engine.links.items()},
        "auto_created": engine.auto_created,
        "builder_approvals": [[u, b, t] for (u, b), t in engine.builder_approvals.items()],
        "builder_fees": {str(oid): [b, str(r)] for oid, (b, r) in engine.builder_fees.items()},
        "referrers": engine.referrers,
        "market_maker": mm.to_state(),
        "twaps": engine.twaps.to_state(),
    }


def restore(engine: ExchangeEngine, mm: MarketMaker, state: dict[str, Any]) -> None:
    """Load a :func:`snapshot` into a fresh engine and market maker."""
    if state.get("version") != FORMAT_VERSION:
        raise StateFileError(f"state file version {state.get('version')!r} is not "
                             f"{FORMAT_VERSION}: delete the file to start a fresh exchange")
    engine.next_oid, engine.next_tid = int(state["next_oid"]), int(state["next_tid"])
    engine.mids.update({c: Decimal(m) for c, m in state["mids"].items()})
    engine.accounts = {u: _account_from(a) for u, a in state["accounts"].items()}
    engine.fills = defaultdict(list, state["fills"])
    engine.scheduled_cancels = {u: int(t) for u, t in state["scheduled_cancels"].items()}
    engine.nonces = NonceBook(state["nonces"])
    engine.agents = AgentBook({a: (v[0], v[1]) for a, v in state["agents"].items()})
    # Files written before vaults/sub-accounts and the auto-creation cap have neither key.
    engine.links = {a: (v[0], v[1]) for a, v in state.get("links", {}).items()}
    engine.auto_created = int(state.get("auto_created", 0))
    engine.builder_approvals = {(u, b): int(t) for u, b, t in state.get("builder_approvals", [])}
    engine.builder_fees = {int(oid): (b, Decimal(r))
                           for oid, (b, r) in state.get("builder_fees", {}).items()}
    engine.referrers = dict(state.get("referrers", {}))
    records = sorted((OrderRecord.from_state(r) for r in state["orders"]), key=lambda r: r.oid)
    for record in records:
        engine.orders[record.oid] = record
        if not engine.accounts.get(record.user, Account()).house:
            engine.user_orders[record.user].append(record.oid)
            if record.cloid is not None:
                engine.last_cloids[(record.user, record.cloid)] = record.oid
        if record.status == OPEN:
            if record.cloid is not None:
                engine.open_cloids[(record.user, record.cloid)] = record.oid
            if record.trigger_state == "waitingForTrigger":
                engine.armed.add(record.oid)
            if record.reduce_only and record.trigger_state != "waitingForFill":
                engine.reduce_only_open[record.user].add(record.oid)
            if record.waiting:
                continue  # an unfired trigger is not on the book
            engine.books[record.coin].add(RestingOrder(
                record.oid, record.user, record.is_buy, record.limit_px, record.sz,
                record.orig_sz, record.timestamp))
    mm.load_state(state["market_maker"])
    engine.twaps.load(state.get("twaps"))  # files from before native TWAP have none


def encode(state: dict[str, Any]) -> bytes:
    """Serialise a snapshot (cheap; runs on the event loop so the snapshot is consistent)."""
    return orjson.dumps(state)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file."""
    # A temporary name of its own per write: a periodic save and the save at stop may overlap
    # (one in a worker thread), and a shared ".tmp" would let one rename the other's file away.
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_state(path: Path) -> dict[str, Any] | None:
    """The saved snapshot, or None when there is no file yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        state = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise StateFileError(f"state file {path} is not valid JSON: delete it or restore a "
                             "backup") from exc
    if not isinstance(state, dict):
        raise StateFileError(f"state file {path} does not hold an object: delete it")
    return state
