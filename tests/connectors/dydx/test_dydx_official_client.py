"""The official ``dydx-v4-client`` (unchanged) places, cancels and queries on the local exchange.

Its node client makes blocking gRPC calls from coroutines, which is why the simulator's node runs on
a thread pool: these tests would hang otherwise.
"""

from __future__ import annotations

import asyncio
import time

from dydx_helpers import ADDRESS, MNEMONIC
from dydx_v4_client import OrderFlags
from dydx_v4_client.indexer.rest.constants import OrderType
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.network import local_node, make_insecure
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.node.market import Market
from dydx_v4_client.wallet import Wallet
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from connectors.dydx.simulator import DydxSimConfig, DydxSimulator

GTT = Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED


async def _wait_for(probe, expected=True, timeout_s: float = 5.0):  # type: ignore[no-untyped-def]
    """Poll ``probe()`` until it returns ``expected``; return it (or fail with the last value)."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = await probe()
        if value == expected:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected!r}, last saw {value!r}")


async def test_official_client_places_cancels_and_queries() -> None:
    config = DydxSimConfig(block_interval_s=0.1, market_maker=False, auto_fund=False,
                           funded=(ADDRESS,))
    async with DydxSimulator(config) as sim:
        network = make_insecure(local_node, sim.rest_url, sim.ws_url, sim.node_url)
        node = await NodeClient.connect(network.node)
        indexer = IndexerClient(network.rest_indexer)
        wallet = await Wallet.from_mnemonic(node, MNEMONIC, ADDRESS)
        assert wallet.address == ADDRESS and wallet.sequence == 0
        raw = (await indexer.markets.get_perpetual_markets("ETH-USD"))["markets"]["ETH-USD"]
        market = Market(raw)
        height = await node.latest_block_height()

        # Short-term limit order, then its cancel (GTB of the cancel ≥ the order's).
        short_id = market.order_id(ADDRESS, 0, 77, OrderFlags.SHORT_TERM)
        order = market.order(short_id, OrderType.LIMIT, Order.Side.SIDE_BUY, size=0.01,
                             price=2000, time_in_force=GTT, reduce_only=False,
                             good_til_block=height + 10)
        placed = await node.place_order(wallet, order)
        assert placed.tx_response.code == 0, placed.tx_response.raw_log

        async def status_of(client_id: str) -> str | None:
            rows = await indexer.account.get_subaccount_orders(ADDRESS, 0)
            return next((o["status"] for o in rows if o["clientId"] == client_id), None)

        await _wait_for(lambda: status_of("77"), "BEST_EFFORT_OPENED")
        canceled = await node.cancel_order(wallet, short_id, good_til_block=height + 15)
        assert canceled.tx_response.code == 0, canceled.tx_response.raw_log
        await _wait_for(lambda: status_of("77"), "BEST_EFFORT_CANCELED")

        # Long-term order resting on an empty book: OPEN once its block is committed.
        long_id = market.order_id(ADDRESS, 0, 78, OrderFlags.LONG_TERM)
        gtbt = int(time.time()) + 600
        order = market.order(long_id, OrderType.LIMIT, Order.Side.SIDE_SELL, size=0.02,
                             price=4000, time_in_force=GTT, reduce_only=False,
                             good_til_block_time=gtbt)
        placed = await node.place_order(wallet, order)
        assert placed.tx_response.code == 0, placed.tx_response.raw_log
        await _wait_for(lambda: status_of("78"), "OPEN")
        book = await indexer.markets.get_perpetual_market_orderbook("ETH-USD")
        assert book["asks"] == [{"price": "4000", "size": "0.02"}]

        # The official SequenceManager re-queries the committed sequence: wait for the block.
        await _wait_for(lambda: _committed(node, 1))
        canceled = await node.cancel_order(wallet, long_id, good_til_block_time=gtbt)
        assert canceled.tx_response.code == 0, canceled.tx_response.raw_log
        await _wait_for(lambda: status_of("78"), "CANCELED")
        truth = sim.truth_orders(ADDRESS)
        assert truth[78]["reason"] == "ORDER_REMOVAL_REASON_USER_CANCELED"


async def _committed(node: NodeClient, sequence: int) -> bool:
    return bool((await node.get_account(ADDRESS)).sequence >= sequence)


async def test_official_client_sees_refusals() -> None:
    """Off-grid sizes, a stale goodTilBlock and an unknown account are refused as on chain."""
    config = DydxSimConfig(block_interval_s=0, market_maker=False, auto_fund=False,
                           funded=(ADDRESS,))
    async with DydxSimulator(config) as sim:
        network = make_insecure(local_node, sim.rest_url, sim.ws_url, sim.node_url)
        node = await NodeClient.connect(network.node)
        wallet = await Wallet.from_mnemonic(node, MNEMONIC, ADDRESS)
        height = await node.latest_block_height()
        base = {"subaccount_id": {"owner": ADDRESS, "number": 0}, "client_id": 5,
                "order_flags": 0, "clob_pair_id": 1}
        good = Order(order_id=base, side=Order.Side.SIDE_BUY, quantums=10_000_000,
                     subticks=2_000_000_000, good_til_block=height + 5)
        off_step = Order(order_id=base, side=Order.Side.SIDE_BUY, quantums=10_500_000,
                         subticks=2_000_000_000, good_til_block=height + 5)
        reply = (await node.place_order(wallet, off_step)).tx_response
        assert (reply.codespace, reply.code) == ("clob", 12)
        assert "must be a multiple of the ClobPair's StepBaseQuantums 1000000" in reply.raw_log
        stale = Order(order_id=base, side=Order.Side.SIDE_BUY, quantums=10_000_000,
                      subticks=2_000_000_000, good_til_block=height)
        reply = (await node.place_order(wallet, stale)).tx_response
        assert (reply.codespace, reply.code) == ("clob", 10)
        far = Order(order_id=base, side=Order.Side.SIDE_BUY, quantums=10_000_000,
                    subticks=2_000_000_000, good_til_block=height + 22)
        assert (await node.place_order(wallet, far)).tx_response.code == 11
        assert (await node.place_order(wallet, good)).tx_response.code == 0
        # The same order again (same id, same GTB) is not a valid replacement.
        assert (await node.place_order(wallet, good)).tx_response.code == 20
        try:
            await node.get_account("dydx1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a")
        except Exception as exc:  # grpc.RpcError
            assert "not found" in str(exc)
        else:
            raise AssertionError("an unknown account must be NOT_FOUND")
