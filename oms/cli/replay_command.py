"""``oms replay [--check]``: rebuild every projection from position 1, with a progress bar.

Without ``--check`` it folds the whole log, then rewrites the SQL read models and the tracker
snapshot from zero. With ``--check`` it writes nothing (the journal is opened read-only): it
verifies the hash chain and the anchor, folds the log and compares the result with the stored
read models and snapshot at the positions they reflect (exit 1 on a difference).
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.engine import URL

from eventstore import EventStore
from oms.cli.database import open_existing, resolve_url
from oms.cli.errors import CliError
from oms.cli.journal_checks import anchor_problem
from oms.cli.options import UrlOption, err, out, run
from oms.cli.replay_check import check_read_models, check_snapshot
from projections import READ_MODELS, Projector, ReadModelProjection, load_snapshot, replay
from projections import save_snapshot as write_snapshot

CHUNK = 20_000  # events per progress update


async def _fold(store: EventStore, projector: Projector, stop: int, progress: Progress,
                task: TaskID) -> None:
    """Fold up to ``stop`` in chunks, moving the progress bar."""
    while projector.last_position < stop:
        target = min(stop, projector.last_position + CHUNK)
        if not await replay(store, projector, target):
            break  # the log ends early (it shrank under us): stop rather than spin
        progress.update(task, completed=projector.last_position)


async def _chain_problems(store: EventStore, target: URL) -> list[str]:
    """``--check``: the hash chain from position 1 and the anchor, as problems."""
    verified = await store.verify()
    if not verified.ok:
        return [f"hash chain broken at position {verified.first_bad_position}: "
                f"{verified.reason}"]
    problem = await anchor_problem(store, target)
    return [] if problem is None else [problem]


async def _replay(url: str | None, check: bool) -> tuple[Projector, float, list[str], list[str]]:
    target = resolve_url(url)
    async with open_existing(target, read_only=check) as store:
        head, _ = await store.head()
        read_models = ReadModelProjection(store, READ_MODELS)
        checkpoint = await read_models.checkpoint() if check else 0
        snapshot = await load_snapshot(store) if check else None
        stops = sorted({p for p in (checkpoint, snapshot.last_position if snapshot else 0)
                        if 0 < p <= head})
        projector = Projector(completed_capacity=2**62)
        problems: list[str] = []
        compared: list[str] = []
        began = time.perf_counter()
        with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True) as progress:
            task = progress.add_task("replay", total=head)
            for stop in sorted({*stops, head}):
                await _fold(store, projector, stop, progress, task)
                if stop == checkpoint and check:
                    problems += await check_read_models(store, projector)
                    compared.append(f"SQL read models @ {stop}")
                if snapshot is not None and stop == snapshot.last_position:
                    problems += check_snapshot(snapshot, projector)
                    compared.append(f"snapshot @ {stop}")
        seconds = time.perf_counter() - began
        if check:
            problems[:0] = await _chain_problems(store, target)
        if not check:
            with err.status("rewriting the SQL read models and the snapshot…"):
                await read_models.rebuild()
                await write_snapshot(store, projector)
        return projector, seconds, problems, compared


def replay_command(
    check: Annotated[
        bool, typer.Option("--check", help="Compare with the stored read models and snapshot; "
                           "write nothing; exit 1 on any difference.")
    ] = False,
    url: UrlOption = None,
) -> None:
    """Rebuild every projection from position 1 (or, with --check, verify them)."""
    projector, seconds, problems, compared = run(_replay(url, check))
    events = projector.last_position
    rate = f"{events / seconds:,.0f} events/s" if seconds > 0 and events else "—"
    orders = len(projector.tracker)
    out.print(f"replayed {events} events in {seconds:.3f} s ({rate}): {orders} orders, "
              f"{projector.tracker.active_count} active, {len(projector.positions)} positions")
    if not check:
        out.print("read models and snapshot rebuilt from zero")
        return
    for line in problems[:20]:
        err.print(f"[red]✗[/] {line}")
    if problems:
        raise CliError(f"replay --check FAILED: {len(problems)} differences "
                       "between the journal, the replay and the stored projections")
    if not compared:
        raise CliError("nothing to check: the database holds no read model checkpoint and no "
                       "snapshot (run `oms replay` once to build them)")
    out.print(f"✓ the replay equals the stored projections: {', '.join(compared)}")
