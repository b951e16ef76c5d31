"""Signing and broadcasting with the account sequence kept locally.

Short-term CLOB transactions carry no meaningful sequence (the chain neither checks nor increments
it for them), so they are sent at once and concurrently. Stateful ones (long-term places and
cancels) go one at a time under a lock with the next local sequence; on ``account sequence
mismatch, expected N, got M`` — CheckTx refused, so nothing was placed — the sequence becomes N and
the transaction is signed and sent again, at most twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from google.protobuf.message import Message

from connectors.dydx.node import CheckTxResult, NodeClient
from connectors.dydx.signing import TxSigner

log = logging.getLogger(__name__)

_EXPECTED = re.compile(r"account sequence mismatch, expected (\d+), got (\d+)")
_MAX_SEQUENCE_RETRIES = 2


class TxSender:
    """Signs with :class:`TxSigner` and broadcasts through :class:`NodeClient`."""

    def __init__(self, signer: TxSigner, node: NodeClient, sequence: int) -> None:
        self.signer = signer
        self.node = node
        self.sequence = sequence
        self._lock = asyncio.Lock()
        self.sequence_resyncs = 0

    async def send_short_term(self, message: Message) -> CheckTxResult:
        """Sign and broadcast a short-term CLOB message (sequence unchecked by the chain)."""
        return await self.node.broadcast(self.signer.sign([message], self.sequence))

    async def send_stateful(self, message: Message, timeout_height: int) -> CheckTxResult:
        """Sign at the next sequence and broadcast; resync the sequence on a mismatch."""
        async with self._lock:
            result = await self._send_locked([message], timeout_height)
            for _ in range(_MAX_SEQUENCE_RETRIES):
                found = _EXPECTED.search(result.raw_log) if result.code == 32 else None
                if found is None:
                    break
                log.warning("sequence %s refused, chain expects %s: resigning",
                            found.group(2), found.group(1))
                self.sequence = int(found.group(1))
                self.sequence_resyncs += 1
                result = await self._send_locked([message], timeout_height)
            return result

    async def _send_locked(self, messages: Sequence[Message], timeout_height: int
                           ) -> CheckTxResult:
        tx = self.signer.sign(messages, self.sequence, timeout_height)
        # A transport failure propagates (outcome unknown); the sequence stays, and a mismatch on
        # the next transaction tells us if this one was taken after all.
        result = await self.node.broadcast(tx)
        if result.accepted:
            self.sequence += 1
        return result
