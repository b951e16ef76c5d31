"""``oms run``: one engine for one account, its strategies, operator control, metrics, alerts and
the event feed — the composition root of the service.

Life cycle: load and check everything that needs no journal (config, key, strategies, exchange
and journal reachable) → open the engine (the normal start-up recovery) → serve metrics, the
control socket and the feed → start the strategies → print ``OMS READY`` → run until
:meth:`Service.request_stop` (SIGTERM/SIGINT) → stop strategies → cancel all orders (if
``[service] cancel_all_on_stop``) → close the engine (journal flushed, snapshot written) → exit 0.

Example::

    service = Service(load_config(Path("service.toml")), SecretFilter())
    code = await service.run()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from connectors.hyperliquid import HyperliquidConnector
from oms.algos import AlgoRunner
from oms.engine import OrderManager, RecoveryFailed
from oms.service.alerts import Alerter
from oms.service.config import ServiceConfig
from oms.service.control import ControlServer
from oms.service.feeds import FeedRelays
from oms.service.http import MetricsServer
from oms.service.loading import load_strategy
from oms.service.logs import SecretFilter
from oms.service.metrics import ServiceMetrics
from oms.service.operator import COMMANDS, OperatorLog, Peer
from oms.service.ownership import OwnershipLog, ownership_stream
from oms.service.parent_controls import check_parent_command, run_parent_command
from oms.service.preflight import preflight
from oms.service.runner import StrategyRunner
from oms.service.watch import HealthWatch, tail_journal

log = logging.getLogger("oms.service")


class Service:
    """A running ``oms run`` service (see the module docstring)."""

    def __init__(self, config: ServiceConfig, secret_filter: SecretFilter,
                 announce: Callable[[str], None] = print) -> None:
        self.config = config
        self._secrets = secret_filter
        self._announce = announce
        self.stopping = asyncio.Event()
        self.paused = False
        self.kill_switch = config.risk.kill_switch
        self.metrics = ServiceMetrics()
        self.oms: OrderManager | None = None
        self.runner: StrategyRunner | None = None
        self.algos: AlgoRunner | None = None  # parent orders (TWAP, iceberg), resumed at start
        self.alerter: Alerter | None = None
        self.feeds: FeedRelays | None = None
        self._http: MetricsServer | None = None
        self._control: ControlServer | None = None
        self._operator: OperatorLog | None = None
        self._health: HealthWatch | None = None
        self._owners: OwnershipLog | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = time.monotonic()

    def request_stop(self) -> None:
        """Begin a clean stop (the first SIGTERM/SIGINT)."""
        self.stopping.set()

    async def check(self) -> list[str]:
        """``oms run --check``: everything short of opening the journal; the lines to print."""
        cfg = self.config
        self._secrets.add(cfg.private_key().reveal())
        names = [s.name for s in cfg.strategies if load_strategy(s, cfg.path.parent)]
        await preflight(cfg)
        return [f"config {cfg.path}: ok", f"exchange {cfg.exchange.url}: reachable",
                "journal: reachable", f"strategies: {', '.join(names) or 'none'}"]

    async def run(self) -> int:
        """Start, serve until asked to stop, stop cleanly; the exit code."""
        cfg = self.config
        key = cfg.private_key()
        self._secrets.add(key.reveal())
        strategies = [(s.name, load_strategy(s, cfg.path.parent)) for s in cfg.strategies]
        await preflight(cfg)
        connector = HyperliquidConnector(cfg.exchange.url, private_key=key.reveal(),
                                         account_address=cfg.exchange.account,
                                         is_mainnet=cfg.exchange.mainnet,
                                         perp_dexs=cfg.exchange.perp_dexs)
        self.alerter = Alerter(cfg.alerts.webhook_url, service=cfg.path.stem,
                               account=connector.account, timeout_s=cfg.alerts.webhook_timeout_s,
                               retries=cfg.alerts.webhook_retries)
        await self.alerter.start()
        try:
            self.oms = await OrderManager.open(cfg.journal_url, connector,
                                               risk=cfg.risk_limits(), config=cfg.engine_config())
        except RecoveryFailed as exc:
            self.alerter.alert("recovery_failed", str(exc), step=exc.step)
            await self.alerter.close()
            raise
        try:
            await self._serve(strategies)
        finally:
            await self._shutdown()
        return 0

    async def _serve(self, strategies: list[tuple[str, Any]]) -> None:
        cfg, oms, alerter = self.config, self.oms, self.alerter
        assert oms is not None and alerter is not None
        report = oms.recovery_report
        assert report is not None
        loop = asyncio.get_running_loop()
        self.metrics.start_position = report.journal_position + 1
        self.metrics.recovered_position = (await oms.store.head())[0]
        self._tasks.append(loop.create_task(tail_journal(
            oms.store, self.metrics.start_position, self.metrics, alerter)))
        if report.corrections:
            alerter.alert("reconciliation", f"start-up reconciliation journaled "
                          f"{report.corrections} corrections", **report.as_dict())
        self._health = HealthWatch(oms, alerter, silence_s=cfg.alerts.stream_silence_s,
                                   interval_s=cfg.alerts.check_interval_s, stopping=self.stopping,
                                   corrections=self.metrics.runtime_corrections)
        self._tasks.append(loop.create_task(self._health.run()))
        self.metrics.attach(oms, self._extra_gauges)
        if cfg.metrics.enabled:
            self._http = MetricsServer(self.metrics.registry, self._not_ready,
                                       cfg.metrics.host, cfg.metrics.port)
            await self._http.start()
            self._announce(f"METRICS {self._http.url}/metrics")
        self._operator = OperatorLog(oms.store, f"{cfg.service.operator_stream}-"
                                                f"{oms.connector.account}")
        self._control = ControlServer(cfg.resolve(cfg.service.control_socket), self._handle)
        await self._control.start()
        self._announce(f"CONTROL {self._control.path}")
        if cfg.feed.in_service and (cfg.feed.nats_url or cfg.feed.zmq_endpoint):
            self.feeds = FeedRelays(oms.store, cfg.feed, oms.connector.account)
            self.feeds.start()
        # Strategy order ownership: journaled as orders are placed, given back after a restart.
        self._owners = OwnershipLog(oms.store, ownership_stream(oms.connector.account),
                                    lambda detail: alerter.alert("ownership", detail))
        owners = await self._owners.load(set(oms.active_orders))
        await self._owners.checkpoint(owners)
        self.runner = StrategyRunner(oms, self._strategy_failed, cfg.service.on_strategy_error,
                                     cfg.service.timer_interval_s, self._blocked,
                                     on_own=self._owners.record)
        for name, strategy in strategies:
            self.runner.add(name, strategy)
        self.algos = await AlgoRunner.start(oms)  # resumes every unfinished parent first
        for slot in self.runner.slots.values():
            slot.ctx.algos = self.algos
        self.runner.adopt(owners)
        await self.runner.start()
        self._announce(f"OMS READY account={oms.connector.account} "
                       f"position={report.journal_position} recovery_s={report.total_seconds:.3f}")
        await self.stopping.wait()

    async def _shutdown(self) -> None:
        log.info("stopping")
        oms = self.oms
        if self.runner is not None:
            await self.runner.stop_all("service stopping")
        if self.algos is not None:  # parents stay journaled as they are: resumed next start
            await self.algos.close()
        if oms is not None and self.config.service.cancel_all_on_stop and oms.is_trading:
            count = await oms.cancel_all()
            deadline = time.monotonic() + self.config.engine.expires_after_s + 5
            while oms.active_count and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the engine offers no "all terminal" event
            log.info("cancel-all on stop: %d cancels, %d orders still active",
                     count, oms.active_count)
        if self._owners is not None:
            await self._owners.flush()
        if oms is not None:
            await oms.flush()
            await self._drain_feeds(oms)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.feeds is not None:
            await self.feeds.close()
        if self._control is not None:
            await self._control.close()
        if oms is not None:
            await oms.close()
        if self._http is not None:
            await self._http.close()
        if self.alerter is not None:
            await self.alerter.close()
        self._announce("OMS STOPPED")

    async def _drain_feeds(self, oms: OrderManager) -> None:
        """Give the relays a moment to publish the last events before they are stopped."""
        if self.feeds is None:
            return
        head, _ = await oms.store.head()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and any(  # noqa: ASYNC110 - relays have no event
                r.position < head for r in self.feeds.relays):
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ operator commands

    async def _handle(self, command: str, args: dict[str, Any], peer: Peer) -> Any:
        """Validate, journal (who, when, what), then act; the reply for ``oms ctl``."""
        oms, runner, operator = self.oms, self.runner, self._operator
        assert oms is not None and runner is not None and operator is not None
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; choose from {', '.join(COMMANDS)}")
        if command == "kill-switch" and not isinstance(args.get("on"), bool):
            raise ValueError("kill-switch needs args {\"on\": true|false}")
        if command == "strategy-stop" and args.get("name") not in runner.slots:
            raise ValueError(f"no strategy named {args.get('name')!r}; running: "
                             f"{', '.join(runner.slots) or 'none'}")
        if command.startswith("parent"):
            if self.algos is None:
                raise RuntimeError("starting: parent orders are not resumed yet; retry shortly")
            check_parent_command(self.algos, command, args)
        position = await operator.record(command, args, peer)
        log.info("operator %s (uid %d): %s %s (journal position %d)",
                 peer.user, peer.uid, command, args, position)
        result: dict[str, Any] = {"journal_position": position}
        if command == "status":
            result.update(self.status())
        elif command in ("pause", "resume"):
            self.paused = runner.paused = command == "pause"
            result["paused"] = self.paused
        elif command == "cancel-all":
            result["cancels_requested"] = await oms.cancel_all()
        elif command == "kill-switch":
            self.kill_switch = bool(args["on"])
            oms.set_kill_switch(self.kill_switch)
            result["kill_switch"] = self.kill_switch
            if self.kill_switch and self.alerter is not None:
                self.alerter.alert("kill_switch", f"kill switch turned on by {peer.user}",
                                   user=peer.user, journal_position=position)
        elif command == "strategy-stop":
            cancel = args.get("cancel", runner.error_policy == "cancel") is True
            result["cancels_requested"] = await runner.stop(
                str(args["name"]), f"stopped by {peer.user}", cancel_orders=cancel)
        elif command.startswith("parent") and self.algos is not None:
            result.update(await run_parent_command(self.algos, command, args))
        return result

    def status(self) -> dict[str, Any]:
        """What ``oms ctl status`` shows."""
        oms, runner = self.oms, self.runner
        assert oms is not None and runner is not None
        positions = {pair: {"net_size": str(p.net_size), "realized_pnl": str(p.realized_pnl)}
                     for pair, p in oms.positions.as_dict().items()}
        states: dict[str, int] = {}
        for order in oms.active_orders.values():
            states[order.state.value] = states.get(order.state.value, 0) + 1
        report = oms.recovery_report
        return {
            "account": oms.connector.account,
            "trading": oms.is_trading,
            "paused": self.paused,
            "kill_switch": self.kill_switch,
            "active_orders": oms.active_count,
            "active_by_state": states,
            "active_order_ids": sorted(oms.active_orders)[:200],
            "positions": positions,
            "strategies": runner.status(),
            "parents_active": sum(1 for p in (self.algos.parents() if self.algos else {}).values()
                                  if p.status in ("working", "paused", "completing")),
            "journal_seen_position": self.metrics.journal_position,
            "recovery_s": round(report.total_seconds, 3) if report else None,
            "uptime_s": round(time.monotonic() - self._started, 1),
            "metrics_url": f"{self._http.url}/metrics" if self._http else None,
            "feeds": self.feeds.status() if self.feeds else {},
            "alerts": dict(self.alerter.counts) if self.alerter else {},
            # Orders held back by the exchange's address budget: count, oldest, why.
            "send_queue": oms.send_queue.as_dict(),
        }

    # ------------------------------------------------------------------ helpers

    def _strategy_failed(self, name: str, detail: str) -> None:
        if self.alerter is not None:
            self.alerter.alert("strategy_failed", f"strategy {name} stopped: {detail}",
                               strategy=name)

    def _blocked(self) -> str | None:
        # Strategies see the kill switch before the risk gate does: no flood of refusals.
        return "the kill switch is on (oms ctl kill-switch off)" if self.kill_switch else None

    def _not_ready(self) -> str | None:
        if self.oms is None or self.runner is None:
            return "starting (recovery not complete)"
        if self.stopping.is_set():
            return "stopping"
        if not self.oms.is_trading:
            return "the engine is not trading"
        return None

    def _extra_gauges(self) -> dict[str, float]:
        gauges = {
            "oms_paused": 1.0 if self.paused else 0.0,
            "oms_kill_switch": 1.0 if self.kill_switch else 0.0,
            "oms_uptime_seconds": time.monotonic() - self._started,
        }
        if self._health is not None and self._health.budget_left is not None:
            gauges["oms_rate_limit_budget_left"] = self._health.budget_left
        if self.alerter is not None:
            gauges["oms_alerts_raised"] = float(sum(self.alerter.counts.values()))
        if self.runner is not None:
            gauges["oms_strategies_running"] = float(
                sum(1 for s in self.runner.slots.values() if s.state == "running"))
        return gauges
