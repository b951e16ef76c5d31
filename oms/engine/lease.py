"""One engine per journal, enforced: the engine lease and its fencing token.

At start-up, before anything else, the engine *claims* the journal: it appends an
``EngineClaimed`` event (host, pid, start time, venue, account) to the ``engine-lease`` stream
with the expected version it just read, and fences its event store at the version it wrote
(``EventStore.set_fence``). From then on every journal write commits only while the lease stream
is still at that version — the check runs inside the writing transaction.

The first claim *binds* the journal to its venue and account: every later claim is checked
against the one before it before it is appended, and an engine of another account is refused
(:class:`JournalOfAnotherAccount`) without writing anything — so every event of a journal
belongs to the account of its first claim (``journal_binding``; shown by ``oms history`` and
``oms audit export``).

A second engine on the same journal claims it in turn, which *fences* the first: the first
engine's next journal write fails with ``Fenced``, so it stops trading and says which engine took
over. Because nothing leaves the process before it is journaled, a fenced engine cannot send a
new order or cancel either. The newest start wins (rather than the first refusing the second)
because a crashed engine cannot release its lease: a restart after a crash must always succeed.

>>> describe({"host": "h1", "pid": 42, "started_at": "2026-11-30T17:00:00+00:00"})
'pid 42 on h1, started 2026-11-30T17:00:00+00:00'
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from eventstore import NO_STREAM, ArchivedRange, EventStore, NewEvent, WrongExpectedVersion

log = logging.getLogger(__name__)

LEASE_STREAM = "engine-lease"
CLAIMED = "EngineClaimed"


class LeaseNotClaimed(RuntimeError):
    """The journal's engine lease could not be claimed (another engine kept claiming it)."""


def describe(holder: Mapping[str, Any]) -> str:
    """A one-line description of a lease holder (what an operator needs to find it)."""
    return f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started_at')}"


async def last_claim(store: EventStore) -> tuple[int | None, dict[str, Any] | None]:
    """The lease stream's last version and its holder (None, None: never claimed).

    Reads only the last claim: the stream grows by one event per start, for years. When that
    claim was archived (``oms audit archive``), the version still counts and the holder is None.
    """
    last = await store.stream_version(LEASE_STREAM)
    if last is None:
        return None, None
    holder: dict[str, Any] | None = None
    async for recorded in store.read_stream(LEASE_STREAM, last):
        holder = dict(recorded.data)
    return last, holder


class JournalOfAnotherAccount(LeaseNotClaimed):
    """The journal is bound to another account (or venue) than the engine's: refused before
    anything is written, so the rightful engine is not fenced and no event mixes accounts."""

    def __init__(self, bound: Mapping[str, Any], venue: str, account: str) -> None:
        self.bound = dict(bound)
        super().__init__(
            f"this journal belongs to account {bound.get('account')} on {bound.get('venue')} "
            f"(bound by its first engine, {describe(bound)}), not to {account} on {venue}: "
            "one journal per account — open the journal of this account (another database or "
            "SQLite file), or give this journal's account (--account / HL_ACCOUNT_ADDRESS)"
        )


async def journal_binding(store: EventStore) -> dict[str, Any] | None:
    """The venue and account the journal belongs to (None: no engine has opened it yet, or
    every claim was archived). Every claim is checked against the one before it when it is
    appended, so the last claim names the account of every claim — and of every event."""
    return (await last_claim(store))[1]


def _same_account(claim: Mapping[str, Any], venue: str, account: str) -> bool:
    return (str(claim.get("venue")) == venue
            and str(claim.get("account", "")).lower() == account.lower())


async def check_binding(store: EventStore, venue: str, account: str
                        ) -> tuple[int | None, dict[str, Any] | None]:
    """Raise :class:`JournalOfAnotherAccount` unless the journal's last engine claim traded
    ``account`` on ``venue``; returns what :func:`last_claim` returns, from the same read.

    Checking the last claim is enough: each claim was checked against the one before it when
    it was appended, so all claims name one account (by induction from the first), and the
    check stays O(1) however many starts the journal has seen (issue 20: the lease stream grows
    by one event per start). A last claim that was archived cannot be read back: the next
    claim then binds the journal again."""
    version, holder = await last_claim(store)
    other = holder is not None and not _same_account(holder, venue, account)
    if holder is not None and other and not await _holds_only_claims(store):
        raise JournalOfAnotherAccount(holder, venue, account)
    return version, holder


async def _holds_only_claims(store: EventStore, limit: int = 1000) -> bool:
    """True when the journal holds engine claims and nothing else: a start that claimed it and
    then stopped before journaling anything (say, an API-wallet key refused at connect for want
    of ``--account``) binds no account yet. Reads at most ``limit`` events from the start."""
    seen = 0
    try:
        async for recorded in store.read_all(1, batch_size=64):
            seen += 1
            if recorded.stream_id != LEASE_STREAM or seen > limit:
                return False
    except ArchivedRange:
        return False  # history was archived: the journal holds more than claims
    return True


class EngineLease:
    """This engine's claim on a journal (see the module docstring)."""

    def __init__(self, store: EventStore, venue: str, account: str) -> None:
        self._store = store
        self.holder: dict[str, Any] = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "venue": venue,
            "account": account,
        }
        self.token: int | None = None
        self.previous: dict[str, Any] | None = None

    async def claim(self, attempts: int = 5) -> int:
        """Append our claim with the expected version and fence the store; returns the token."""
        venue, account = str(self.holder["venue"]), str(self.holder["account"])
        for _ in range(attempts):
            # One read: the binding is checked up to exactly the version we append after.
            version, previous = await check_binding(self._store, venue, account)
            expected = NO_STREAM if version is None else version
            try:
                result = await self._store.append(
                    LEASE_STREAM, [NewEvent(CLAIMED, self.holder)], expected_version=expected
                )
            except WrongExpectedVersion:
                continue  # another engine claimed it at the same moment: read again
            self.token = result.next_version - 1
            self.previous = previous
            self._store.set_fence(LEASE_STREAM, self.token)
            if previous is not None:
                log.info(
                    "claimed the journal (lease %d); the previous holder (%s) is fenced if it"
                    " still runs",
                    self.token,
                    describe(previous),
                )
            return self.token
        raise LeaseNotClaimed(
            f"could not claim the journal's engine lease in {attempts} attempts: other engines"
            " keep claiming it; run one engine per journal"
        )

    async def still_ours(self) -> bool:
        """True while no other engine has claimed the journal since we did."""
        if self.token is None:
            return False
        version, _ = await last_claim(self._store)
        return version == self.token

    async def fenced_by(self) -> str:
        """Who holds the journal now (for the fenced engine's reason)."""
        _, holder = await last_claim(self._store)
        return f"the engine with {describe(holder)}" if holder is not None else "another engine"


def fenced_reason(who: str) -> str:
    """Why a fenced engine stopped trading, naming ``who`` took the journal over."""
    return (
        f"fenced: {who} claimed this journal, so this engine stopped trading (one engine"
        " per journal). Nothing more is journaled or sent from here; close this one"
    )
