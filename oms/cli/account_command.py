"""``oms account [--as-of TIME | --position N] [--json]``: the account as the journal tells it.

The account is a fold of the journal (our fills, fills placed elsewhere, funding, ledger
updates, the exchange's observations and the corrections), so it is exact at any position or
time. Read only: a missing database is reported, never created.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from oms.cli.database import open_existing, resolve_url
from oms.cli.options import JsonOption, UrlOption, out, run
from oms.cli.query_commands import parse_time
from oms.domain.account import AccountState, is_spot_pair
from projections import load_state, projector_as_of

_POSITION_COLUMNS = (
    "pair", "size", "entry_price", "realized_trading", "fees", "funding", "realized_pnl",
    "outside_fills", "mark_price", "unrealized_pnl", "margin_used", "leverage",
    "liquidation_price",
)  # fmt: skip


def _num(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def account_rows(account: AccountState) -> dict[str, Any]:
    """The account as printed (JSON): a summary and one row per perp position."""
    positions = []
    for pair, p in sorted(account.positions.items()):
        if is_spot_pair(pair):
            continue
        positions.append({
            "pair": pair, "size": _num(p.size), "entry_price": _num(p.entry_price),
            "realized_trading": _num(p.realized_trading), "fees": _num(p.fees),
            "funding": _num(p.funding), "realized_pnl": _num(p.realized_pnl),
            "outside_fills": p.outside_fills, "mark_price": _num(p.mark_price),
            "unrealized_pnl": _num(p.unrealized_pnl), "margin_used": _num(p.margin_used),
            "leverage": "" if p.leverage is None else f"{p.leverage} {p.leverage_type or ''}",
            "liquidation_price": _num(p.liquidation_price),
        })  # fmt: skip
    summary = {
        "cash": _num(account.cash),
        "realized_pnl": _num(account.realized_pnl),
        "ledger": _num(account.ledger),
        "account_value": _num(account.account_value),
        "withdrawable": _num(account.withdrawable),
        "total_margin_used": _num(account.total_margin_used),
        "observed_at_ms": account.observed_at_ms,
        "corrections": account.corrections,
        "anomalies": account.anomalies,
        "kill_switch": account.kill_switch,
        "spot": {k: _num(v) for k, v in sorted(account.spot.items())},
    }
    return {"summary": summary, "positions": positions}


def account(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO-8601 time (UTC): the account then.")
    ] = None,
    position: Annotated[
        int | None, typer.Option("--position", help="Journal position: the account then.")
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The account: positions incl. fills placed elsewhere, realized PnL (trading, fees,
    funding), cash, the exchange's margin figures, corrections — now or as of a time/position."""
    when = parse_time(as_of) if as_of is not None else None
    data = run(_account(url, position, when))
    if as_json:
        out.print_json(data=data)
        return
    summary = Table(title="account", title_justify="left", show_header=False)
    summary.add_column("field")
    summary.add_column("value", justify="right")
    for key, value in data["summary"].items():
        shown = ", ".join(f"{v} {k}" for k, v in value.items()) if isinstance(value, dict) else (
            "" if value is None else str(value))
        summary.add_row(key, shown)
    out.print(summary)
    table = Table(title="positions (account)", title_justify="left")
    for name in _POSITION_COLUMNS:
        table.add_column(name, justify="left" if name == "pair" else "right")
    for row in data["positions"]:
        table.add_row(*(str(row[name]) for name in _POSITION_COLUMNS))
    out.print(table)


async def _account(url: str | None, position: int | None, when: Any) -> dict[str, Any]:
    async with open_existing(resolve_url(url)) as store:
        if position is None and when is None:
            state = (await load_state(store)).projector.account
        else:
            state = (await projector_as_of(store, position, when)).account
    return account_rows(state)
