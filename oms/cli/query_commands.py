"""``oms orders``, ``oms history``, ``oms positions``: read the journal, never write it.

Orders and positions are folds of the log (the same fold the engine runs), so they are exact at
any position or time, with or without the SQL read models. Each command opens the journal
read-only and, after its output, fails (exit 1) when the journal does not match its anchor
(``history`` also re-checks the chain link of every event it shows): see ``journal_checks``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from eventstore import read_history
from oms.cli.archive_commands import ArchiveDirOption
from oms.cli.database import open_existing, resolve_url
from oms.cli.errors import CliError, UsageError
from oms.cli.journal_checks import anchor_problem, fail_if, rows_problem
from oms.cli.options import MAX_POSITION, JsonOption, UrlOption, out, run
from oms.cli.parent_history import parent_history, parent_of, print_parent_history
from oms.cli.parent_tree import ParentView, group, load_parents
from oms.domain import ClientOrderId, InFlightOrder, InvalidClientOrderId, order_stream
from oms.engine.lease import journal_binding
from projections import load_state, orders_as_of


def parse_time(text: str) -> datetime:
    """An ISO-8601 time (``2024-05-01T12:00:00Z``; no zone means UTC)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"bad --as-of {text!r}: use an ISO-8601 time such as 2024-05-01T12:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _num(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def order_row(o: InFlightOrder) -> dict[str, Any]:
    """One order as printed (table row or JSON object)."""
    return {
        "client_order_id": str(o.client_order_id),
        "created": datetime.fromtimestamp(o.created_at_ns / 1e9, UTC).isoformat(
            timespec="milliseconds"),
        "pair": o.pair,
        "side": o.side.value,
        "type": o.order_type.value,
        "amount": _num(o.amount),
        "price": _num(o.price),
        "state": o.state.value,
        "executed": _num(o.executed_base),
        "average_price": _num(o.average_price),
        "exchange_order_id": o.exchange_order_id or "",
        "unknown": o.unknown,
        "trigger_price": _num(o.trigger_price),
        "trigger_state": o.trigger_state.value if o.trigger_state is not None else "",
        "parent_id": str(o.parent_id) if o.parent_id is not None else "",
        "grouping": o.grouping.value,
    }


def _kind(row: dict[str, Any]) -> str:
    """``stop_market @2800 waiting_for_trigger`` for a trigger order, else the type."""
    if not row["trigger_price"]:
        return str(row["type"])
    return f"{row['type']} @{row['trigger_price']} {row['trigger_state']}".rstrip()


def orders(
    open_only: Annotated[bool, typer.Option("--open", help="Only non-terminal orders.")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As of this time (ISO-8601, UTC).")
    ] = None,
    position: Annotated[
        int | None,
        typer.Option("--position", min=0, max=MAX_POSITION, help="As of this log position."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=0, max=MAX_POSITION, help="Newest N orders (0: all).")
    ] = 100,
    url: UrlOption = None,
    as_json: JsonOption = False,
    archive_dir: ArchiveDirOption = None,
) -> None:
    """List orders (oldest first) as they stand now, at a time, or at a log position
    (``--archive-dir``: on an archived journal, read the archive files too)."""
    if as_of is not None and position is not None:
        raise UsageError("use --as-of or --position, not both")
    when = parse_time(as_of) if as_of is not None else None
    everything, problem, parents = run(_orders(url, position, when, archive_dir))
    chosen = [o for o in everything if not (open_only and o.is_terminal)]
    chosen.sort(key=lambda o: str(o.client_order_id))  # ids sort by creation time
    shown_rows = [order_row(o) for o in (chosen[-limit:] if limit else chosen)]
    listed = {r["client_order_id"] for r in shown_rows}
    parents = [p for p in parents  # a parent shows with its listed children, or while it works
               if p.state.status in ("working", "paused", "completing")
               or any(c.child_id in listed for c in p.state.children)]
    tree = group(shown_rows, parents)  # parents (TWAP, iceberg) with their children under them
    if as_json:
        out.print_json(data=tree)
        fail_if(problem)
        return
    table = Table(title=f"{len(shown_rows)} of {len(chosen)} orders (--json for every field)",
                  title_justify="left", box=box.SIMPLE)
    table.add_column("client_order_id", no_wrap=True)
    columns = ("pair", "side", "amount", "price", "state", "executed", "average_price")
    for name in columns:
        table.add_column(name, justify="left" if name in ("pair", "side", "state") else "right")
    table.add_column("kind", no_wrap=True)
    table.add_column("parent", no_wrap=True)  # the entry's id ends with these (--json: all)
    for row in tree:
        if "algo" in row:  # a parent line, then its children indented
            table.add_row(row["parent_id"], row["pair"], row["side"], row["amount"],
                          row["price"], row["status"], row["executed"], "", row["progress"],
                          "")  # fmt: skip
            for i, child in enumerate(row["children"]):
                branch = "└─ " if i == len(row["children"]) - 1 else "├─ "
                table.add_row(branch + child["client_order_id"],
                              *(str(child[c]) for c in columns), _kind(child), "")
            continue
        parent = row["parent_id"]
        table.add_row(row["client_order_id"], *(str(row[c]) for c in columns), _kind(row),
                      f"…{parent[-8:]}" if parent else "")
    out.print(table)
    fail_if(problem)


