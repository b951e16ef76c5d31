"""Async client of a validator node's gRPC services (account, latest block, broadcast).

Why not the official ``NodeClient``: its gRPC calls are *blocking* calls made inside ``async def``
(``node/client.py``), which would stall the engine's event loop for a full round trip on every
order; and its ``SequenceManager`` re-reads the *committed* sequence before every transaction, so
two stateful transactions in one block collide (``account sequence mismatch``). Here the same
generated stubs (``v4_proto``, the official client's protobufs) run on ``grpc.aio``.

A broadcast that fails in transport has an *unknown* outcome: the node may have run CheckTx.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from v4_proto.cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
from v4_proto.cosmos.auth.v1beta1.auth_pb2 import BaseAccount
from v4_proto.cosmos.auth.v1beta1.query_pb2 import QueryAccountRequest
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from v4_proto.cosmos.tx.v1beta1 import service_pb2_grpc as tx_grpc
from v4_proto.cosmos.tx.v1beta1.service_pb2 import BroadcastMode, BroadcastTxRequest

from connectors.base import CancelResult, ExchangeUnavailable, Outcome
from connectors.dydx.errors import AccountNotFound, UnexpectedReply


@dataclass(frozen=True, slots=True)
class CheckTxResult:
    """CheckTx's verdict on a broadcast (code 0: accepted by that node)."""

    txhash: str
    code: int
    codespace: str
    raw_log: str

    @property
    def accepted(self) -> bool:
        """Code 0."""
        return self.code == 0

    def as_cancel(self) -> CancelResult:
        """This verdict as the result of a cancel."""
        if self.accepted:
            return CancelResult(Outcome.CONFIRMED)
        return CancelResult(Outcome.REJECTED, reason=self.reason, raw=self.raw_log)

    @property
    def reason(self) -> str:
        """``codespace code: raw_log`` — what the journal keeps of a refusal."""
        return f"{self.codespace or 'sdk'} {self.code}: {self.raw_log}"


class NodeClient:
    """gRPC calls to one node (``host:port``), each bounded by ``timeout_s``."""

    def __init__(self, node_url: str, secure: bool = False, timeout_s: float = 5.0) -> None:
        target = node_url.split("://", 1)[-1]
        self._channel = (grpc.aio.secure_channel(target, grpc.ssl_channel_credentials())
                         if secure else grpc.aio.insecure_channel(target))
        self._timeout = timeout_s
        self._auth = auth_grpc.QueryStub(self._channel)
        self._tm = tm_grpc.ServiceStub(self._channel)
        self._tx = tx_grpc.ServiceStub(self._channel)

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def account(self, address: str) -> tuple[int, int]:
        """(account number, committed sequence); raises :class:`AccountNotFound`."""
        try:
            reply = await self._auth.Account(QueryAccountRequest(address=address),
                                             timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise AccountNotFound(
                    f"the node has no account {address}: deposit USDC to it before trading"
                ) from None
            raise ExchangeUnavailable(f"Account query failed: {exc.code().name}") from None
        account = BaseAccount()
        if not reply.account.Unpack(account):
            raise UnexpectedReply("Account reply is not a BaseAccount", str(reply.account.type_url))
        return int(account.account_number), int(account.sequence)

    async def latest_height(self) -> int:
        """Height of the latest committed block."""
        try:
            reply = await self._tm.GetLatestBlock(tm_query.GetLatestBlockRequest(),
                                                  timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise ExchangeUnavailable(f"GetLatestBlock failed: {exc.code().name}") from None
        height = int(reply.block.header.height or reply.sdk_block.header.height)
        if height <= 0:
            raise UnexpectedReply("GetLatestBlock reply has no height", str(reply)[:500])
        return height

    async def broadcast(self, tx_bytes: bytes) -> CheckTxResult:
        """BroadcastTx (SYNC); raises :class:`ExchangeUnavailable` when the outcome is unknown."""
        request = BroadcastTxRequest(tx_bytes=tx_bytes, mode=BroadcastMode.BROADCAST_MODE_SYNC)
        try:
            reply = await self._tx.BroadcastTx(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise ExchangeUnavailable(
                f"BroadcastTx failed ({exc.code().name}): outcome unknown"
            ) from None
        tx = reply.tx_response
        return CheckTxResult(str(tx.txhash), int(tx.code), str(tx.codespace), str(tx.raw_log))
