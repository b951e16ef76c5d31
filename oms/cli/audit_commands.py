"""``oms audit verify | head | export``: check the hash chain, anchor it, and export the log.

The export streams the log batch by batch (never the whole log in memory) as JSON lines or CSV.
Every row carries the event's position, stream, version, type, ids, time, payload and chain hash,
so an auditor can re-check the chain outside this software. ``-o FILE`` refuses any file of the
journal itself and is written to a temporary name, renamed only on success (``safe_output``).

``verify`` compares the chain with the journal's anchor file (``<journal>.anchor`` beside a SQLite
journal, kept by the engine; ``--anchor-file`` elsewhere) by default, so a lost tail is reported
with both positions; ``--anchor POS:HASH`` adds a head saved elsewhere.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import AsyncIterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer

from eventstore import EventStore, RecordedEvent, VerifyReport
from oms.cli.database import open_existing, resolve_url, sqlite_file
from oms.cli.errors import CliError, UsageError
from oms.cli.journal_checks import anchor_problem
from oms.cli.options import MAX_POSITION, JsonOption, UrlOption, err, out, run
from oms.cli.safe_output import atomic_output, check_output, input_files

audit_app = typer.Typer(help="Verify, anchor and export the event log.", no_args_is_help=True)

CSV_COLUMNS = (
    "position", "stream_id", "version", "type", "event_version", "event_id",
    "recorded_at", "recorded_at_us", "data", "metadata", "hash",
)


class ExportFormat(StrEnum):
    """Formats of ``oms audit export``."""

    jsonl = "jsonl"
    csv = "csv"


def _parse_anchor(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    position, sep, digest = text.partition(":")
    hex_ok = len(digest) == 64 and all(c in "0123456789abcdef" for c in digest.lower())
    if not sep or not (position.isascii() and position.isdigit()) or not hex_ok:
        raise UsageError(f"bad --anchor {text!r}: use POSITION:HASH as printed by `oms audit head`")
    if int(position) > MAX_POSITION:
        raise UsageError(f"bad --anchor {text!r}: position above {MAX_POSITION}")
    return int(position), digest.lower()


@audit_app.command("verify")
def verify(
    url: UrlOption = None,
    anchor: Annotated[
        str | None,
        typer.Option(help="POSITION:HASH saved earlier from `oms audit head`; also catches a "
                     "truncated or wholly rewritten log."),
    ] = None,
    anchor_file: Annotated[
        Path | None,
        typer.Option("--anchor-file", help="The anchor file the engine keeps (default: "
                     "<journal>.anchor beside a SQLite journal; compared when it exists)."),
    ] = None,
) -> None:
    """Recompute the hash chain of the whole log and compare it with its anchor; exit 1 with
    the first bad position."""
    anchor_value = _parse_anchor(anchor)
    if anchor_file is not None and not anchor_file.is_file():
        raise UsageError(f"--anchor-file {anchor_file} does not exist")
    report, problem = run(_verify(url, anchor_value, anchor_file))
    if not report.ok:
        raise CliError(
            f"integrity check FAILED at position {report.first_bad_position}: {report.reason} "
            f"({report.checked} events before it verified)"
        )
    if problem is not None:
        raise CliError(f"integrity check FAILED: {problem}")
    out.print(
        f"OK: {report.checked} events verified; head position {report.head_position} "
        f"hash {report.head_hash or '-'}"
    )


async def _verify(
    url: str | None, anchor: tuple[int, str] | None, anchor_file: Path | None
) -> tuple[VerifyReport, str | None]:
    target = resolve_url(url)
    async with open_existing(target) as store:
        report = await store.verify(anchor=anchor)
        problem = await anchor_problem(store, target, anchor_file) if report.ok else None
        return report, problem


@audit_app.command("head")
def head(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Print the last position and its chain hash (save it elsewhere to anchor later checks)."""
    position, digest = run(_head(url))
    if as_json:
        out.print_json(data={"position": position, "hash": digest})
    else:
        out.print(f"{position}:{digest}")


async def _head(url: str | None) -> tuple[int, str]:
    async with open_existing(resolve_url(url)) as store:
        return await store.head()


def event_row(ev: RecordedEvent) -> dict[str, Any]:
    """One exported row (the JSON-lines object; CSV holds ``data``/``metadata`` as JSON text)."""
    return {
        "position": ev.position,
        "stream_id": ev.stream_id,
        "version": ev.version,
        "type": ev.type,
        "event_version": ev.event_version,
        "event_id": str(ev.event_id),
        "recorded_at": ev.recorded_at.isoformat(),
        "recorded_at_us": ev.recorded_at_us,
        "data": ev.data,
        "metadata": ev.metadata,
        "hash": ev.hash,
    }


async def _events(
    store: EventStore, start: int, stop: int | None, stream: str | None
) -> AsyncIterator[RecordedEvent]:
    if stream is None:
        async for ev in store.read_all(start, stop):
            yield ev
        return
    async for ev in store.read_stream(stream):
        if ev.position < start:
            continue
        if stop is not None and ev.position > stop:
            return
        yield ev


async def _export(
    url: str | None, fmt: ExportFormat, start: int, stop: int | None, stream: str | None,
    sink: IO[str],
) -> int:
    count = 0
    writer = csv.writer(sink) if fmt is ExportFormat.csv else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    async with open_existing(resolve_url(url)) as store:
        async for ev in _events(store, start, stop, stream):
            row = event_row(ev)
            if writer is None:
                sink.write(orjson.dumps(row).decode())
                sink.write("\n")
            else:
                row["data"] = ev.raw_data.decode()
                row["metadata"] = ev.raw_metadata.decode()
                writer.writerow([row[c] for c in CSV_COLUMNS])
            count += 1
    return count


@audit_app.command("export")
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv.")] = (
        ExportFormat.jsonl
    ),
    start: Annotated[
        int, typer.Option("--from", min=1, max=MAX_POSITION, help="First position.")
    ] = 1,
    stop: Annotated[
        int | None, typer.Option("--to", min=1, max=MAX_POSITION, help="Last position.")
    ] = None,
    stream: Annotated[
        str | None, typer.Option(help="Only this stream, e.g. order-<client order id>.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    url: UrlOption = None,
) -> None:
    """Stream events (all, a position range, or one stream) as JSON lines or CSV."""
    if stop is not None and stop < start:
        raise UsageError(f"--to {stop} is before --from {start}")
    if output is None:
        count = run(_export(url, fmt, start, stop, stream, sys.stdout))
    else:
        database = sqlite_file(resolve_url(url))
        check_output(output, input_files(database) if database is not None else [])
        with atomic_output(output) as sink:
            count = run(_export(url, fmt, start, stop, stream, sink))
    err.print(f"exported {count} events", style="dim")
