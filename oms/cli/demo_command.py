"""``oms demo``: the crash demo, shown as rich tables (see ``oms.demo`` for what it does)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from oms.cli.errors import CliError
from oms.cli.options import out, run
from oms.demo import Comparison, DemoError, DemoResult, run_demo

_STEP_DETAIL: dict[str, Callable[[dict[str, Any]], str]] = {
    "replay": lambda r: f"{r['events_replayed']} events folded from the journal",
    "verify": lambda r: f"hash chain of {r['chain_verified']} events recomputed",
    "connect": lambda r: "REST session, trading rules, WebSocket streams",
    "reconcile": lambda r: (
        f"{r['orders_checked']} active orders checked, {r['orders_queried_by_cloid']} "
        "queried by cloid"
    ),
    "fills": lambda r: f"{r['fills_fetched']} fills fetched to close the gap (duplicates dropped)",
    "sweep": lambda r: f"{r['unknown_open_orders']} open orders unknown to the journal",
    "journal": lambda r: f"{r['corrections']} correction events journaled",
}


def _amount(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f}"


def _recovery_table(result: DemoResult) -> Table:
    report = result.recovery
    table = Table(title="Restart: recovery report of engine #2", title_justify="left")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("what it did")
    for step, seconds in report.get("durations_s", {}).items():
        describe = _STEP_DETAIL.get(step)
        detail = describe(report) if describe else ""
        table.add_row(step, f"{seconds:.4f}", detail)
    table.add_section()
    table.add_row("total", f"{report.get('total_s', 0):.4f}",
                  f"{report.get('active_orders_before', 0)} active orders before, "
                  f"{report.get('active_orders_after', 0)} after")
    table.add_row("process", f"{result.restart_seconds:.4f}",
                  "spawn to ready, Python start-up included")
    return table


def _side(state: str, amount: Decimal | None, fills: int) -> str:
    if amount is None:
        return state
    return f"{state} {_amount(amount)} ({fills} fill{'s' if fills != 1 else ''})"


def _orders_table(title: str, comparison: Comparison) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("cloid")
    table.add_column("order")
    table.add_column("engine: state executed (fills)")
    table.add_column("exchange: status filled (fills)")
    table.add_column("match")
    for c in comparison.orders:
        mark = "[green]✓[/]" if c.ok else f"[red]✗ {c.problem}[/]"
        # Ids are time-ordered, so their heads repeat: the tail tells orders apart.
        table.add_row("…" + c.cloid[-8:], f"{c.side} {c.pair}",
                      _side(c.engine_state, c.engine_executed, c.engine_fills),
                      _side(c.exchange_status, c.exchange_filled, c.exchange_fills), mark)
    return table


def _positions_table(comparison: Comparison) -> Table:
    table = Table(title="Positions: engine vs exchange", title_justify="left")
    table.add_column("pair")
    table.add_column("engine net size", justify="right")
    table.add_column("exchange net size", justify="right")
    table.add_column("match")
    for p in comparison.positions:
        table.add_row(p.pair, _amount(p.engine), _amount(p.exchange),
                      "[green]✓[/]" if p.ok else "[red]✗[/]")
    if not comparison.positions:
        table.add_row("(none)", "0", "0", "[green]✓[/]")
    return table


def _usdc(value: Decimal) -> str:
    # Shown to the micro-USDC (the exchange's precision); compared exactly to it.
    return f"{value.quantize(Decimal('0.000001')).normalize():f}"


def _account_table(comparison: Comparison) -> Table:
    table = Table(title="Account: engine vs exchange (funding and a trade made elsewhere "
                  "included)", title_justify="left")
    table.add_column("figure")
    table.add_column("engine", justify="right")
    table.add_column("exchange", justify="right")
    table.add_column("match")
    for a in comparison.account:
        table.add_row(a.name, _usdc(a.engine), _usdc(a.exchange),
                      "[green]✓[/]" if a.ok else "[red]✗[/]")
    return table


def _verdict(label: str, comparison: Comparison) -> str:
    n_orders, n_pos = len(comparison.orders), len(comparison.positions)
    if comparison.differences == 0:
        extra = f" and {len(comparison.account)} account figures" if comparison.account else ""
        return (f"[bold green]✓ {label}: all {n_orders} orders (state, executed amount, fills), "
                f"{n_pos} positions{extra} equal the exchange's truth[/]")
    return f"[bold red]✗ {label}: {comparison.differences} differences with the exchange[/]"


def _kill_note(result: DemoResult) -> str | None:
    journaled = int(result.recovery.get("orders_in_journal", 0))
    lost = result.killed_after - journaled
    comparison = result.after_recovery
    if lost <= 0 or comparison is None:
        return None
    unknown = sum(c.problem == "on the exchange but unknown to the engine"
                  for c in comparison.orders)
    note = (f"buy()/sell() had returned {result.killed_after} times before the kill; "
            f"{journaled} orders were durable in the journal, {lost} not yet")
    if unknown == 0:
        note += ": journal before network, so those never reached the exchange either"
    return note


def _show(result: DemoResult) -> None:
    note = _kill_note(result)
    if note:
        out.print(f"[cyan]•[/] {note}")
    out.print()
    out.print(_recovery_table(result))
    assert result.after_recovery is not None
    out.print(_orders_table("Orders after the crash and restart: engine vs exchange",
                            result.after_recovery))
    out.print(_positions_table(result.after_recovery))
    if result.after_recovery.account:
        out.print(_account_table(result.after_recovery))
    out.print(_verdict("after the restart", result.after_recovery))
    if result.at_end is not None:
        if result.at_end.differences:
            out.print(_orders_table("Orders at the end: engine vs exchange", result.at_end))
            out.print(_positions_table(result.at_end))
            out.print(_account_table(result.at_end))
        out.print(_verdict("after trading on to the end", result.at_end))


def demo(
    seed: Annotated[int, typer.Option(help="Seed of the exchange's market and the strategy.")] = 7,
    orders: Annotated[int, typer.Option(min=2, max=500, help="Orders the strategy places.")] = 30,
    url: Annotated[
        str | None,
        typer.Option(help="A NEW journal database (default: a SQLite file in a temp folder)."),
    ] = None,
    exchange: Annotated[
        str, typer.Option(help="The local exchange to trade on: hyperliquid or dydx.")
    ] = "hyperliquid",
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the temporary folder (journal, engine log).")
    ] = False,
) -> None:
    """Trade on a local exchange, SIGKILL the engine mid-trading, restart it, compare with truth.

    Exit code 1 if any order, position or account figure differs from the exchange.
    """
    journal = None
    if url is not None:
        from oms.cli.database import resolve_url

        journal = resolve_url(url).render_as_string(hide_password=False)

    def say(line: str) -> None:
        out.print(f"[cyan]•[/] {line}")

    if exchange not in ("hyperliquid", "dydx"):
        raise CliError(f"--exchange {exchange!r}: expected hyperliquid or dydx")
    try:
        if exchange == "dydx":
            from oms.demo.dydx import run_demo_dydx

            result = run(run_demo_dydx(seed, orders, journal, say, keep=keep))
        else:
            result = run(run_demo(seed, orders, journal, say, keep=keep))
    except DemoError as exc:
        raise CliError(str(exc)) from exc
    if url is not None or result.kept is not None:
        say(f"journal: {_shown_url(result)}")
    if result.kept is not None:
        say(f"the demo's files are kept in {result.kept}")
    _show(result)
    if result.differences:
        raise typer.Exit(1)


def _shown_url(result: DemoResult) -> Any:
    from sqlalchemy.engine import make_url

    return make_url(result.journal_url).render_as_string(hide_password=True)
