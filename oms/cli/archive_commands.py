"""``oms audit archive | restore`` and the options shared by commands that read archives.

``archive`` moves sealed history (up to the newest seal before ``--before``) into a compressed,
self-verifying file in ``--archive-dir`` and removes those rows from the live database;
``restore`` puts the newest archive back. ``--seal-signer`` (or ``OMS_SEAL_SIGNER``) pins the
address whose seals are trusted: without it seals are only checked to be intact.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from eventstore import ArchiveEntry, HistoryReport, archive_before, restore_archive, verify_history
from oms.cli.database import open_existing, resolve_url
from oms.cli.errors import UsageError
from oms.cli.options import UrlOption, out, run
from oms.engine.seal_keys import Eip191SealVerifier

SIGNER_ENV = "OMS_SEAL_SIGNER"
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

ArchiveDirOption = Annotated[
    Path | None,
    typer.Option("--archive-dir", help="Folder of the archive files (to read archived history)."),
]
SealSignerOption = Annotated[
    str | None,
    typer.Option("--seal-signer", envvar=SIGNER_ENV, show_default=False,
                 help="Address (0x...) whose seals are trusted (default: $OMS_SEAL_SIGNER)."),
]


def trusted_signer(text: str | None) -> str | None:
    """The ``--seal-signer`` address, validated (None: not pinned)."""
    if text is None or not text.strip():
        return None
    if not _ADDRESS.match(text.strip()):
        raise UsageError(f"bad --seal-signer {text!r}: use a 0x address of 40 hex digits")
    return text.strip()


def _folder(path: Path, *, create: bool) -> Path:
    if create:
        path.mkdir(parents=True, exist_ok=True)
    if not path.is_dir():
        raise UsageError(f"--archive-dir {path} is not a folder")
    return path


def archive(
    before: Annotated[int, typer.Option("--before", min=2, help="Archive only positions "
                                        "below this (up to the newest seal before it).")],
    archive_dir: Annotated[Path, typer.Option("--archive-dir", help="Folder for the files.")],
    url: UrlOption = None,
    seal_signer: SealSignerOption = None,
) -> None:
    """Move sealed history into a compressed, self-verifying file; remove it from the database."""
    folder = _folder(archive_dir, create=True)
    entry = run(_archive(url, folder, before, trusted_signer(seal_signer)))
    out.print(
        f"archived positions {entry.first_position}-{entry.last_position} "
        f"({entry.event_count} events) to {folder / entry.file_name} sha256 {entry.file_sha256}"
    )


async def _archive(url: str | None, folder: Path, before: int, trusted: str | None
                   ) -> ArchiveEntry:
    async with open_existing(resolve_url(url), read_only=False) as store:  # a writer
        return await archive_before(store, folder, before, verifier=Eip191SealVerifier(),
                                    trusted=trusted)


def restore(
    archive_file: Annotated[Path, typer.Argument(help="The newest archive file.")],
    url: UrlOption = None,
    seal_signer: SealSignerOption = None,
) -> None:
    """Put the newest archive's events back into the live database (verified first)."""
    entry = run(_restore(url, archive_file, trusted_signer(seal_signer)))
    out.print(f"restored positions {entry.first_position}-{entry.last_position} "
              f"({entry.event_count} events) from {archive_file}")


async def _restore(url: str | None, path: Path, trusted: str | None) -> ArchiveEntry:
    async with open_existing(resolve_url(url), read_only=False) as store:  # a writer
        return await restore_archive(store, path, verifier=Eip191SealVerifier(), trusted=trusted)


async def verify_everything(
    url: str | None, anchor: tuple[int, str] | None, archive_dir: Path | None,
    seal_signer: str | None,
) -> HistoryReport:
    """``oms audit verify``: seals, archives (read when ``archive_dir`` is given), live chain."""
    folder = None if archive_dir is None else _folder(archive_dir, create=False)
    async with open_existing(resolve_url(url)) as store:
        return await verify_history(store, archive_dir=folder, verifier=Eip191SealVerifier(),
                                    trusted=trusted_signer(seal_signer), anchor=anchor)
