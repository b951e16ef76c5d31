"""Our client order ids (128-bit cloids) mapped one-to-one onto dYdX's 32-bit client ids.

dYdX names an order by (subaccount owner, subaccount number, ``client_id`` u32, order flags, clob
pair id); our engine names it by a 128-bit cloid. No function of 128 bits into 32 is collision
free, so the mapping is *allocated*: the n-th order this subaccount ever sends gets client id n
(1, 2, 3, …), and every allocation is journaled — appended to a JSON-lines file and fsynced —
**before** the order leaves the process. After a crash the file gives back every cloid ever sent,
with what is needed to find it again (market, flags, goodTilBlock/Time, and the last block at which
it could still appear on chain). An order whose cloid is not in the file was never sent.

One file per (address, subaccount); a file written for another account is refused. A torn last
line (a crash in the middle of a write, before the order could be sent) is dropped; damage
anywhere else raises :class:`ClientIdFileCorrupt` and leaves the file untouched.

A second line kind, ``{"ack": id, "ok": bool}``, records what CheckTx answered (flushed, not
fsynced: it survives a killed process; after a power loss it is merely unknown again).

Example::

    ids = ClientIdJournal(Path("dydx-ids.jsonl"), "dydx1…", 0)
    rec = ids.allocate("0x…", "ETH-USD", clob_pair_id=1, flags=64, good_til_block=0,
                       good_til_block_time=1_760_000_000, dead_after_height=1234)
    ids.by_cloid("0x…").client_id   # 1
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from connectors.dydx.constants import MAX_CLIENT_ID, order_uuid
from connectors.dydx.errors import ClientIdFileCorrupt, ClientIdsExhausted


@dataclass(frozen=True, slots=True)
class ClientIdRecord:
    """One allocated client id and what is needed to find its order again."""

    cloid: str
    client_id: int
    ticker: str
    clob_pair_id: int
    flags: int
    good_til_block: int
    good_til_block_time: int
    #: After this block height the order can no longer appear (GTB, or the tx timeout height).
    dead_after_height: int
    #: The Indexer's order id (UUIDv5), filled in by the journal.
    order_id: str = ""


class ClientIdJournal:
    """The durable cloid ↔ client id map of one subaccount (memory only when ``path`` is None)."""

    def __init__(
        self, path: Path | None, address: str, subaccount: int, fsync: bool = True
    ) -> None:
        self.address = address
        self.subaccount = subaccount
        self._fsync = fsync
        self._by_cloid: dict[str, ClientIdRecord] = {}
        self._by_client_id: dict[int, ClientIdRecord] = {}
        self._by_order_id: dict[str, ClientIdRecord] = {}
        self._acks: dict[int, bool] = {}
        self._next = 1
        self._file: IO[str] | None = None
        if path is not None:
            self._file = self._open(path)

    def _open(self, path: Path) -> IO[str]:
        header = {"address": self.address, "subaccount": self.subaccount, "version": 1}
        if path.exists():
            raw = path.read_bytes()
            complete = raw[: raw.rfind(b"\n") + 1]
            self._load(path, complete.decode("utf-8", errors="strict").splitlines(), header)
            handle = path.open("r+", encoding="utf-8")
            handle.seek(len(complete))
            handle.truncate()  # drop a torn tail: its order was never sent
            return handle
        handle = path.open("w", encoding="utf-8")
        handle.write(json.dumps(header) + "\n")
        self._sync(handle)
        return handle

    def _load(self, path: Path, lines: list[str], header: dict[str, Any]) -> None:
        if not lines:
            raise ClientIdFileCorrupt(f"{path}: no header line; move the file away to start anew")
        for number, line in enumerate(lines, start=1):
            try:
                entry = json.loads(line)
                if number == 1:
                    if {k: entry.get(k) for k in header} != header:
                        raise ClientIdFileCorrupt(
                            f"{path} belongs to {entry.get('address')}/{entry.get('subaccount')},"
                            f" not {self.address}/{self.subaccount}: pass this account's file"
                        )
                elif "ack" in entry:
                    self._acks[int(entry["ack"])] = bool(entry["ok"])
                else:
                    self._remember(ClientIdRecord(**entry))
            except ClientIdFileCorrupt:
                raise
            except (ValueError, TypeError, KeyError) as exc:
                raise ClientIdFileCorrupt(
                    f"{path} line {number} cannot be read ({exc}); the file was not changed"
                ) from None

    def _remember(self, record: ClientIdRecord) -> None:
        if not record.order_id:
            record = ClientIdRecord(
                **{**asdict(record), "order_id": order_uuid(
                    self.address, self.subaccount, record.client_id, record.clob_pair_id,
                    record.flags)},
            )
        self._by_cloid[record.cloid] = record
        self._by_client_id[record.client_id] = record
        self._by_order_id[record.order_id] = record
        self._next = max(self._next, record.client_id + 1)

    def _sync(self, handle: IO[str]) -> None:
        handle.flush()
        if self._fsync:
            os.fsync(handle.fileno())

    def allocate(
        self,
        cloid: str,
        ticker: str,
        clob_pair_id: int,
        flags: int,
        good_til_block: int,
        good_til_block_time: int,
        dead_after_height: int,
        sync: bool = True,
    ) -> ClientIdRecord:
        """Journal the next client id for ``cloid``; durable at once, or (``sync=False``) at the
        next :meth:`sync`, which must come before the order is sent."""
        if cloid in self._by_cloid:
            raise ValueError(f"cloid {cloid} already has client id "
                             f"{self._by_cloid[cloid].client_id}: a resend must reuse it")
        if self._next > MAX_CLIENT_ID:
            raise ClientIdsExhausted(
                f"{self.address}/{self.subaccount} has used all 2^32-1 client ids"
            )
        record = ClientIdRecord(cloid, self._next, ticker, clob_pair_id, flags, good_til_block,
                                good_til_block_time, dead_after_height)
        self._remember(record)
        record = self._by_cloid[cloid]
        if self._file is not None:
            entry = asdict(record)
            del entry["order_id"]  # derived
            self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
            if sync:
                self._sync(self._file)
        return record

    def sync(self) -> None:
        """Make every allocation so far durable (flush + fsync)."""
        if self._file is not None:
            self._sync(self._file)

    def ack(self, client_id: int, accepted: bool) -> None:
        """Note what CheckTx answered for ``client_id`` (flushed, not fsynced)."""
        self._acks[client_id] = accepted
        if self._file is not None:
            self._file.write(json.dumps({"ack": client_id, "ok": accepted}) + "\n")
            self._file.flush()

    def accepted(self, client_id: int) -> bool | None:
        """True/False when CheckTx's answer is known, None otherwise."""
        return self._acks.get(client_id)

    def by_cloid(self, cloid: str) -> ClientIdRecord | None:
        """The record of ``cloid`` (None: never sent)."""
        return self._by_cloid.get(cloid)

    def by_client_id(self, client_id: int) -> ClientIdRecord | None:
        """The record of ``client_id`` (None: not ours)."""
        return self._by_client_id.get(client_id)

    def by_order_id(self, order_id: str) -> ClientIdRecord | None:
        """The record whose Indexer order id is ``order_id`` (None: not ours)."""
        return self._by_order_id.get(order_id)

    def __len__(self) -> int:
        return len(self._by_cloid)

    def close(self) -> None:
        """Close the file; idempotent."""
        if self._file is not None:
            self._file.close()
            self._file = None
