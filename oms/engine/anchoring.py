"""The engine's use of the journal anchor (see :mod:`eventstore.anchor` for what it protects).

Start-up compares the journal with its anchor before it writes anything (even the lease claim):
a head behind the anchor (lost events) or a rewritten anchored row keeps the engine closed. Once
the hash chain has verified too, the anchor is written with the current head, then every
``EngineConfig.anchor_every_s`` seconds while the engine runs, and a last time on close. An
engine that did not get past the check never writes the anchor, so a damaged journal cannot
overwrite the evidence.
"""

from __future__ import annotations

from pathlib import Path

from eventstore import AnchorKeeper, EventStore, default_anchor_path
from oms.engine.config import EngineConfig


def anchor_keeper(store: EventStore, config: EngineConfig) -> AnchorKeeper | None:
    """The keeper for ``store`` by ``config.anchor_path`` (``"auto"``: beside a SQLite file;
    ``None``: no anchor), or ``None`` when there is none."""
    if config.anchor_path is None:
        return None
    if config.anchor_path == "auto":
        path = default_anchor_path(store.engine.url)
        if path is None:
            return None
    else:
        path = Path(config.anchor_path)
    return AnchorKeeper(path, config.anchor_every_s)


async def check_anchor(keeper: AnchorKeeper | None, store: EventStore) -> None:
    """Start-up, before anything is written (even the lease claim): raise ``AnchorMismatch``
    if the journal lost or rewrote anchored events."""
    if keeper is not None:
        await keeper.check(store)


async def anchor_head(keeper: AnchorKeeper | None, store: EventStore) -> None:
    """Once the chain verified: anchor the current head (only a keeper that passed the check)."""
    if keeper is not None and keeper.armed:
        await keeper.update(store)
