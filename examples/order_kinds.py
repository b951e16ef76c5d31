"""Order kinds against the local exchange: a leverage change, a market order and a market close,
then a bracket whose take-profit fires when the mark moves (and cancels its stop-loss).

Run: ``python examples/order_kinds.py`` (offline; uses ``HL_PRIVATE_KEY`` if set, else a fresh key;
``--account 0x…`` or ``HL_ACCOUNT_ADDRESS`` when that key is an API wallet of the account).
"""

import asyncio
import tempfile
from decimal import Decimal

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.demo.signer import ExampleSigner, example_signer
from oms.domain.enums import OrderState, TradeSide
from oms.engine import EngineConfig, OrderManager
from oms.engine.order_kind_rules import Leg


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
        async with await OrderManager.open(journal, connector, config=EngineConfig()) as oms:
            done = await oms.set_leverage("ETH", 5, "isolated")        # journaled, then sent
            print("leverage:", done.outcome.value, dict(oms.leverage))

            bought = await oms.market(TradeSide.BUY, "ETH", Decimal("0.02"))  # IOC, 5 % bound
            await until(lambda: oms.get_order(bought).state is OrderState.FILLED)
            print("market buy filled at", oms.get_order(bought).average_price)

            closing = await oms.market_close("ETH")  # reduce-only, sized to the position
            await until(lambda: oms.get_order(closing).state is OrderState.FILLED)
            print("position closed:", exchange.truth.positions(connector.account) == {})

            mark = await connector.mark_price("ETH")
            take, stop = (mark * Decimal("1.03")).quantize(Decimal(1)), mark * Decimal("0.95")
            ids = oms.bracket(TradeSide.BUY, "ETH", Decimal("0.02"),
                              price=(mark * Decimal("1.01")).quantize(Decimal(1)),  # crosses
                              take_profit=Leg(take), stop_loss=Leg(stop.quantize(Decimal(1))))
            print("bracket ids, all journaled before the one action left:", ids)
            await until(lambda: oms.get_order(ids.stop_loss).trigger_state is not None
                        and oms.get_order(ids.stop_loss).trigger_state.value
                        == "waiting_for_trigger")
            print("entry", oms.get_order(ids.entry).state.value, "- legs armed")
            exchange.set_mark("ETH", take)         # the mark reaches the take-profit
            await until(lambda: oms.get_order(ids.stop_loss).is_terminal)
            tp, sl = oms.get_order(ids.take_profit), oms.get_order(ids.stop_loss)
            print("take-profit", tp.trigger_state.value, tp.state.value, "- stop-loss",
                  sl.state.value, f"({sl.reason})")

if __name__ == "__main__":
    asyncio.run(main(example_signer(__doc__)))
