"""``oms history PARENT_ID``: a parent order's events as a tree, each child's events under the
``SliceReleased`` that made it (and, for a child's id, which parent and slice it belongs to).

JSON: the parent's event rows, each ``SliceReleased`` row carrying ``"child"``: that child's own
event rows (empty for a slice never sent); plus ``"parent"``, the parent's summary.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from eventstore import EventStore, RecordedEvent
from oms.cli.journal_checks import rows_problem
from oms.cli.options import out
from oms.cli.parent_tree import ParentView, load_parent, load_parents, parent_row
from oms.domain import order_stream
from oms.domain.parent import parent_stream


def _row(ev: RecordedEvent) -> dict[str, Any]:
    return {"position": ev.position, "version": ev.version,
            "recorded_at": ev.recorded_at.isoformat(timespec="milliseconds"),
            "type": ev.type, "data": ev.data}  # fmt: skip


async def parent_history(
    store: EventStore, parent_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]], str | None] | None:
    """The parent's summary, its event rows (children's rows nested) and a chain problem, or
    None when the journal has no parent with this id."""
    view = await load_parent(store, parent_id)
    if view is None:
        return None
    events = [ev async for ev in store.read_stream(parent_stream(parent_id))]
    problem = await rows_problem(store, events)
    rows = [_row(ev) for ev in events]
    for row in rows:
        if row["type"] == "SliceReleased":
            child = [ev async for ev in store.read_stream(order_stream(row["data"]["child_id"]))]
            problem = problem or await rows_problem(store, child)
            row["child"] = [_row(ev) for ev in child]
    return parent_row(view, []), rows, problem


async def parent_of(store: EventStore, child_id: str) -> tuple[ParentView, int] | None:
    """The parent that released ``child_id`` and the slice index, if any."""
    for view in await load_parents(store):
        for child in view.state.children:
            if child.child_id == child_id:
                return view, child.index
    return None


def print_parent_history(summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """The parent's events as a table; each child's events indented under its slice."""
    title = (f"{summary['algo']} {summary['parent_id']} {summary['side']} {summary['amount']} "
             f"{summary['pair']} @ {summary['price']}: {summary['status']}, "
             f"{summary['progress']}")  # fmt: skip
    if summary["reason"]:
        title += f" — {summary['reason']}"
    table = Table(title=title, title_justify="left")
    for name in ("position", "version", "recorded_at", "type", "data"):
        table.add_column(name, overflow="fold")
    for r in rows:
        details = ", ".join(f"{k}={v}" for k, v in r["data"].items() if k != "parent_id")
        table.add_row(str(r["position"]), str(r["version"]), r["recorded_at"], r["type"], details)
        children = r.get("child")
        if children is None:
            continue
        if not children:
            table.add_row("", "", "", "   └─ (never journaled: never sent)", "")
        for i, c in enumerate(children):
            branch = "   └─ " if i == len(children) - 1 else "   ├─ "
            data = ", ".join(f"{k}={v}" for k, v in c["data"].items() if k != "client_order_id")
            table.add_row(str(c["position"]), str(c["version"]), c["recorded_at"],
                          branch + c["type"], data)
    out.print(table)
