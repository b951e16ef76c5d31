"""The ``oms`` command tree (typer). ``oms.cli.main`` runs it with one-line error handling."""

from __future__ import annotations

from typing import Annotated

import typer

from oms.cli.account_command import account
from oms.cli.archive_commands import archive, restore
from oms.cli.audit_commands import audit_app
from oms.cli.ctl_command import ctl_app
from oms.cli.db_commands import db_app
from oms.cli.demo_command import demo
from oms.cli.query_commands import history, orders, positions
from oms.cli.recover_command import recover
from oms.cli.replay_command import replay_command
from oms.cli.run_command import feed, run
from oms.cli.sim_command import sim

app = typer.Typer(
    name="oms",
    help="Event-sourced order management for Hyperliquid: demo, local exchange, journal tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks on errors (or OMS_DEBUG=1).")
    ] = False,
) -> None:
    """Event-sourced order management for Hyperliquid."""
    # ``main`` reads --debug from argv itself: errors may happen before this callback runs.


app.command()(demo)
app.command()(sim)
app.command()(orders)
app.command()(history)
app.command()(positions)
app.command()(account)
app.command("replay")(replay_command)
app.command()(recover)
app.add_typer(db_app, name="db")
audit_app.command("archive")(archive)
audit_app.command("restore")(restore)
app.add_typer(audit_app, name="audit")
app.command()(run)
app.command()(feed)
app.add_typer(ctl_app, name="ctl")
