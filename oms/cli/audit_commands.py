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
from collections.abc import AsyncIterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer

from eventstore import EventStore, RecordedEvent, read_history
from oms.cli.archive_commands import (
    ArchiveDirOption,
    SealSignerOption,
    trusted_signer,
    verify_everything,
)
from oms.cli.database import open_existing, resolve_url, sqlite_file
from oms.cli.errors import CliError, UsageError
from oms.cli.journal_checks import anchor_problem
from oms.cli.options import MAX_POSITION, JsonOption, UrlOption, err, out, run
from oms.cli.safe_output import atomic_output, check_output, input_files
from oms.engine.lease import journal_binding

audit_app = typer.Typer(help="Verify, anchor and export the event log.", no_args_is_help=True)

CSV_COLUMNS = (
    "position", "stream_id", "version", "type", "event_version", "event_id",
    "recorded_at", "recorded_at_us", "data", "metadata", "hash", "venue", "account",
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
    archive_dir: ArchiveDirOption = None,
    seal_signer: SealSignerOption = None,
) -> None:
    """Check everything: the live hash chain, every seal, the archives, and the anchor file;
    exit 1 with the first bad position."""
    anchor_value = _parse_anchor(anchor)
    if anchor_file is not None and not anchor_file.is_file():
        raise UsageError(f"--anchor-file {anchor_file} does not exist")
    report = run(verify_everything(url, anchor_value, archive_dir, seal_signer))
    if not report.ok:
        error = report.error
        where = getattr(error, "first_bad_position", None) or getattr(error, "position", None)
        raise CliError(
            f"integrity check FAILED at position {where}: {report.reason} "
            f"({report.live_checked} live events before it verified)"
        )
    problem = run(_anchor_check(url, anchor_file))
    if problem is not None:
        raise CliError(f"integrity check FAILED: {problem}")
    archived = (f" and {report.archived_checked} archived in {report.archives} file(s)"
                if report.archives_read else
                f"; {report.archives} archive(s) not read (pass --archive-dir)"
                if report.archives else "")
    signer = trusted_signer(seal_signer)
    seals = (f"; {report.seals} seal(s) signed by {signer}" if signer else
             f"; {report.seals} seal(s) intact (pin the signer with --seal-signer)"
             if report.seals else "")
    out.print(
        f"OK: {report.live_checked} events verified{archived}{seals}; "
        f"head position {report.head_position} hash {report.head_hash or '-'}"
    )


async def _anchor_check(url: str | None, anchor_file: Path | None) -> str | None:
    target = resolve_url(url)
    async with open_existing(target) as store:
        return await anchor_problem(store, target, anchor_file)


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


def event_row(ev: RecordedEvent, binding: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One exported row (the JSON-lines object; CSV holds ``data``/``metadata`` as JSON text).

    ``venue`` and ``account`` are the journal's binding (its first engine claim, which every
    later engine is checked against): every event of a journal belongs to that account."""
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
        "venue": binding.get("venue") if binding else None,
        "account": binding.get("account") if binding else None,
    }


async def _events(
    store: EventStore, start: int, stop: int | None, stream: str | None,
    archive_dir: Path | None = None,
) -> AsyncIterator[RecordedEvent]:
    if archive_dir is not None:  # archive files first, then the live log
        async for ev in read_history(store, archive_dir, start, stop):
            if stream is None or ev.stream_id == stream:
                yield ev
        return
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
    sink: IO[str], archive_dir: Path | None = None,
) -> int:
    count = 0
    writer = csv.writer(sink) if fmt is ExportFormat.csv else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    async with open_existing(resolve_url(url)) as store:
        binding = await journal_binding(store)
        async for ev in _events(store, start, stop, stream, archive_dir):
            row = event_row(ev, binding)
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
    archive_dir: ArchiveDirOption = None,
) -> None:
    """Stream events (all, a position range, or one stream) as JSON lines or CSV."""
    if stop is not None and stop < start:
        raise UsageError(f"--to {stop} is before --from {start}")
    if output is None:
        count = run(_export(url, fmt, start, stop, stream, sys.stdout, archive_dir))
    else:
        database = sqlite_file(resolve_url(url))
        check_output(output, input_files(database) if database is not None else [])
        with atomic_output(output) as sink:
            count = run(_export(url, fmt, start, stop, stream, sink, archive_dir))
    err.print(f"exported {count} events", style="dim")
