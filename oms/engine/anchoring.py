"""The engine's use of the journal anchor (see :mod:`eventstore.anchor` for what it protects).

Start-up compares the journal with its anchor right after the hash chain verifies: a head behind
the anchor (lost events) or a rewritten anchored row keeps the engine closed. Once it matches,
the anchor is written with the current head, then every ``EngineConfig.anchor_every_s`` seconds
while the engine runs, and a last time on close. An engine that did not get past the check never
writes the anchor, so a damaged journal cannot overwrite the evidence.
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


async def check_and_arm(store: EventStore, config: EngineConfig) -> AnchorKeeper | None:
    """Start-up: raise ``AnchorMismatch`` if the journal lost or rewrote anchored events;
    otherwise anchor the current head and return the keeper (to run and to close)."""
    keeper = anchor_keeper(store, config)
    if keeper is None:
        return None
    await keeper.check(store)
    await keeper.update(store)
    return keeper
