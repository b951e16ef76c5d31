"""Hyperliquid connector: signing, wire format, trading rules, REST/WebSocket clients, L2 book,
typed market-data and user-event streams.

Example::

    from connectors.hyperliquid import HyperliquidConnector, sign_l1_action

    async with HyperliquidConnector(base_url, private_key=key) as conn:
        results = await conn.place_orders(requests, expires_after_ms=deadline_ms)
"""

from connectors.hyperliquid.book import OrderBook
from connectors.hyperliquid.connector import HyperliquidConnector, ws_url_for
from connectors.hyperliquid.errors import (
    InvalidCloid,
    LeverageOutOfRange,
    MissingPrivateKey,
    ScheduleCancelTooEarly,
    UnexpectedReply,
    WireFormatError,
)
from connectors.hyperliquid.market_streams import MarketStreams
from connectors.hyperliquid.nonces import NonceManager
from connectors.hyperliquid.rest import ExchangeReply, HyperliquidRest
from connectors.hyperliquid.rules import TradingRules, parse_perp_meta, parse_spot_meta
from connectors.hyperliquid.signing import (
    L1Signer,
    Signature,
    action_hash,
    recover_l1_signer,
    sign_l1_action,
    sign_user_signed_action,
)
from connectors.hyperliquid.user_events import (
    FundingPayment,
    Liquidation,
    NonUserCancel,
    UserEvent,
    UserEventFills,
)
from connectors.hyperliquid.wire import (
    cloid_from_client_order_id,
    cloid_from_int,
    decimal_to_wire,
)
from connectors.hyperliquid.ws import HyperliquidWs

__all__ = [
    "ExchangeReply",
    "FundingPayment",
    "HyperliquidConnector",
    "HyperliquidRest",
    "HyperliquidWs",
    "InvalidCloid",
    "L1Signer",
    "LeverageOutOfRange",
    "Liquidation",
    "MarketStreams",
    "MissingPrivateKey",
    "NonUserCancel",
    "NonceManager",
    "OrderBook",
    "ScheduleCancelTooEarly",
    "Signature",
    "TradingRules",
    "UnexpectedReply",
    "UserEvent",
    "UserEventFills",
    "WireFormatError",
    "action_hash",
    "cloid_from_client_order_id",
    "cloid_from_int",
    "decimal_to_wire",
    "parse_perp_meta",
    "parse_spot_meta",
    "recover_l1_signer",
    "sign_l1_action",
    "sign_user_signed_action",
    "ws_url_for",
]
