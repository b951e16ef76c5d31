"""The chain of the local dYdX exchange: CheckTx, the mempool, blocks, and events for the Indexer.

Everything here is synchronous and guarded by one lock: the gRPC node calls it from its worker
threads and the block timer from its own thread, so a client that blocks the event loop on a gRPC
call (as the official client does) never deadlocks the exchange.

Sequences (v4-chain ``app/ante/replay_protection.go``): a transaction of short-term CLOB messages
only is not sequence-checked and does not increment; any other must carry the account's CheckTx
sequence, which advances at CheckTx, while queries report the committed one — so two stateful
transactions per block signed with the *queried* sequence collide, as on the real chain. A stateful
transaction whose ``timeout_height`` has passed is dropped from the mempool (never included).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from v4_proto.dydxprotocol.clob.tx_pb2 import MsgBatchCancel, MsgCancelOrder, MsgPlaceOrder

from connectors.dydx.simulator.clob import Clob, key_of
from connectors.dydx.simulator.config import DydxSimConfig
from connectors.dydx.simulator.funding import FundingAndLiquidations
from connectors.dydx.simulator.ledger import Account, Ledger
from connectors.dydx.simulator.txcheck import DecodedTx, TxRefused, decode, verify_signature

Listener = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True, slots=True)
class TxResult:
    """What BroadcastTx (SYNC) reports: CheckTx's verdict."""

    txhash: str
    code: int = 0
    codespace: str = ""
    raw_log: str = ""


