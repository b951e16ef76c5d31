"""``DydxSimulator``: the local dYdX v4 network — gRPC node, block timer, Indexer REST/WebSocket.

Example::

    async with DydxSimulator(DydxSimConfig(market_maker=False)) as sim:
        sim.fund("dydx1…")
        network = make_insecure(local_node, sim.rest_url, sim.ws_url, sim.node_url)  # official
        ...
        sim.truth_orders("dydx1…")
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from connectors.dydx.simulator.book import BUY, OrderKey, SimOrder
from connectors.dydx.simulator.chain import Chain
from connectors.dydx.simulator.config import DydxSimConfig
from connectors.dydx.simulator.grpc_node import start_node
from connectors.dydx.simulator.http import IndexerHttp
from connectors.dydx.simulator.indexer import IndexerDb
from connectors.dydx.simulator.maker import MarketMaker

#: ``oms sim --exchange dydx`` prints this line once everything listens.
LISTENING_PREFIX = "local dYdX exchange listening:"


class SimulatorNotRunning(RuntimeError):
    """The simulator was used before ``start()`` or after ``close()``."""


class DydxSimulator:
    """The whole local network in one object (start with ``async with``)."""

    def __init__(self, config: DydxSimConfig | None = None, host: str = "127.0.0.1",
                 http_port: int = 0, grpc_port: int = 0) -> None:
        self.config = config or DydxSimConfig()
        self.host, self._http_port, self._grpc_port = host, http_port, grpc_port
        self.chain = Chain(self.config)
        self.maker = MarketMaker(self.chain, self.config.seed) if self.config.market_maker \
            else None
        self.db = IndexerDb(self.config)
        self.http = IndexerHttp(self.chain, self.db, self._oracle)
        self.indexer_lag_s = self.config.indexer_lag_s
        #: While True, blocks still come but the market maker holds still (nothing new trades
        #: unless a client sends a crossing order): for comparing a dump with the truth.
        self.market_paused = False
        self._last_due = 0.0
        self._backlog: list[list[dict[str, Any]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._node: Any = None
        self._stop = threading.Event()
        self._blocks: threading.Thread | None = None
        self.chain.listeners.append(self._on_events)
        if self.config.admin_api:  # off unless asked for (oms sim --exchange dydx --admin)
            from connectors.dydx.simulator.admin import admin_handler

            self.http.app.router.add_post("/admin", admin_handler(self))

    def _oracle(self, ticker: str) -> Decimal:
        with self.chain.lock:
            return self.chain.oracle_prices[ticker]

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (HTTP+WS, gRPC) and start the block timer."""
        self._loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(self.http.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._http_port)
        await site.start()
        server = site._server
        assert server is not None
        self._http_port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._node, self._grpc_port = start_node(self.chain, self.host, self._grpc_port)
        self.produce_block()
        if self.config.block_interval_s > 0:
            self._blocks = threading.Thread(target=self._block_timer, name="dydx-blocks",
                                            daemon=True)
            self._blocks.start()

    async def close(self) -> None:
        """Stop blocks, close sockets and servers; idempotent."""
        self._stop.set()
        if self._blocks is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._blocks.join, 5.0)
            self._blocks = None
        if self._node is not None:
            self._node.stop(grace=0.5).wait(2.0)
            self._node = None
        if self._runner is not None:
            await self.http.close_all()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DydxSimulator:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # addresses -------------------------------------------------------------------------------

    @property
    def rest_url(self) -> str:
        """Indexer REST base (``http://127.0.0.1:P``)."""
        return f"http://{self.host}:{self._http_port}"

    @property
    def ws_url(self) -> str:
        """Indexer WebSocket (``ws://127.0.0.1:P/v4/ws``)."""
        return f"ws://{self.host}:{self._http_port}/v4/ws"

    @property
    def node_url(self) -> str:
        """gRPC node as ``host:port`` (what ``make_insecure`` takes)."""
        return f"{self.host}:{self._grpc_port}"

    # blocks and events -----------------------------------------------------------------------

    def _block_timer(self) -> None:
        while not self._stop.wait(self.config.block_interval_s):
            self.produce_block()

    def produce_block(self) -> int:
        """Commit one block now (the maker re-quotes in it unless paused); returns its height."""
        step = self.maker.step if self.maker and not self.market_paused else None
        return self.chain.produce_block(step)

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._deliver, events)

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        # The Indexer lags but never reorders: a batch is due no earlier than the one before it,
        # even when the lag shrinks meanwhile.
        assert self._loop is not None
        due = max(self._loop.time() + self.indexer_lag_s, self._last_due)
        self._last_due = due
        if due <= self._loop.time() and not self._backlog:
            self.db.apply(events, self.http.push)
            self.http.push_books()
            return
        self._backlog.append(events)
        self._loop.call_at(due, self._apply_oldest)

    def _apply_oldest(self) -> None:
        self.db.apply(self._backlog.pop(0), self.http.push)
        self.http.push_books()

    # test helpers ----------------------------------------------------------------------------

    def fund(self, address: str, usdc: Decimal | None = None) -> None:
        """Create (or top up) an account."""
        self.chain.fund(address, usdc)

    def set_oracle(self, ticker: str, price: Decimal) -> None:
        """Move the oracle price of ``ticker`` (the market maker walks on from there); the next
        block triggers the conditional orders it crosses. Raises ``KeyError`` for an unknown
        ticker, ``ValueError`` for a price that is not positive."""
        if not isinstance(price, Decimal) or price <= 0:
            raise ValueError(f"oracle price must be a positive Decimal, got {price!r}")
        with self.chain.lock:
            if ticker not in self.chain.oracle_prices:
                raise KeyError(f"unknown market {ticker!r}")
            self.chain.oracle_prices[ticker] = price

    async def close_websockets(self) -> None:
        """Fault: drop every Indexer WebSocket connection."""
        await self.http.close_all()

    def truth_orders(self, address: str, number: int = 0) -> dict[int, dict[str, Any]]:
        """Every order the chain ever accepted for the subaccount, by client id."""
        def view(o: SimOrder) -> dict[str, Any]:
            market = self.db.markets[o.key[4]]
            return {"uuid": o.uuid, "status": o.status, "reason": o.removal_reason,
                    "side": "buy" if o.side == BUY else "sell", "flags": o.key[3],
                    "filled": self.db.size(market, o.filled),
                    "size": self.db.size(market, o.quantums), "ticker": market.ticker}
        with self.chain.lock:
            clob = self.chain.clob
            orders: dict[OrderKey, SimOrder] = {**clob.done, **clob.pending_places, **clob.live,
                                                **clob.conditionals.untriggered,
                                                **clob.conditionals.triggered}
            return {k[2]: view(o) for k, o in orders.items() if k[:2] == (address, number)}

    def truth_fills(self, address: str, number: int = 0) -> list[dict[str, Any]]:
        """Every fill of the subaccount: order uuid, fill id, size, price."""
        with self.chain.lock:
            events = list(self.chain.fill_log.get((address, number), []))
        out = []
        for e in events:
            market = self.db.markets[e["key"][4]]
            event_id = (e["height"].to_bytes(4, "big") + (2).to_bytes(4, "big")
                        + e["event_index"].to_bytes(4, "big"))
            from connectors.dydx.constants import fill_uuid

            out.append({"order": e["order"], "id": fill_uuid(event_id, e["liquidity"]),
                        "client_id": e["key"][2], "size": self.db.size(market, e["quantums"])})
        return out

    def truth_account(self, address: str, number: int = 0) -> dict[str, Any]:
        """The subaccount's collateral by the chain: ``usdc``, ``cash`` (USDC + Σ signed open
        cost: collateral without unrealized PnL, what the engine's fold calls cash) and
        ``equity`` (USDC + Σ size × oracle), all in USDC."""
        with self.chain.lock:
            sub = self.chain.ledger.subaccounts.get((address, number))
            if sub is None:
                return {}
            usdc = Decimal(sub.usdc).scaleb(-6)
            cash, equity = usdc, usdc
            for clob, p in sub.positions.items():
                if p.quantums:
                    market = self.db.markets[clob]
                    cash += Decimal(p.open_cost if p.quantums > 0 else -p.open_cost).scaleb(-6)
                    equity += (self.db.size(market, p.quantums)
                               * self.chain.oracle_prices[market.ticker])
            return {"usdc": usdc, "cash": cash, "equity": equity}

    def truth_positions(self, address: str, number: int = 0) -> dict[str, Decimal]:
        """Non-zero positions of the subaccount by ticker."""
        with self.chain.lock:
            sub = self.chain.ledger.subaccounts.get((address, number))
            positions = dict(sub.positions) if sub else {}
            return {self.db.markets[clob].ticker: self.db.size(self.db.markets[clob], p.quantums)
                    for clob, p in positions.items() if p.quantums}


async def serve(config: DydxSimConfig, host: str, http_port: int, grpc_port: int,
                state_file: Path | None = None) -> None:
    """Run a simulator until cancelled, printing where it listens; with ``state_file``, load it
    first (when it exists) and save to it on the way out (``state.py``)."""
    from connectors.dydx.simulator.state import load_state, save_state

    sim = DydxSimulator(config, host, http_port, grpc_port)
    if state_file is not None:
        load_state(sim, state_file, missing_ok=True)
    try:
        async with sim:
            print(f"{LISTENING_PREFIX} rest={sim.rest_url} ws={sim.ws_url} node={sim.node_url}"
                  f" chain_id={config.chain_id}", flush=True)
            await asyncio.Event().wait()
    finally:
        if state_file is not None:
            save_state(sim, state_file)
