"""Batch cancels: ``MsgBatchCancel`` for short-term orders, single cancels for stateful ones.

``MsgBatchCancel`` (v4-chain ``x/clob/types/message_batch_cancel.go``) takes up to 100 client ids
grouped by clob pair, one ``goodTilBlock`` for all, short-term orders only; its CheckTx answer is
all-or-nothing for us (the per-id successes are not returned by a SYNC broadcast), so one result
is repeated for each cloid of the batch. Its goodTilBlock must reach every order's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from v4_proto.dydxprotocol.clob.tx_pb2 import MsgBatchCancel, OrderBatch
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from connectors.base import CancelResult, Outcome
from connectors.dydx import constants as c
from connectors.dydx.client_ids import ClientIdRecord

if TYPE_CHECKING:
    from connectors.dydx.connector import DydxConnector


async def batch_cancel(conn: DydxConnector, cloids: Sequence[str], expires_after_ms: int | None
                       ) -> list[CancelResult]:
    """See :meth:`DydxConnector.batch_cancel`."""
    results: dict[str, CancelResult] = {}
    short: list[ClientIdRecord] = []
    height = await conn.height()
    for cloid in cloids:
        record = conn.ids.by_cloid(cloid)
        if record is None:
            results[cloid] = CancelResult(Outcome.REJECTED, reason="never sent to dYdX")
        elif record.flags != c.FLAG_SHORT_TERM:
            results[cloid] = await conn.cancel_by_cloid(record.ticker, cloid, expires_after_ms)
        elif record.good_til_block <= height:
            results[cloid] = CancelResult(Outcome.REJECTED, reason="already expired")
        else:
            short.append(record)
    for start in range(0, len(short), c.MAX_BATCH_CANCEL):
        chunk = short[start:start + c.MAX_BATCH_CANCEL]
        by_clob: dict[int, list[int]] = {}
        for record in chunk:
            by_clob.setdefault(record.clob_pair_id, []).append(record.client_id)
        msg = MsgBatchCancel(
            subaccount_id=SubaccountId(owner=conn.address, number=conn.subaccount),
            short_term_cancels=[OrderBatch(clob_pair_id=k, client_ids=v)
                                for k, v in sorted(by_clob.items())],
            good_til_block=max(r.good_til_block for r in chunk),
        )
        try:
            reply = await conn._require_sender().send_short_term(msg)
            result = (CancelResult(Outcome.CONFIRMED) if reply.accepted else
                      CancelResult(Outcome.REJECTED, reason=reply.reason, raw=reply.raw_log))
        except ConnectionError as exc:
            result = CancelResult(Outcome.UNKNOWN, reason=str(exc))
        for record in chunk:
            results[record.cloid] = result
    return [results[cloid] for cloid in cloids]
