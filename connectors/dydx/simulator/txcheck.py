"""Decoding and authenticating a broadcast transaction, as the ante handlers of v4-chain do.

Order of checks (v4-chain ``app/ante.go``, cosmos-sdk ``x/auth/ante``): decode (``sdk`` 2), one
signer with a secp256k1 key whose address is the messages' owner (``sdk`` 4), signature over the
``SignDoc`` with the node's chain id and the account's number (``sdk`` 4), then the sequence —
skipped for a transaction made only of short-term place/cancel or batch-cancel messages, whose
goodTilBlock is the replay protection (``app/ante/replay_protection.go``).
"""

from __future__ import annotations

from dataclasses import dataclass

from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from google.protobuf.message import DecodeError, Message
from v4_proto.cosmos.crypto.secp256k1.keys_pb2 import PubKey
from v4_proto.cosmos.tx.v1beta1.tx_pb2 import AuthInfo, SignDoc, TxBody, TxRaw
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgBatchCancel, MsgCancelOrder, MsgPlaceOrder

from connectors.dydx import constants as c
from connectors.dydx.signing import address_of

_TYPES: dict[str, type[Message]] = {
    c.TYPE_PLACE_ORDER: MsgPlaceOrder,
    c.TYPE_CANCEL_ORDER: MsgCancelOrder,
    c.TYPE_BATCH_CANCEL: MsgBatchCancel,
}


class TxRefused(Exception):
    """CheckTx failed: ``code``/``codespace``/``log`` go into the TxResponse."""

    def __init__(self, codespace: str, code: int, log: str) -> None:
        super().__init__(log)
        self.codespace, self.code, self.log = codespace, code, log


@dataclass(frozen=True, slots=True)
class DecodedTx:
    """A transaction whose shape and signer are known (signature not yet checked)."""

    messages: list[Message]
    signer: str
    public_key: bytes
    sequence: int
    timeout_height: int
    body_bytes: bytes
    auth_info_bytes: bytes
    signature: bytes

    @property
    def short_term_only(self) -> bool:
        """Only short-term places/cancels or batch cancels: no sequence check, no increment."""
        for m in self.messages:
            if isinstance(m, MsgBatchCancel):
                continue
            order_id = m.order.order_id if isinstance(m, MsgPlaceOrder) else m.order_id
            if order_id.order_flags != c.FLAG_SHORT_TERM:
                return False
        return True


def _owner(message: Message) -> str:
    if isinstance(message, MsgPlaceOrder):
        return str(message.order.order_id.subaccount_id.owner)
    if isinstance(message, MsgCancelOrder):
        return str(message.order_id.subaccount_id.owner)
    return str(message.subaccount_id.owner)


def decode(tx_bytes: bytes) -> DecodedTx:
    """Parse ``TxRaw`` bytes; raises :class:`TxRefused` for anything malformed."""
    try:
        raw = TxRaw.FromString(tx_bytes)
        body = TxBody.FromString(raw.body_bytes)
        auth = AuthInfo.FromString(raw.auth_info_bytes)
        messages: list[Message] = []
        for packed in body.messages:
            cls = _TYPES.get(packed.type_url)
            if cls is None:
                raise TxRefused("sdk", 2, f"unable to resolve type URL {packed.type_url}:"
                                " tx parse error")
            messages.append(cls.FromString(packed.value))
        if len(auth.signer_infos) != 1 or len(raw.signatures) != 1:
            raise TxRefused("sdk", 4, "expected exactly one signer and one signature:"
                            " unauthorized")
        info = auth.signer_infos[0]
        if info.public_key.type_url != c.TYPE_PUBKEY:
            raise TxRefused("sdk", 4, f"unsupported public key {info.public_key.type_url}:"
                            " unauthorized")
        public_key = PubKey.FromString(info.public_key.value).key
    except DecodeError as exc:
        raise TxRefused("sdk", 2, f"{exc}: tx parse error") from None
    if not messages:
        raise TxRefused("sdk", 18, "must contain at least one message: invalid request")
    signer = address_of(bytes(public_key))
    owners = {_owner(m) for m in messages}
    if owners != {signer}:
        raise TxRefused("sdk", 4, f"pubKey does not match signer address {sorted(owners)[0]}"
                        f" with signer index: 0: invalid pubkey")
    return DecodedTx(messages, signer, bytes(public_key), info.sequence, body.timeout_height,
                     raw.body_bytes, raw.auth_info_bytes, raw.signatures[0])


def verify_signature(tx: DecodedTx, chain_id: str, account_number: int) -> None:
    """Raise :class:`TxRefused` (``sdk`` 4) unless the signature is valid for this chain."""
    doc = SignDoc(body_bytes=tx.body_bytes, auth_info_bytes=tx.auth_info_bytes,
                  chain_id=chain_id, account_number=account_number).SerializeToString()
    ok = False
    if len(tx.signature) == 64:
        try:
            der = cdata_to_der(deserialize_compact(tx.signature))
            ok = PublicKey(tx.public_key).verify(der, doc)
        except (ValueError, TypeError):
            ok = False
    if not ok:
        raise TxRefused(
            "sdk", 4,
            f"signature verification failed; please verify account number ({account_number})"
            f" and chain-id ({chain_id}): unauthorized",
        )
