"""Hyperliquid protocol constants: endpoints, number rules, signing domain, timing defaults.

Everything here is a fact of the exchange (see ``shared/reference/hyperliquid.md``), kept in one
place so that no magic number hides in the clients.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

VENUE: Final = "hyperliquid"

MAINNET_API_URL: Final = "https://api.hyperliquid.xyz"
TESTNET_API_URL: Final = "https://api.hyperliquid-testnet.xyz"

INFO_PATH: Final = "/info"
EXCHANGE_PATH: Final = "/exchange"
WS_PATH: Final = "/ws"

# Prices: 5 significant figures and at most (6 | 8) - szDecimals decimals (perp | spot).
PRICE_SIG_FIGS: Final = 5
PERP_MAX_DECIMALS: Final = 6
SPOT_MAX_DECIMALS: Final = 8
# The signed wire format carries at most 8 decimals (the SDK's float_to_wire rounds to 8).
WIRE_MAX_DECIMALS: Final = 8
# Minimum order value: $10 for perps, 10 quote units for spot.
MIN_NOTIONAL: Final = Decimal(10)
SPOT_ASSET_OFFSET: Final = 10_000

# L1 signing (EIP-712 "Exchange" domain; the network is carried by the phantom agent's source).
L1_CHAIN_ID: Final = 1337
L1_DOMAIN_NAME: Final = "Exchange"
L1_DOMAIN_VERSION: Final = "1"
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
MAINNET_SOURCE: Final = "a"
TESTNET_SOURCE: Final = "b"

# User-signed actions (transfers, approvals) use another domain and the SDK's chain id 0x66eee.
USER_SIGNED_DOMAIN_NAME: Final = "HyperliquidSignTransaction"
USER_SIGNED_CHAIN_ID_HEX: Final = "0x66eee"

# scheduleCancel must be at least 5 s in the future.
SCHEDULE_CANCEL_MIN_LEAD_MS: Final = 5_000

# The server closes a socket that has sent nothing for 60 s; the SDKs ping every 50 s.
WS_PING_INTERVAL_S: Final = 50.0
RULES_REFRESH_INTERVAL_S: Final = 300.0
