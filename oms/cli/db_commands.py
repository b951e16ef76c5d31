"""``oms db upgrade | current | history``: the schema, through Alembic."""

from __future__ import annotations

import typer
from sqlalchemy.engine import URL

from eventstore import database_revision, revision_history, upgrade_database
from oms.cli.database import require_existing, resolve_url, shown
from oms.cli.errors import CliError
from oms.cli.options import UrlOption, out, run

db_app = typer.Typer(help="Create or upgrade the database schema (Alembic).", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(url: UrlOption = None) -> None:
    """Create the database, or upgrade it to this software's schema (back it up first)."""
    target = resolve_url(url)
    before = run(_revision_if_exists(target))
    head = run(upgrade_database(target))
    if before == head:
        out.print(f"{shown(target)}: already at head revision {head}")
    else:
        out.print(f"{shown(target)}: upgraded from {before or '(empty)'} to {head}")


async def _revision_if_exists(url: URL) -> str | None:
    try:
        require_existing(url)
    except CliError:
        return None
    return await database_revision(url)


@db_app.command("current")
def current(url: UrlOption = None) -> None:
    """Print the database's schema revision and whether it is the head (exit 1 if behind)."""
    target = resolve_url(url)
    require_existing(target)
    revision = run(database_revision(target))
    head = revision_history()[-1]
    if revision is None:
        raise CliError(f"{shown(target)} has no schema revision: run `oms db upgrade`")
    if revision == head:
        out.print(f"{revision} (head)")
        return
    out.print(f"{revision} (behind head {head}: run `oms db upgrade`)")
    raise typer.Exit(1)


@db_app.command("history")
def history(url: UrlOption = None) -> None:
    """List the schema revisions, oldest first, marking the database's current one."""
    target = resolve_url(url)
    try:
        require_existing(target)
        revision = run(database_revision(target))
    except CliError:
        revision = None  # no database yet: the history is still worth showing
    revisions = revision_history()
    for rev in revisions:
        marks = []
        if rev == revisions[-1]:
            marks.append("head")
        if rev == revision:
            marks.append("current")
        out.print(rev + (f" ({', '.join(marks)})" if marks else ""))
