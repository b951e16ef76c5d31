"""Parent orders (TWAP, iceberg: ``oms.algos``) for ``oms orders`` and ``oms history``, as a tree.

A parent lives in its own ``algo-<id>`` stream and names its children in ``SliceReleased``
events; the children are ordinary orders. These helpers fold the parent streams (up to a log
position or a time, like the orders) and group order rows under their parent, so a listing shows
one parent line with its progress and its children indented under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eventstore import EventStore
from oms.domain.parent import (
    PARENT_INDEX_STREAM,
    ParentDecodeError,
    ParentOpened,
    ParentState,
    decode_parent,
    evolve,
    parent_stream,
)


@dataclass(frozen=True, slots=True)
class ParentView:
    """One parent as journaled up to the chosen point, and when it was created."""

    state: ParentState
    created_ns: int


def _visible(position: int, recorded_at: datetime, upto: int | None,
             when: datetime | None) -> bool:  # fmt: skip
    return (upto is None or position <= upto) and (when is None or recorded_at <= when)


async def load_parent(
    store: EventStore, parent_id: str, upto: int | None = None, when: datetime | None = None
) -> ParentView | None:
    """The fold of one parent's stream (None when the journal has no such parent)."""
    state: ParentState | None = None
    created = 0
    async for row in store.read_stream(parent_stream(parent_id)):
        if not _visible(row.position, row.recorded_at, upto, when):
            break
        event = decode_parent(row.type, row.data)
        if isinstance(event, ParentOpened):
            raise ParentDecodeError(f"index event in parent stream {parent_id}")
        state = evolve(state, event)
        created = created or int(row.recorded_at.timestamp() * 1e9)
    return None if state is None else ParentView(state, created)


async def load_parents(
    store: EventStore, upto: int | None = None, when: datetime | None = None
) -> list[ParentView]:
    """Every parent the journal's index names, oldest first."""
    found: list[ParentView] = []
    async for row in store.read_stream(PARENT_INDEX_STREAM):
        if not _visible(row.position, row.recorded_at, upto, when):
            break
        opened = decode_parent(row.type, row.data)
        if isinstance(opened, ParentOpened):
            view = await load_parent(store, opened.parent_id, upto, when)
            if view is not None:
                found.append(view)
    return found


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def progress(state: ParentState) -> str:
    """``twap 0.3/0.5 (60%) 3 children`` — the parent line's summary."""
    spec = state.spec
    share = state.executed / spec.amount * 100 if spec.amount else Decimal(0)
    return (f"{spec.kind} {_num(state.executed)}/{_num(spec.amount)} ({share:.0f}%) "
            f"{len(state.children)} children")  # fmt: skip


def parent_row(view: ParentView, children: list[dict[str, Any]]) -> dict[str, Any]:
    """One parent as printed: its spec, status, progress and its children's order rows."""
    s, spec = view.state, view.state.spec
    return {
        "parent_id": s.parent_id,
        "algo": spec.kind,
        "created": datetime.fromtimestamp(view.created_ns / 1e9, UTC).isoformat(
            timespec="milliseconds"),
        "pair": spec.pair,
        "side": spec.side,
        "amount": _num(spec.amount),
        "price": _num(spec.price),
        "display": _num(spec.display) if spec.kind == "iceberg" else "",
        "end": datetime.fromtimestamp(spec.end_ns / 1e9, UTC).isoformat(timespec="seconds")
        if spec.kind == "twap" else "",
        "status": s.status,
        "executed": _num(s.executed),
        "progress": progress(s),
        "reason": s.reason,
        "anomalies": list(s.anomalies),
        "children": children,
    }


def group(rows: list[dict[str, Any]], parents: list[ParentView]) -> list[dict[str, Any]]:
    """Order rows with every parent's children moved under a parent row (placed where its
    first child was, or at the end when none of its children is listed)."""
    owner = {c.child_id: p for p in parents for c in p.state.children}
    kids: dict[str, list[dict[str, Any]]] = {p.state.parent_id: [] for p in parents}
    out: list[dict[str, Any]] = []
    placed: set[str] = set()
    for row in rows:
        parent = owner.get(row["client_order_id"])
        if parent is None:
            out.append(row)
            continue
        pid = parent.state.parent_id
        kids[pid].append(row)
        if pid not in placed:
            placed.add(pid)
            out.append({"__parent__": pid})
    by_id = {p.state.parent_id: p for p in parents}
    out += [{"__parent__": p.state.parent_id} for p in parents if p.state.parent_id not in placed]
    return [parent_row(by_id[r["__parent__"]], kids[r["__parent__"]]) if "__parent__" in r
            else r for r in out]  # fmt: skip
