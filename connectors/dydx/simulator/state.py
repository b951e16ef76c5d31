"""The state file of the local dYdX exchange: a restart continues the same chain.

``oms sim --exchange dydx --state-file F`` loads ``F`` at start (when it exists) and writes it on
shutdown (atomically: a temporary file, fsync, rename). Kept: the block height and time, accounts
(number, sequence), subaccounts (USDC, positions), oracle prices, every stateful order (long-term
on the book, conditional ones untriggered or triggered) and finished order of the users, and the
Indexer's rows (orders, fills, positions, funding payments, transfers). Not kept, as on a real
validator restart: short-term orders and cancels (they live in the validators' memory only),
the mempool, and the house market maker's quotes (it re-quotes at the first block).

A file that is not a state of this exchange, or of another chain id, is refused with a message
that says so (:class:`StateFileError`); nothing is half loaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.dydx.simulator.book import SimOrder
from connectors.dydx.simulator.ledger import Account, Position, Subaccount

if TYPE_CHECKING:
    from connectors.dydx.simulator.server import DydxSimulator

VERSION = 1
_ORDER_FIELDS = {f.name for f in fields(SimOrder)}


class StateFileError(ValueError):
    """The state file cannot be loaded (not ours, another chain, damaged): nothing was loaded."""


def _sub_key(key: tuple[str, int]) -> str:
    return f"{key[0]}/{key[1]}"


def _parse_sub_key(text: str) -> tuple[str, int]:
    owner, _, number = text.rpartition("/")
    return owner, int(number)


def _order(data: dict[str, Any]) -> SimOrder:
    data = {k: v for k, v in data.items() if k in _ORDER_FIELDS}
    data["key"] = tuple(data["key"])
    return SimOrder(**data)


def dump_state(sim: DydxSimulator) -> dict[str, Any]:
    """The exchange's state as JSON-able data (takes the chain lock)."""
    chain, db = sim.chain, sim.db
    untracked = chain.untracked
    with chain.lock:
        clob = chain.clob
        stateful = [o for o in clob.live.values() if not o.is_short_term]
        return {
            "version": VERSION, "chain_id": sim.config.chain_id,
            "height": chain.height, "block_time": chain.block_time,
            "oracle": {t: str(p) for t, p in chain.oracle_prices.items()},
            "accounts": [asdict(a) | {"public_key": a.public_key.hex() if a.public_key else None}
                         for a in chain.ledger.accounts.values() if a.address not in untracked],
            "subaccounts": {
                _sub_key(k): {"usdc": s.usdc, "positions": {str(c): [p.quantums, p.open_cost]
                                                            for c, p in s.positions.items()}}
                for k, s in chain.ledger.subaccounts.items() if k[0] not in untracked},
            "orders": {
                "live": [asdict(o) for o in stateful if o.key[0] not in untracked],
                "untriggered": [asdict(o) for o in clob.conditionals.untriggered.values()],
                "triggered": [asdict(o) for o in clob.conditionals.triggered.values()],
                "done": [asdict(o) for o in clob.done.values()],
            },
            "counters": {"priority": clob._priority, "event_index": clob._event_index},
            "fill_log": {_sub_key(k): v for k, v in chain.fill_log.items()},
            "indexer": {
                "height": db.height, "time": db.time, "orders": db.orders,
                "fills": {_sub_key(k): v for k, v in db.fills.items()},
                "positions": {_sub_key(k): v for k, v in db.positions.items()},
                "trades": db.trades,
                "usdc": {_sub_key(k): v for k, v in db.usdc.items()},
                "open_costs": {_sub_key(k): {str(c): list(v) for c, v in costs.items()}
                               for k, costs in db.open_costs.items()},
                "funding": {_sub_key(k): v for k, v in db.funding.items()},
                "transfers": {_sub_key(k): v for k, v in db.transfers.items()},
            },
        }


def save_state(sim: DydxSimulator, path: Path) -> None:
    """Write the state to ``path`` atomically."""
    text = json.dumps(dump_state(sim), default=_jsonable)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def load_state(sim: DydxSimulator, path: Path, missing_ok: bool = False) -> None:
    """Load ``path`` into a simulator that has not started; raises :class:`StateFileError`
    (a missing file too, unless ``missing_ok``: then the chain starts fresh)."""
    if missing_ok and not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateFileError(f"cannot read the dYdX state file {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise StateFileError(f"{path} is not a state file of the local dYdX exchange"
                             f" (version {VERSION}); move it away or pass another --state-file")
    if data.get("chain_id") != sim.config.chain_id:
        raise StateFileError(f"{path} holds chain {data.get('chain_id')!r}, not"
                             f" {sim.config.chain_id!r}")
    try:
        _apply(sim, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"{path} is damaged ({type(exc).__name__}: {exc}); nothing was"
                             " loaded") from None


def _apply(sim: DydxSimulator, data: dict[str, Any]) -> None:
    # Parse everything first; assign only once every part has parsed.
    accounts = [Account(a["address"], a["number"], a["sequence"], a["sequence"],
                        bytes.fromhex(a["public_key"]) if a["public_key"] else None)
                for a in data["accounts"]]
    subs = {_parse_sub_key(k): Subaccount(v["usdc"], {int(c): Position(q, cost) for c, (q, cost)
                                                       in v["positions"].items()})
            for k, v in data["subaccounts"].items()}
    orders = {name: [_order(o) for o in rows] for name, rows in data["orders"].items()}
    oracle = {t: Decimal(p) for t, p in data["oracle"].items()}
    idx = data["indexer"]
    chain, db = sim.chain, sim.db
    with chain.lock:
        chain.height, chain.block_time = int(data["height"]), int(data["block_time"])
        chain.oracle_prices.update(oracle)
        for account in accounts:
            chain.ledger.accounts[account.address] = account
        chain.ledger.subaccounts.update(subs)
        clob = chain.clob
        for order in orders["live"]:
            clob.live[order.key] = order
            clob.books[order.key[4]].add(order)
        clob.conditionals.untriggered = {o.key: o for o in orders["untriggered"]}
        clob.conditionals.triggered = {o.key: o for o in orders["triggered"]}
        clob.done = {o.key: o for o in orders["done"]}
        clob._priority = int(data["counters"]["priority"])
        clob._event_index = int(data["counters"]["event_index"])
        chain.fill_log = {_parse_sub_key(k): v for k, v in data["fill_log"].items()}
        for events in chain.fill_log.values():
            for event in events:
                event["key"] = tuple(event["key"])
        chain.drop_pending_events()
    db.height, db.time, db.orders, db.trades = idx["height"], idx["time"], idx["orders"], \
        idx["trades"]
    db.fills = {_parse_sub_key(k): v for k, v in idx["fills"].items()}
    db.positions = {_parse_sub_key(k): v for k, v in idx["positions"].items()}
    db.usdc = {_parse_sub_key(k): v for k, v in idx["usdc"].items()}
    db.open_costs = {_parse_sub_key(k): {int(c): (v[0], v[1]) for c, v in costs.items()}
                     for k, costs in idx["open_costs"].items()}
    db.funding = {_parse_sub_key(k): v for k, v in idx["funding"].items()}
    db.transfers = {_parse_sub_key(k): v for k, v in idx["transfers"].items()}
