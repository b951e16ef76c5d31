"""The simulated exchange as a server: aiohttp app on one port (POST /info, POST /exchange,
GET /ws), a tick loop (market maker, scheduled cancels, periodic saves) and fault injection.

Example::

    async with SimulatedExchange(SimulatorConfig(seed=7)) as sim:
        print(sim.base_url, sim.ws_url)
        await sim.step_market()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import TracebackType

import orjson
from aiohttp import web

from .account_api import AccountTestApi
from .admin import admin_handler
from .config import HOUSE_ADDRESSES, SimulatorConfig
from .engine import ExchangeEngine
from .faults import FaultInjector, FaultSpec
from .handlers_exchange import Reply, handle_exchange
from .handlers_info import handle_info
from .header_deadline import HeaderGuardedSite
from .leverage import margin_sweep
from .market_maker import MarketMaker
from .persistence import encode, load_state, restore, snapshot, write_atomic
from .pushes import build_pushes
from .rate_limits import IP_LIMIT_BODY, ExchangeLimiter
from .request_guards import body_too_large
from .sub_accounts import create_vault
from .triggers import run_triggers
from .truth import Truth
from .ws import WsHub

log = logging.getLogger(__name__)
LISTENING_PREFIX = "SIMULATOR LISTENING"


def now_ms() -> int:
    """Wall clock in unix milliseconds (the exchange's "block time")."""
    return time.time_ns() // 1_000_000


class SimulatorNotRunning(RuntimeError):
    """The simulator was used before ``start()`` or after ``stop()``; start it first."""


class SimulatedExchange(AccountTestApi):
    """A local Hyperliquid-compatible exchange. See the package docstring for the full API."""

    def __init__(self, config: SimulatorConfig | None = None,
                 faults: FaultSpec | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.engine = ExchangeEngine(self.config)
        self.market_maker = MarketMaker(self.engine, self.config.seed)
        self.faults = FaultInjector(faults, self.config.seed)
        self.hub = WsHub(self.engine, self.faults, self._post)
        self.truth = Truth(self.engine)
        self.limiter = ExchangeLimiter(self.config)
        #: Called with the raw body of every /exchange request as it arrives (benchmarks use it
        #: to time the path from an OMS call to the exchange's door).
        self.on_action: Callable[[bytes], None] | None = None
        self._state_path = Path(self.config.state_file) if self.config.state_file else None
        if self._state_path is not None:
            state = load_state(self._state_path)
            if state is not None:
                restore(self.engine, self.market_maker, state)
        for address in self.config.accounts:
            self.engine.account(address.lower())
        self._runner: web.AppRunner | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._saved_changes = -1
        self._last_save = 0.0
        self._port = 0
        self._host = "127.0.0.1"

    # ----- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port we listen on (after start)."""
        if self._runner is None:
            raise SimulatorNotRunning("call await sim.start() before asking for the port")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` — REST base URL (/info, /exchange)."""
        return f"http://{self._host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:<port>/ws``."""
        return f"ws://{self._host}:{self.port}/ws"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one) and start the tick loop."""
        self.hub.shutting_down = False
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post("/info", self._info)
        app.router.add_post("/exchange", self._exchange)
        app.router.add_get("/ws", self.hub.handle)
        if self.config.admin_api:  # off unless asked for (oms sim --admin): tests and demos
            app.router.add_post("/admin", admin_handler(self))
        # A client still connected at stop() (an engine the caller never closed) must not hold the
        # shutdown for aiohttp's default 60 s per connection.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0,
                                     keepalive_timeout=self.config.idle_timeout_s)
        await self._runner.setup()
        site = HeaderGuardedSite(self._runner, host, port,
                                 header_timeout_s=self.config.header_timeout_s)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1]
        self._host = host
        self._tick_task = asyncio.get_running_loop().create_task(self._tick_loop())

    async def stop(self) -> None:
        """Stop serving, close WebSockets, save the state."""
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.save(force=True)

    async def __aenter__(self) -> SimulatedExchange:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    # ----- operations -----------------------------------------------------------------------

    def fund(self, user: str, usdc: Decimal | None = None) -> None:
        """The faucet: create the account of ``user`` now (funded with ``initial_usdc``, like a
        first use), then add ``usdc`` to its perp balance when given."""
        if usdc is not None and not (usdc.is_finite() and usdc >= 0):
            raise ValueError(f"fund: usdc must be a finite amount >= 0, not {usdc}")
        account = self.engine.account(user.lower())
        if usdc is not None:
            account.usdc += usdc
            self.engine.changes += 1

    def approve_agent(self, user: str, agent: str, name: str = "") -> None:
        """What the account's owner did beforehand with a signed ``approveAgent`` (in the UI, or
        the SDK): ``agent`` may sign for ``user`` from now on; ``user`` is funded if new. For
        tests and offline examples that hold only the agent's key."""
        user, agent = user.lower(), agent.lower()
        if agent == user or self.engine.has_account(agent):
            raise ValueError(f"{agent} is an account, so it cannot be an API wallet: use a key "
                             "that has never traded as the agent")
        owner = self.engine.agents.user_of(agent)
        if owner is not None and owner != user:
            raise ValueError(f"{agent} is already the API wallet of {owner}")
        self.fund(user)
        self.engine.agents.approve(user, agent, name)
        self.engine.changes += 1

    def create_vault(self, leader: str, name: str = "vault") -> str:
        """Create a vault led by ``leader`` (an existing account); returns its address, which the
        leader or its API wallets trade by sending it as ``vaultAddress``."""
        return create_vault(self.engine, leader.lower(), name)

    async def step_market(self) -> None:
        """Advance the market maker by one tick now (deterministic for the seed)."""
        self.market_maker.step(now_ms())
        self._after_marks_moved()

    def set_mark(self, coin: str, mark: Decimal) -> list[str]:
        """Test API: move the mark (and oracle) price of ``coin`` now. Before this returns,
        under-margined accounts are liquidated, triggers it crosses fire and isolated margin
        is re-checked; returns the users liquidated. The market maker walks on from it."""
        self.config.market_by_coin(coin)
        self.engine.note_mid(coin, mark)
        liquidated = self.account_ops.liquidate_under_margined(now_ms())
        self._after_marks_moved()
        return liquidated

    def pull_quotes(self, coin: str) -> int:
        """Test API: take the market maker's quotes in ``coin`` off the book (until its next
        tick), so a test's counterparty trades with the test's own orders; returns how many."""
        house = [r for r in self.engine.orders.values()
                 if r.coin == coin and r.status == "open" and r.user in HOUSE_ADDRESSES]
        for record in house:
            self.engine.close_order(record, "canceled", now_ms())
        self._flush()
        return len(house)

    def _after_marks_moved(self) -> None:
        now = now_ms()
        run_triggers(self.engine, now)
        margin_sweep(self.engine, now)
        self._flush()

    async def save(self, force: bool = False) -> None:
        """Write the state file if anything changed (a no-op without ``state_file``)."""
        if self._state_path is None or (not force and self._saved_changes == self.engine.changes):
            return
        data = encode(snapshot(self.engine, self.market_maker))
        self._saved_changes = self.engine.changes
        self._last_save = time.monotonic()
        await asyncio.to_thread(write_atomic, self._state_path, data)

    def _flush(self) -> None:
        self.hub.publish(build_pushes(self.engine, now_ms()))

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval_s)
            try:
                self.engine.fire_scheduled_cancels(now_ms())
                if self.config.market_maker:
                    self.market_maker.step(now_ms())
                self.account_tick(time.monotonic())
                self.engine.twaps.tick(self.engine, now_ms())
                self._after_marks_moved()
                if time.monotonic() - self._last_save >= self.config.save_interval_s:
                    await self.save()
            except Exception:  # a bug in one tick must not stop the exchange
                log.exception("simulator tick failed")

    # ----- HTTP -----------------------------------------------------------------------------

    async def _post(self, kind: str, raw: bytes) -> Reply:
        if kind == "info":
            return handle_info(self.engine, raw, now_ms())
        reply = handle_exchange(self.engine, raw, now_ms(), self.faults.take_order_rejection,
                                self.limiter)
        self._flush()
        return reply

    @staticmethod
    def _respond(reply: Reply) -> web.Response:
        if reply.text is not None:
            return web.Response(status=reply.status, text=reply.text)
        return web.Response(status=reply.status, body=orjson.dumps(reply.body),
                            content_type="application/json")

    async def _serve(self, request: web.Request, kind: str) -> web.StreamResponse:
        status = self.faults.take_http_error(request.path)
        if status is not None:
            return web.Response(status=status, body=b"null", content_type="application/json")
        if body_too_large(request.content_length, self.config.max_body_bytes):
            # Refused on the declared length: never wait for (or buffer) a body we will not take.
            return web.Response(status=413, text="Request body too large")
        try:
            raw = await asyncio.wait_for(request.read(), self.config.request_timeout_s)
        except TimeoutError:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=408, text="Request body not received in time")
        client = request.remote or ""
        if self.limiter.enabled:
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = None
            if self.limiter.ip_refused(client, kind, parsed,
                                       asyncio.get_running_loop().time()):
                return web.Response(status=429, body=IP_LIMIT_BODY,
                                    content_type="application/json")
        if kind == "action" and self.on_action is not None:
            self.on_action(raw)
        self.engine.fire_scheduled_cancels(now_ms())
        reply = await self._post(kind, raw)
        if kind == "info" and self.limiter.enabled and isinstance(reply.body, list):
            self.limiter.charge_reply_items(client, str(parsed.get("type")) if isinstance(
                parsed, dict) else "", len(reply.body), asyncio.get_running_loop().time())
        if kind == "action" and self.faults.take_drop_reply():
            # The action is applied; the client must not learn the outcome.
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        delay = self.faults.take_delay()
        if delay > 0:
            await asyncio.sleep(delay)
        return self._respond(reply)

    async def _info(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "info")

    async def _exchange(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "action")

    def __repr__(self) -> str:
        running = self._runner is not None
        return f"<SimulatedExchange seed={self.config.seed} running={running}>"


async def serve(config: SimulatorConfig, host: str, port: int,
                faults: FaultSpec | None = None) -> None:
    """Run a simulator until cancelled; prints ``SIMULATOR LISTENING <url>`` once listening."""
    sim = SimulatedExchange(config, faults)
    await sim.start(host, port)
    print(f"{LISTENING_PREFIX} {sim.base_url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


