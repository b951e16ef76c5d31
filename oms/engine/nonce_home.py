"""Where the engine keeps the signer's nonce file when the connector was given none.

Two processes signing for one key must never issue the same nonce, so the nonce file is always
used: by default next to a SQLite journal (``<journal folder>/nonce-<signer>``), and for a
PostgreSQL journal in this host's state folder (``$XDG_STATE_HOME/hl-oms``, else
``~/.local/state/hl-oms``), shared by every process of the host signing for that key.

>>> nonce_folder("sqlite", "/var/oms/journal.db")
PosixPath('/var/oms')
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors.base import KeepsNonces
from eventstore import EventStore


def nonce_folder(dialect: str, database: str | None) -> Path:
    """The default folder of the nonce file for a journal of ``dialect`` at ``database``."""
    if dialect == "sqlite" and database and database != ":memory:":
        return Path(database).resolve().parent
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "hl-oms"


def ensure_nonce_file(store: EventStore, connector: object) -> Path | None:
    """Give ``connector`` its default nonce file unless it has one; returns the file in use."""
    if not isinstance(connector, KeepsNonces):
        return None
    if connector.nonce_file is None:
        folder = nonce_folder(store.dialect, store.engine.url.database)
        folder.mkdir(parents=True, exist_ok=True)
        connector.keep_nonces_in(folder)
    return connector.nonce_file