async def _orders(
    url: str | None, position: int | None, when: datetime | None,
    archive_dir: Path | None = None,
) -> tuple[list[InFlightOrder], str | None, list[ParentView]]:
    target = resolve_url(url)
    async with open_existing(target) as store:
        found = await orders_as_of(store, position, when, archive_dir=archive_dir)
        parents = await load_parents(store, position, when)
        return list(found.values()), await anchor_problem(store, target), parents


def history(
    client_order_id: Annotated[str, typer.Argument(help="32 hex characters, or the 0x cloid.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
    archive_dir: ArchiveDirOption = None,
) -> None:
    """Every event of one order, in order, with its log position and time (archives too, with
    ``--archive-dir``)."""
    try:
        cid = (ClientOrderId.from_cloid(client_order_id) if client_order_id.startswith("0x")
               else ClientOrderId.parse(client_order_id.lower()))
    except InvalidClientOrderId as exc:
        raise UsageError(str(exc)) from None
    rows, problem, children, binding = run(_history(url, cid, archive_dir))
    if not rows:
        found = run(_parent_history(url, cid))  # a parent order (TWAP, iceberg)?
        if found is None:
            fail_if(problem)
            raise CliError(f"no order or parent order {cid} in the journal")
        summary, parent_rows, parent_problem = found
        if as_json:
            out.print_json(data={"parent": summary, "events": parent_rows})
        else:
            print_parent_history(summary, parent_rows)
        fail_if(problem or parent_problem)
        return
    if as_json:
        out.print_json(data=rows)
        fail_if(problem)
        return
    created: dict[str, Any] = rows[0]["data"] if rows[0]["type"] == "OrderCreated" else {}
    links = ""
    if created.get("parent_id"):
        links = f" — {created.get('grouping')} leg of {created['parent_id']}"
    if children:
        links += f" — legs: {', '.join(children)}"
    owner = run(_parent_of(url, cid))
    if owner is not None:
        links += f" — slice {owner[1]} of {owner[0].state.spec.kind} {owner[0].state.parent_id}"
    account = (f" — account {binding.get('account')} on {binding.get('venue')}" if binding
               else "")
    table = Table(title=f"order {cid}{account}{links}", title_justify="left")
    for name in ("position", "version", "recorded_at", "type", "data"):
        table.add_column(name, overflow="fold")
    for r in rows:
        details = ", ".join(f"{k}={v}" for k, v in r["data"].items() if k != "client_order_id")
        table.add_row(str(r["position"]), str(r["version"]), r["recorded_at"], r["type"], details)
    out.print(table)
    fail_if(problem)


async def _history(
    url: str | None, cid: ClientOrderId, archive_dir: Path | None = None
) -> tuple[list[dict[str, Any]], str | None, list[str], dict[str, Any] | None]:
    """The order's events (each with the journal's venue and account), a problem with the
    journal's anchor (or None), the ids of its bracket legs when it is a bracket's entry, and
    the journal's account binding (None: no engine ever claimed it)."""
    stream = order_stream(cid)
    target = resolve_url(url)
    async with open_existing(target) as store:
        if archive_dir is None:
            events = [ev async for ev in store.read_stream(stream)]
            problem = await anchor_problem(store, target) or await rows_problem(store, events)
        else:  # archived events are checked against their archive file's own chain
            events = [ev async for ev in read_history(store, archive_dir)
                      if ev.stream_id == stream]
            problem = await anchor_problem(store, target)
        binding = await journal_binding(store)
        venue, account = (binding or {}).get("venue"), (binding or {}).get("account")
        rows: list[dict[str, Any]] = [
            {"position": ev.position, "version": ev.version,
             "recorded_at": ev.recorded_at.isoformat(timespec="milliseconds"),
             "type": ev.type, "data": ev.data, "venue": venue, "account": account}
            for ev in events
        ]
        children: list[str] = []
        first: dict[str, Any] = rows[0]["data"] if rows else {}
        if first.get("grouping") == "normalTpsl" and not first.get("parent_id"):
            everything = await orders_as_of(store, None, None)
            children = sorted(str(c) for c, o in everything.items() if o.parent_id == cid)
    return rows, problem, children, binding


async def _parent_history(
    url: str | None, cid: ClientOrderId
) -> tuple[dict[str, Any], list[dict[str, Any]], str | None] | None:
    target = resolve_url(url)
    async with open_existing(target) as store:
        found = await parent_history(store, str(cid))
        if found is None:
            return None
        summary, rows, problem = found
        return summary, rows, problem or await anchor_problem(store, target)


async def _parent_of(url: str | None, cid: ClientOrderId) -> tuple[ParentView, int] | None:
    async with open_existing(resolve_url(url)) as store:
        return await parent_of(store, str(cid))


def positions(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Per pair: net size, average entry, realized PnL and fees of our own fills, and the
    account's size (with fills placed elsewhere, liquidations, corrections) and funding."""
    rows, problem = run(_positions(url))
    if as_json:
        out.print_json(data=rows)
        fail_if(problem)
        return
    table = Table(title="positions", title_justify="left")
    names = ("pair", "net_size", "average_entry", "realized_pnl", "fees", "fills", "volume",
             "account_size", "funding", "outside_fills")
    for name in names:
        table.add_column(name, justify="left" if name == "pair" else "right")
    for r in rows:
        table.add_row(r["pair"], r["net_size"], r["average_entry"], r["realized_pnl"],
                      ", ".join(f"{v} {k}" for k, v in r["fees"].items()), str(r["fills"]),
                      r["volume"], r["account_size"], r["funding"], str(r["outside_fills"]))
    out.print(table)
    fail_if(problem)


async def _positions(url: str | None) -> tuple[list[dict[str, Any]], str | None]:
    target = resolve_url(url)
    async with open_existing(target) as store:
        state = await load_state(store)
        problem = await anchor_problem(store, target)
    account = state.projector.account.positions
    own = {p.pair: p for p in state.positions}
    rows = []
    for pair in sorted(set(own) | {p for p, v in account.items() if v.size or v.fills}):
        p, a = own.get(pair), account.get(pair)
        rows.append({
            "pair": pair,
            "net_size": _num(p.net_size) if p else "0",
            "average_entry": _num(p.average_entry) if p else "",
            "realized_pnl": _num(p.realized_pnl) if p else "0",
            "fees": {k: _num(v) for k, v in p.fees.items()} if p else {},
            "fills": p.fill_count if p else 0,
            "volume": _num(p.volume) if p else "0",
            "account_size": _num(a.size) if a else "0",
            "funding": _num(a.funding) if a else "0",
            "outside_fills": a.outside_fills if a else 0,
        })  # fmt: skip
    return rows, problem
