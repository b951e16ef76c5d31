"""Fixed values of the dYdX v4 protocol that the connector and the local exchange share.

Sources (see ``shared/reference/dydx_v4.md``): dydx-v4-client 1.1.5 (``node/builder.py``,
``network.py``), v4-chain ``x/clob/types/{order_id,errors}.go``, ``app/ante/replay_protection.go``,
Indexer ``postgres/src/helpers/uuid.ts``.
"""

from __future__ import annotations

import uuid

VENUE = "dydx"

#: Chain id of a local dYdX network (``localdydxprotocol`` in v4-chain ``testing/genesis.sh``).
LOCAL_CHAIN_ID = "localdydxprotocol"
#: The token denomination the official client passes for a local or test network.
LOCAL_DENOM = "adv4tnt"

#: OrderId.order_flags (v4-chain ``x/clob/types/order_id.go``).
FLAG_SHORT_TERM = 0
FLAG_CONDITIONAL = 32
FLAG_LONG_TERM = 64

#: Short-term orders may name a goodTilBlock at most this many blocks past the next block
#: (20 through protocol v9.4, 40 from v9.5; 20 is safe on both).
SHORT_BLOCK_WINDOW = 20
#: Stateful orders may live at most 95 days (``StatefulOrderTimeWindow``).
STATEFUL_WINDOW_S = 95 * 24 * 3600
#: client_id is a protobuf fixed32.
MAX_CLIENT_ID = 2**32 - 1
#: A batch cancel carries at most this many client ids.
MAX_BATCH_CANCEL = 100

TYPE_PLACE_ORDER = "/dydxprotocol.clob.MsgPlaceOrder"
TYPE_CANCEL_ORDER = "/dydxprotocol.clob.MsgCancelOrder"
TYPE_BATCH_CANCEL = "/dydxprotocol.clob.MsgBatchCancel"
TYPE_PUBKEY = "/cosmos.crypto.secp256k1.PubKey"

#: CLOB transactions pay no fee but carry this gas limit (``DEFAULT_FEE`` of the official client).
CLOB_GAS_LIMIT = 1_000_000
#: client_metadata of our orders ("oms1"): the official client writes 2 in every order, so a row
#: with another value (same subaccount, same client id) is not ours.
CLIENT_METADATA = 0x6F6D7331

#: USDC has 6 decimals on dYdX (asset 0): 1 quote quantum = 1e-6 USDC.
QUOTE_ATOMIC_RESOLUTION = -6

#: Namespace of the Indexer's deterministic UUIDv5 ids.
INDEXER_UUID_NAMESPACE = uuid.UUID("0f9da948-a6fb-4c45-9edc-4685c3f3317d")

#: Order statuses of the Indexer that mean "still live" (BEST_EFFORT_OPENED: seen by the node's
#: mempool only; UNTRIGGERED: a conditional order waiting for its trigger).
LIVE_STATUSES = frozenset({"OPEN", "BEST_EFFORT_OPENED", "UNTRIGGERED"})


def subaccount_uuid(address: str, number: int) -> str:
    """The Indexer's id of a subaccount: UUIDv5 of ``"<address>-<number>"``."""
    return str(uuid.uuid5(INDEXER_UUID_NAMESPACE, f"{address}-{number}"))


def order_uuid(address: str, number: int, client_id: int, clob_pair_id: int, flags: int) -> str:
    """The Indexer's id of an order: UUIDv5 of ``"<subaccount uuid>-<client id>-<clob>-<flags>"``.

    >>> order_uuid("dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art", 0, 123456789, 0, 0)
    '943b4f34-3f3c-5061-a5d9-54e8e1965192'
    """
    sub = subaccount_uuid(address, number)
    return str(uuid.uuid5(INDEXER_UUID_NAMESPACE, f"{sub}-{client_id}-{clob_pair_id}-{flags}"))


def fill_uuid(event_id: bytes, liquidity: str) -> str:
    """The Indexer's id of a fill: UUIDv5 of ``"<event id hex>-<TAKER|MAKER>"``."""
    return str(uuid.uuid5(INDEXER_UUID_NAMESPACE, f"{event_id.hex()}-{liquidity}"))
