"""Embed the OMS as a library: a local exchange, one engine, a buy, a fill, a cancel.

Run: ``python examples/embed_oms.py`` (offline; uses ``HL_PRIVATE_KEY`` if set, else a fresh key;
``--account 0x…`` or ``HL_ACCOUNT_ADDRESS`` when that key is an API wallet of the account).
"""

import asyncio
import tempfile
from decimal import Decimal

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.demo.signer import ExampleSigner, example_signer
from oms.domain.enums import OrderType
from oms.engine import EngineConfig, OrderManager, RiskLimits


async def until(condition, timeout_s: float = 10.0) -> None:
    """Wait (bounded) for the exchange's replies and fills to arrive."""
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the exchange did not answer in time")


async def main(signer: ExampleSigner) -> None:
    journal = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/oms.db"
    async with SimulatedExchange(SimulatorConfig(seed=1, market_maker=False)) as exchange:
        await exchange.step_market()  # the house market maker quotes a first book
        signer.register(exchange)  # offline: the account approves its API wallet, if any
        connector = signer.connector(exchange.base_url)
        print("trading", signer.describe())
        risk = RiskLimits(max_order_notional=Decimal("50000"), max_open_orders=100)
        async with await OrderManager.open(journal, connector, risk=risk,
                                           config=EngineConfig()) as oms:
            print("recovery:", oms.recovery_report.as_dict()["events_replayed"], "events replayed")
            oms.add_listener(on_filled=lambda event, order: print("fill", event.amount, "ETH"))
            taker = oms.buy("ETH", Decimal("0.05"), OrderType.LIMIT, price=Decimal("3100"))
            resting = oms.buy("ETH", Decimal("0.05"), OrderType.LIMIT, price=Decimal("2900"))
            print("returned at once, state:", oms.get_order(resting).state.value)
            await oms.flush()                     # journaled, then sent
            await until(lambda: oms.get_order(resting).exchange_order_id is not None)
            repriced = oms.replace(resting, price=Decimal("2890"))  # one atomic exchange modify
            await until(lambda: oms.get_order(repriced).exchange_order_id is not None)
            oms.cancel(repriced)
            done = (taker, resting, repriced)
            await until(lambda: all(oms.get_order(c).is_terminal for c in done))
            for cid in done:
                order = oms.get_order(cid)
                print(cid, order.state.value, "executed", order.executed_base)
            print("ETH position:", oms.positions.get("ETH").net_size)


if __name__ == "__main__":
    asyncio.run(main(example_signer(__doc__)))
