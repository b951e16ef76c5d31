"""Rules of the local dYdX chain driven directly with signed transactions (no connector)."""

from __future__ import annotations

import time

import pytest
from dydx_helpers import ADDRESS, MNEMONIC
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgCancelOrder, MsgPlaceOrder
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from connectors.dydx.signing import DydxKey, TxSigner
from connectors.dydx.simulator import MAKER_ADDRESS, DydxSimConfig, DydxSimulator
from connectors.dydx.simulator.chain import Chain


def _place(client_id: int, flags: int, *, gtb: int = 0, gtbt: int = 0, side: int = 1,
           subticks: int = 2_000_000_000, tif: int = 0) -> MsgPlaceOrder:
    oid = OrderId(subaccount_id=SubaccountId(owner=ADDRESS, number=0), client_id=client_id,
                  order_flags=flags, clob_pair_id=1)
    order = Order(order_id=oid, side=side, quantums=10_000_000, subticks=subticks,
                  time_in_force=tif)
    if flags == 0:
        order.good_til_block = gtb
    else:
        order.good_til_block_time = gtbt
    return MsgPlaceOrder(order=order)


@pytest.fixture
def chain() -> tuple[Chain, TxSigner]:
    config = DydxSimConfig(block_interval_s=0, market_maker=False, auto_fund=False,
                           funded=(ADDRESS,), stateful_per_block=2)
    c = Chain(config)
    account = c.account(ADDRESS)
    assert account is not None
    return c, TxSigner(DydxKey.from_mnemonic(MNEMONIC), config.chain_id, account.number)


def test_sequences_timeouts_and_rate_limits(chain: tuple[Chain, TxSigner]) -> None:
    c, signer = chain
    gtbt = int(time.time()) + 600
    assert c.broadcast(signer.sign([_place(1, 64, gtbt=gtbt)], 0)).code == 0
    stale = c.broadcast(signer.sign([_place(2, 64, gtbt=gtbt)], 0))
    assert (stale.codespace, stale.code) == ("sdk", 32)
    assert stale.raw_log == ("account sequence mismatch, expected 1, got 0: incorrect account"
                             " sequence")
    assert c.broadcast(signer.sign([_place(2, 64, gtbt=gtbt)], 1)).code == 0
    limited = c.broadcast(signer.sign([_place(3, 64, gtbt=gtbt)], 2))
    assert (limited.codespace, limited.code) == ("clob", 5001)
    # A stateful tx whose timeout height is the current one is refused at CheckTx.
    late = c.broadcast(signer.sign([_place(4, 64, gtbt=gtbt)], 2, timeout_height=c.height))
    assert (late.codespace, late.code) == ("sdk", 30)
    c.produce_block()
    assert c.ledger.accounts[ADDRESS].sequence == 2  # committed with the block
    wrong_chain = TxSigner(signer.key, "dydx-mainnet-1", signer.account_number)
    refused = c.broadcast(wrong_chain.sign([_place(5, 0, gtb=c.height + 3)], 0))
    assert refused.code == 4 and "chain-id (localdydxprotocol)" in refused.raw_log


def test_short_term_orders_expire_and_cancels_need_a_reaching_gtb(
    chain: tuple[Chain, TxSigner],
) -> None:
    c, signer = chain
    h = c.height
    assert c.broadcast(signer.sign([_place(7, 0, gtb=h + 3)], 0)).code == 0
    key = (ADDRESS, 0, 7, 0, 1)
    assert key in c.clob.live
    for _ in range(3):
        c.produce_block()
    assert key not in c.clob.live and c.clob.done[key].status == "CANCELED"
    assert c.clob.done[key].removal_reason == "ORDER_REMOVAL_REASON_EXPIRED"
    # Post-only that would cross a resting ask: refused at CheckTx (2003).
    assert c.broadcast(signer.sign([_place(8, 0, gtb=c.height + 5, side=2,
                                           subticks=1_900_000_000)], 0)).code == 0
    crossing = c.broadcast(signer.sign([_place(9, 0, gtb=c.height + 5, tif=2)], 0))
    assert crossing.code == 2003
    cancel = MsgCancelOrder(order_id=_place(8, 0).order.order_id, good_til_block=c.height + 5)
    assert c.broadcast(signer.sign([cancel], 0)).code == 0
    again = c.broadcast(signer.sign([cancel], 0))
    assert again.code == 9, "a second cancel with the same GTB"


async def test_the_house_market_keeps_memory_flat() -> None:
    config = DydxSimConfig(block_interval_s=0, market_maker=True)
    async with DydxSimulator(config) as sim:
        for _ in range(200):
            sim.produce_block()
        assert len(sim.chain.clob.live) <= 30  # its current ladder only
        assert not sim.chain.clob.done and not sim.db.orders
        assert len(sim.truth_orders(MAKER_ADDRESS)) <= 30