class Chain:
    """Accounts, the CLOB, the mempool and the block height of the local network."""

    def __init__(self, config: DydxSimConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.rng = random.Random(config.seed)
        self.ledger = Ledger()
        self.height = 1
        self.block_time = int(time.time())
        self.clob = Clob(config, self.ledger, self._emit)
        self.settlement = FundingAndLiquidations(self)
        #: Oracle prices by ticker (the market maker walks them; tests and the admin set them).
        self.oracle_prices: dict[str, Decimal] = {m.ticker: m.oracle_price
                                                  for m in config.markets}
        self._mempool: list[DecodedTx] = []
        self._now: list[dict[str, Any]] = []
        self._next_block: list[dict[str, Any]] = []
        self._stateful_this_block: dict[str, int] = {}
        self._in_block = False
        self.listeners: list[Listener] = []
        #: Every fill event ever booked, by (owner, subaccount): the truth tests compare with.
        self.fill_log: dict[tuple[str, int], list[dict[str, Any]]] = {}
        #: Owners whose events the Indexer does not store (the house market maker).
        self.untracked: set[str] = set()
        self.on_tx: Callable[[DecodedTx, TxResult], None] | None = None
        for address in config.funded:
            self.fund(address)

    # accounts --------------------------------------------------------------------------------

    def fund(self, address: str, usdc: Decimal | None = None) -> Account:
        """Create or top up an account (subaccount 0) with USDC."""
        amount = self.config.initial_usdc if usdc is None else usdc
        with self.lock:
            account = self.ledger.fund(address, int(amount * 1_000_000))
            # The Indexer shows it as a DEPOSIT transfer into subaccount 0, with the next block.
            self._emit({"kind": "transfer", "key": (address, 0), "amount": int(amount * 1_000_000),
                        "usdc": self.ledger.subaccount(address, 0).usdc, "at": time.time()},
                       False)
            return account

    def account(self, address: str) -> Account | None:
        """The account of ``address`` (created when ``auto_fund`` is on), else None."""
        with self.lock:
            found = self.ledger.accounts.get(address)
            if found is None and self.config.auto_fund and address.startswith("dydx1"):
                found = self.fund(address)
            return found

    # CheckTx ---------------------------------------------------------------------------------

    def broadcast(self, tx_bytes: bytes) -> TxResult:
        """BroadcastTx in SYNC mode: run CheckTx and report its verdict."""
        txhash = hashlib.sha256(tx_bytes).hexdigest().upper()
        with self.lock:
            decoded: DecodedTx | None = None
            try:
                decoded = decode(tx_bytes)
                self._check(decoded)
                result = TxResult(txhash)
            except TxRefused as refused:
                result = TxResult(txhash, refused.code, refused.codespace, refused.log)
            self._flush()
        if self.on_tx is not None and decoded is not None:
            self.on_tx(decoded, result)
        return result

    def _check(self, tx: DecodedTx) -> None:
        if len(tx.messages) != 1:
            raise TxRefused("sdk", 18, "a transaction containing a CLOB message may not contain"
                            " more than one message: invalid request")
        account = self.ledger.accounts.get(tx.signer)
        if account is None:
            raise TxRefused("sdk", 4, f"account {tx.signer} not found: unknown address")
        verify_signature(tx, self.config.chain_id, account.number)
        account.public_key = tx.public_key
        stateful = not tx.short_term_only
        if stateful:
            if tx.timeout_height and self.height + 1 > tx.timeout_height:
                raise TxRefused("sdk", 30, f"block height: {self.height + 1}, timeout height:"
                                f" {tx.timeout_height}: tx timeout height")
            if tx.sequence != account.check_sequence:
                raise TxRefused("sdk", 32, f"account sequence mismatch, expected"
                                f" {account.check_sequence}, got {tx.sequence}: incorrect"
                                " account sequence")
            used = self._stateful_this_block.get(tx.signer, 0)
            if used >= self.config.stateful_per_block:
                raise TxRefused("clob", 5001, f"Rate of {used + 1} exceeds configured block rate"
                                f" limit of {self.config.stateful_per_block} for {tx.signer}:"
                                " Block rate limit exceeded")
        message = tx.messages[0]
        if isinstance(message, MsgPlaceOrder):
            self.clob.check_place(message.order, self.height, self.block_time)
        elif isinstance(message, MsgCancelOrder):
            self.clob.check_cancel(message, self.height, self.block_time)
        elif isinstance(message, MsgBatchCancel):
            self.clob.check_batch(message, self.height)
        if stateful:
            account.check_sequence += 1
            self._stateful_this_block[tx.signer] = self._stateful_this_block.get(tx.signer, 0) + 1
            self._mempool.append(tx)

    # blocks ----------------------------------------------------------------------------------

    def produce_block(self, before_commit: Callable[[], None] | None = None) -> int:
        """Commit the next block: include the mempool, expire orders, publish; returns it."""
        with self.lock:
            self.height += 1
            self.block_time = max(int(time.time()), self.block_time + 1)
            self._stateful_this_block.clear()
            self._now.extend(self._next_block)  # CheckTx-time fills are committed in this block
            self._next_block = []
            self._in_block = True
            try:
                for tx in self._mempool:
                    self._include(tx)
                self._mempool = []
                for account in self.ledger.accounts.values():
                    account.check_sequence = account.sequence
                if before_commit is not None:
                    before_commit()
                # Conditional orders triggered by the last block trade now; then this block's
                # oracle price triggers the next ones (v4-chain EndBlocker).
                self.clob.conditionals.place_triggered(self.height)
                self.clob.conditionals.check(lambda m: self.oracle_prices[m.ticker])
                self.clob.expire(self.height, self.block_time)
                self.settlement.settle(self.height)
            finally:
                self._in_block = False
            # ``wall``: when the block was committed; every event of the block happened before.
            self._now.append({"kind": "height", "height": self.height, "time": self.block_time,
                              "wall": time.time()})
            self._flush()
            return self.height

    def _include(self, tx: DecodedTx) -> None:
        account = self.ledger.accounts[tx.signer]
        message = tx.messages[0]
        if (tx.timeout_height and self.height > tx.timeout_height) or (
                tx.sequence != account.sequence):
            # Never included (timed out, or after one that was): its sequence is free again.
            if isinstance(message, MsgPlaceOrder):
                self.clob.pending_places.pop(key_of(message.order.order_id), None)
            elif isinstance(message, MsgCancelOrder):
                self.clob.pending_cancels.pop(key_of(message.order_id), None)
            return
        account.sequence += 1
        if isinstance(message, MsgPlaceOrder):
            key = key_of(message.order.order_id)
            order = self.clob.pending_places.pop(key, None)
            if order is not None:
                self.clob.place_stateful(order, self.height)
        elif isinstance(message, MsgCancelOrder):
            self.clob.cancel_stateful(key_of(message.order_id))

    # events ----------------------------------------------------------------------------------

    def drop_pending_events(self) -> None:
        """Forget events not yet published (a loaded state file replaces what made them)."""
        self._now, self._next_block = [], []

    def emit_event(self, event: dict[str, Any]) -> None:
        """Publish a block-time event (funding, liquidation fills) with this block."""
        self._emit(event, True)

    def _emit(self, event: dict[str, Any], now: bool) -> None:
        # CheckTx-time fills and final statuses wait for the next block; in a block, all is now.
        (self._now if now or self._in_block else self._next_block).append(event)

    def _flush(self) -> None:
        if not self._now:
            return
        events, self._now = self._now, []
        for event in events:
            event.setdefault("height", self.height)
            if event["kind"] == "fill" and event["key"][0] not in self.untracked:
                self.fill_log.setdefault(event["key"][:2], []).append(event)
            if event.get("key", ("",))[0] in self.untracked:
                event["untracked"] = True
        for listener in self.listeners:
            listener(events)
