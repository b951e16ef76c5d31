"""The validator node's gRPC services that the official ``dydx-v4-client`` calls.

``cosmos.auth.v1beta1.Query/Account``, ``cosmos.base.tendermint.v1beta1.Service/GetLatestBlock``,
``cosmos.tx.v1beta1.Service/BroadcastTx`` (SYNC: CheckTx's verdict inside ``tx_response``, never
a gRPC error) and ``Simulate``. A thread-pool server (``grpc.server``), not ``grpc.aio``: the
official client makes *blocking* gRPC calls from coroutines, so a server on the caller's event
loop would deadlock (reference §7).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.timestamp_pb2 import Timestamp
from v4_proto.cosmos.auth.v1beta1 import query_pb2 as auth_query
from v4_proto.cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
from v4_proto.cosmos.auth.v1beta1.auth_pb2 import BaseAccount
from v4_proto.cosmos.base.abci.v1beta1.abci_pb2 import TxResponse
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from v4_proto.cosmos.crypto.secp256k1.keys_pb2 import PubKey
from v4_proto.cosmos.tx.v1beta1 import service_pb2 as tx_service
from v4_proto.cosmos.tx.v1beta1 import service_pb2_grpc as tx_grpc

from connectors.dydx.constants import TYPE_PUBKEY
from connectors.dydx.simulator.chain import Chain


class _Auth(auth_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    def Account(self, request: Any, context: Any) -> Any:
        account = self.chain.account(request.address)
        if account is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"account {request.address} not found")
            raise AssertionError("abort raises")
        with self.chain.lock:
            base = BaseAccount(address=account.address, account_number=account.number,
                               sequence=account.sequence)
            if account.public_key is not None:
                base.pub_key.CopyFrom(AnyProto(type_url=TYPE_PUBKEY,
                                               value=PubKey(key=account.public_key)
                                               .SerializeToString()))
        packed = AnyProto()
        packed.Pack(base, type_url_prefix="/")
        return auth_query.QueryAccountResponse(account=packed)


class _Tendermint(tm_grpc.ServiceServicer):  # type: ignore[misc]
    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    def GetLatestBlock(self, request: Any, context: Any) -> Any:
        with self.chain.lock:
            height, block_time = self.chain.height, self.chain.block_time
        response = tm_query.GetLatestBlockResponse()
        for header in (response.block.header, response.sdk_block.header):
            header.height = height
            header.chain_id = self.chain.config.chain_id
            header.time.CopyFrom(Timestamp(seconds=block_time))
        return response


class _Tx(tx_grpc.ServiceServicer):  # type: ignore[misc]
    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    def BroadcastTx(self, request: Any, context: Any) -> Any:
        result = self.chain.broadcast(request.tx_bytes)
        return tx_service.BroadcastTxResponse(tx_response=TxResponse(
            height=0, txhash=result.txhash, codespace=result.codespace, code=result.code,
            raw_log=result.raw_log))

    def Simulate(self, request: Any, context: Any) -> Any:
        response = tx_service.SimulateResponse()
        response.gas_info.gas_wanted = 200_000
        response.gas_info.gas_used = 100_000
        return response


def start_node(chain: Chain, host: str = "127.0.0.1", port: int = 0) -> tuple[grpc.Server, int]:
    """Start the node's gRPC server; returns it and the port it listens on."""
    server = grpc.server(ThreadPoolExecutor(max_workers=8, thread_name_prefix="dydx-node"))
    auth_grpc.add_QueryServicer_to_server(_Auth(chain), server)
    tm_grpc.add_ServiceServicer_to_server(_Tendermint(chain), server)
    tx_grpc.add_ServiceServicer_to_server(_Tx(chain), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"the gRPC node could not listen on {host}:{port}")
    server.start()
    return server, bound
