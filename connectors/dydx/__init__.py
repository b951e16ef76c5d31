"""dYdX v4: the connector (Cosmos transactions over gRPC, Indexer REST/WebSocket) and, in
``connectors.dydx.simulator``, a local dYdX-compatible exchange."""

from connectors.dydx.client_ids import ClientIdJournal, ClientIdRecord
from connectors.dydx.connector import DydxConnector, MissingKey
from connectors.dydx.errors import (
    AccountNotFound,
    ClientIdFileCorrupt,
    ClientIdsExhausted,
    InvalidMnemonic,
    NotYetCertain,
    UnexpectedReply,
)
from connectors.dydx.markets import DydxMarket, DydxTradingRule
from connectors.dydx.signing import DydxKey, TxSigner

__all__ = [
    "AccountNotFound",
    "ClientIdFileCorrupt",
    "ClientIdJournal",
    "ClientIdRecord",
    "ClientIdsExhausted",
    "DydxConnector",
    "DydxKey",
    "DydxMarket",
    "DydxTradingRule",
    "InvalidMnemonic",
    "MissingKey",
    "NotYetCertain",
    "TxSigner",
    "UnexpectedReply",
]
