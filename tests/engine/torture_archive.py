"""Archiving between torture rounds (issue 20): sealed history leaves the live journal while
the engine is down, and everything is verified across archive files + live after each archive.

Each round, once the worker is dead: take the newest seal the workers wrote (they seal every 40
journaled events and at start-up), archive everything up to it with ``archive_before`` (what
``oms audit archive --before`` runs; the seal's EIP-191 signature is checked against the
workers' key first), then ``verify_history`` over the archive files, the seals and the live
chain. The next worker starts from that seal, with its first events in an archive; its journal
checks read across both (``torture_history``). At the end ``oms audit verify --archive-dir
--seal-signer`` runs as a subprocess, as an operator would schedule it.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

from eventstore import (
    ArchiveError,
    EventStore,
    archive_before,
    latest_seal,
    verify_history,
)
from oms.engine.seal_keys import Eip191SealKey, Eip191SealVerifier


class ArchiveRounds:
    """Archives the torture's SQLite journal ``db`` into ``folder``; seals by ``seal_key``."""

    def __init__(self, db: str, folder: Path, seal_key: str) -> None:
        if "://" in db:
            raise ValueError("archive rounds run on the SQLite journal only (a file path)")
        self.db, self.folder = db, folder
        self.url = f"sqlite+aiosqlite:///{db}"
        self.signer = Eip191SealKey(seal_key).address
        folder.mkdir(parents=True, exist_ok=True)

    async def run(self, stats: Counter[str]) -> list[str]:
        """Archive up to the newest seal (if it lies past the archive point); verify all.
        Returns the problems found (an empty list when everything verifies)."""
        problems: list[str] = []
        async with await EventStore.open(self.url) as store:
            seal = await latest_seal(store.engine)
            point = await store.archive_point()
            if seal is None or seal.position <= point:
                stats["archive_no_new_seal"] += 1
            else:
                try:
                    entry = await archive_before(
                        store, self.folder, seal.position + 1,
                        verifier=Eip191SealVerifier(), trusted=self.signer)
                except ArchiveError as exc:  # e.g. the seal is the head: it stays live
                    stats["archive_refused"] += 1
                    stats[f"archive_refused: {str(exc)[:60]}"] += 1
                else:
                    stats["archives"] += 1
                    stats["events_archived"] += entry.event_count
            report = await verify_history(store, archive_dir=self.folder,
                                          verifier=Eip191SealVerifier(), trusted=self.signer)
            if report.ok:
                stats["history_verified"] += 1
                stats["history_events_max"] = max(
                    stats["history_events_max"], report.live_checked + report.archived_checked)
            else:
                problems.append(f"verify_history after archiving: {report.reason}")
        return problems

    async def cli_verify(self, stats: Counter[str]) -> list[str]:
        """``oms audit verify`` over archive + live + seals + anchor, as a subprocess."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "oms.cli", "audit", "verify", "--url", self.url,
            "--archive-dir", str(self.folder), "--seal-signer", self.signer,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=Path(__file__).parents[2],  # the repo root: this tree's oms
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        text = out.decode(errors="replace").strip()
        if proc.returncode != 0 or not text.startswith("OK") or "archived in" not in text:
            return [f"oms audit verify failed ({proc.returncode}): {text[-500:]}"]
        stats["cli_verify_ok"] += 1
        return []
