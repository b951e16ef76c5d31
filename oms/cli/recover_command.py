"""``oms recover``: run the engine's start-up against an exchange, print the report, stop.

Start-up is recovery: replay the journal, verify its chain, ask the exchange about every
unfinished order, fetch missed fills, sweep unknown open orders, journal the corrections. This
command does exactly that (it places no order) and shows what it did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from connectors.hyperliquid import HyperliquidConnector
from oms.cli.account_option import AccountOption, check_account
from oms.cli.database import resolve_url
from oms.cli.errors import redact_urls
from oms.cli.keys import load_private_key
from oms.cli.options import UrlOption, out, run
from oms.engine import OrderManager


async def _recover(url: str, exchange: str, key: str, mainnet: bool,
                   account: str | None, perp_dexs: list[str] | None = None) -> dict[str, Any]:
    connector = HyperliquidConnector(exchange, private_key=key, is_mainnet=mainnet,
                                     account_address=account, perp_dexs=perp_dexs)
    manager = await OrderManager.open(url, connector)
    try:
        assert manager.recovery_report is not None
        report = manager.recovery_report.as_dict()
        report["account"] = connector.account
        return report
    finally:
        await manager.close()


def recover(
    exchange: Annotated[str, typer.Option(help="Exchange base URL, e.g. http://127.0.0.1:8080 "
                                          "(`oms sim`) or https://api.hyperliquid.xyz.")],
    keystore: Annotated[
        Path | None, typer.Option(help="Encrypted eth-account keystore (password from "
                                  "$OMS_KEYSTORE_PASSWORD or a prompt); default $HL_PRIVATE_KEY.")
    ] = None,
    mainnet: Annotated[bool, typer.Option(help="Sign for mainnet.")] = False,
    account: AccountOption = None,
    url: UrlOption = None,
    perp_dex: Annotated[
        list[str] | None, typer.Option(help="HIP-3 dex to reconcile besides the first one "
                                       "(repeatable); default: every dex the exchange lists.")
    ] = None,
) -> None:
    """Recover the journal against the exchange (replay, verify, reconcile); places no order."""
    key = load_private_key(keystore)
    account_address = check_account(account)
    journal = resolve_url(url).render_as_string(hide_password=False)
    report = run(_recover(journal, exchange, key, mainnet, account_address, perp_dex))
    out.print(f"account {report.pop('account')} recovered against {redact_urls(exchange)}")
    table = Table(title="recovery report", title_justify="left")
    table.add_column("item")
    table.add_column("value", justify="right")
    durations = report.pop("durations_s")
    for name, value in report.items():
        table.add_row(name, str(value))
    for step, seconds in durations.items():
        table.add_row(f"{step} (s)", f"{seconds:.4f}")
    out.print(table)
