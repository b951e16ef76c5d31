"""Prometheus metrics of a running service (``prometheus-client``, one registry per service).

Two sources, so the engine's hot path is never touched:

- the **journal** (:meth:`ServiceMetrics.observe`, fed by the service's tail of the event store):
  fills, rejects by reason, anomalies, operator commands, the append latency (decision time in
  the event → commit time of its row) and commit batch sizes (rows sharing one commit
  timestamp), and ``buy()``→acknowledgement latency. These counters start at the journal
  position where the service started.
- the engine's **public state**, read at each scrape (:class:`_EngineCollector`): orders in
  memory by state, unknown outcomes pending and the age of the oldest, positions and PnL per
  pair, recovery duration and corrections (start-up, and runtime by kind), WebSocket
  reconnects and REST counters (429s,
  unknown outcomes) from the connector's own stats, the exchange's rate-limit budget left.
"""

from __future__ import annotations

import re
import time
from collections import Counter as CollectionsCounter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from eventstore import RecordedEvent

if TYPE_CHECKING:
    from oms.engine import OrderManager

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_DIGITS = re.compile(r"[0-9][0-9.]*")


def reason_label(reason: str) -> str:
    """A bounded label for a reject reason: numbers become ``N``, at most 80 characters."""
    text = _DIGITS.sub("N", reason.split(" asset=")[0]).strip()
    return text[:80] or "unspecified"


class ServiceMetrics:
    """Every metric of one service, in its own registry (``generate_latest(self.registry)``)."""

    def __init__(self) -> None:
        # The ``*_created`` series would only double every counter.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        r = self.registry
        self.fills = Counter("oms_fills", "Fills journaled", ["pair"], registry=r)
        self.rejects = Counter("oms_rejects", "Orders rejected, by source and reason",
                               ["source", "reason"], registry=r)
        self.anomalies = Counter("oms_anomalies", "Anomalies journaled, by kind", ["kind"],
                                 registry=r)
        self.operator = Counter("oms_operator_commands", "Operator commands journaled",
                                ["command"], registry=r)
        self.events = Counter("oms_journal_events", "Events journaled, by type", ["type"],
                              registry=r)
        self.append_latency = Histogram(
            "oms_journal_append_latency_seconds",
            "From the decision time in an order event to the commit time of its row",
            buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("oms_journal_batch_events", "Events per journal commit",
                                    buckets=_BATCH_BUCKETS, registry=r)
        self.ack_latency = Histogram(
            "oms_order_ack_latency_seconds",
            "From buy()/sell() to the exchange's acknowledgement being decided",
            buckets=_LATENCY_BUCKETS, registry=r)
        self.journal_position = 0
        self.start_position = 0
        """The first journal position the journal-fed counters include."""
        self._oms: OrderManager | None = None
        self.recovered_position = 0
        """The journal's head once start-up recovery was done: later account corrections are
        runtime ones."""
        self.account_corrections: CollectionsCounter[str] = CollectionsCounter()
        """Runtime ``AccountCorrected`` events, by ``account_<field kind>``."""
        self._pair: dict[str, str] = {}
        self._created_ns: dict[str, int] = {}
        self._batch_at = -1
        self._batch_count = 0

    def attach(self, oms: OrderManager, extra: Callable[[], dict[str, float]]) -> None:
        """Collect the engine's public state (and ``extra()`` gauges) at every scrape."""
        self._oms = oms
        self.registry.register(_EngineCollector(oms, self, extra))

    def runtime_corrections(self) -> dict[str, int]:
        """Corrections journaled while running, by kind: the engine's gap fills (by order event
        type, ``OrderManager.runtime_corrections``) and the account's (``account_<field>``)."""
        kinds = dict(self._oms.runtime_corrections) if self._oms is not None else {}
        kinds.update(self.account_corrections)
        return kinds

    def observe(self, recorded: RecordedEvent) -> None:
        """Account for one journaled event (called in journal order)."""
        self.journal_position = recorded.position
        type_ = recorded.type
        data = recorded.data
        self.events.labels(type_).inc()
        self._observe_batch(recorded.recorded_at_us)
        decided_ns = data.get("at_ns") or data.get("created_at_ns") or data.get("sent_at_ns")
        if isinstance(decided_ns, int) and recorded.stream_id.startswith("order-"):
            self.append_latency.observe(max(recorded.recorded_at_us * 1000 - decided_ns, 0) / 1e9)
        cid = str(data.get("client_order_id", ""))
        if type_ == "OrderCreated":
            self._pair[cid] = str(data.get("pair", "?"))
            self._created_ns[cid] = int(data.get("created_at_ns", 0))
        elif type_ == "OrderAccepted":
            created = self._created_ns.pop(cid, None)
            if created and isinstance(data.get("at_ns"), int):
                self.ack_latency.observe(max(data["at_ns"] - created, 0) / 1e9)
        elif type_ == "OrderFilled":
            self.fills.labels(self._pair.get(cid, "?")).inc()
        elif type_ == "OrderRejected":
            self.rejects.labels(str(data.get("source", "?")),
                                reason_label(str(data.get("reason", "")))).inc()
        elif type_ == "OrderAnomaly":
            self.anomalies.labels(str(data.get("kind", "?"))).inc()
        elif type_ == "OperatorCommand":
            self.operator.labels(str(data.get("command", "?"))).inc()
        elif type_ == "AccountCorrected" and recorded.position > self.recovered_position:
            field = str(data.get("field", "?")).split(":")[0]
            self.account_corrections[f"account_{field}"] += 1
        if len(self._created_ns) > 100_000:  # never acknowledged: forget the oldest half
            for key in list(self._created_ns)[:50_000]:
                del self._created_ns[key]

    def _observe_batch(self, at_us: int) -> None:
        # One group commit stamps all its rows with one time: a run of equal stamps is a batch.
        if at_us == self._batch_at:
            self._batch_count += 1
            return
        if self._batch_count:
            self.batch_size.observe(self._batch_count)
        self._batch_at, self._batch_count = at_us, 1


class _EngineCollector(Collector):
    """Reads the engine's public state at scrape time."""

    def __init__(self, oms: OrderManager, metrics: ServiceMetrics,
                 extra: Callable[[], dict[str, float]]) -> None:
        self._oms = oms
        self._metrics = metrics
        self._extra = extra

    def collect(self) -> Iterator[Any]:
        oms = self._oms
        states = GaugeMetricFamily("oms_orders", "Orders held in memory (active and recently "
                                   "completed), by state", labels=["state"])
        counts: dict[str, int] = {}
        unknown_ages: list[float] = []
        now_ns = time.time_ns()
        for order in oms.orders.values():
            counts[order.state.value] = counts.get(order.state.value, 0) + 1
            if order.unknown and not order.state.is_terminal:
                unknown_ages.append((now_ns - order.created_at_ns) / 1e9)
        for state, count in sorted(counts.items()):
            states.add_metric([state], count)
        yield states
        yield GaugeMetricFamily("oms_active_orders", "Non-terminal orders", value=oms.active_count)
        yield GaugeMetricFamily("oms_unknown_outcomes", "Active orders whose outcome is unknown",
                                value=len(unknown_ages))
        yield GaugeMetricFamily("oms_unknown_oldest_age_seconds",
                                "Age of the oldest order with an unknown outcome (0 if none)",
                                value=max(unknown_ages, default=0.0))
        yield from self._positions()
        report = oms.recovery_report
        if report is not None:
            yield GaugeMetricFamily("oms_recovery_seconds", "Duration of the last start-up "
                                    "recovery", value=report.total_seconds)
            yield CounterMetricFamily("oms_reconciliation_corrections", "Events appended by "
                                      "start-up reconciliation", value=report.corrections)
        yield self._runtime_corrections()
        yield GaugeMetricFamily("oms_trading", "1 when the engine is open for trading",
                                value=1 if oms.is_trading else 0)
        yield GaugeMetricFamily("oms_journal_position", "Last journal position the service saw",
                                value=self._metrics.journal_position)
        yield GaugeMetricFamily("oms_metrics_start_position", "First journal position the "
                                "journal-fed counters include", value=self._metrics.start_position)
        yield from self._connector()
        for name, value in self._extra().items():
            yield GaugeMetricFamily(name, name.replace("_", " "), value=value)

    def _runtime_corrections(self) -> CounterMetricFamily:
        """Corrections journaled while running (gap fills after reconnects and silent streams,
        the periodic account reconcile), by kind: the order event type, or ``account_<field>``."""
        family = CounterMetricFamily(
            "oms_reconciliation_runtime_corrections", "Events journaled by reconciliation "
            "while running (what the streams missed), by kind", labels=["kind"])
        for kind, count in sorted(self._metrics.runtime_corrections().items()):
            family.add_metric([kind], count)
        return family

    def _positions(self) -> Iterator[Any]:
        size = GaugeMetricFamily("oms_position", "Net position per pair", labels=["pair"])
        pnl = GaugeMetricFamily("oms_realized_pnl", "Realized PnL per pair", labels=["pair"])
        fees = GaugeMetricFamily("oms_fees", "Fees paid per pair and asset",
                                 labels=["pair", "asset"])
        for pair, position in self._oms.positions.as_dict().items():
            size.add_metric([pair], float(position.net_size))
            pnl.add_metric([pair], float(position.realized_pnl))
            for asset, fee in position.fees.items():
                fees.add_metric([pair, asset], float(Decimal(fee)))
        yield size
        yield pnl
        yield fees

    def _connector(self) -> Iterator[Any]:
        connector: Any = self._oms.connector
        ws = getattr(getattr(connector, "ws", None), "stats", None)
        if ws is not None:
            yield CounterMetricFamily("oms_ws_reconnects", "WebSocket reconnects",
                                      value=ws.reconnects)
        rest = getattr(getattr(connector, "rest", None), "stats", None)
        if rest is not None:
            yield CounterMetricFamily("oms_rest_requests", "REST requests sent",
                                      value=rest.requests)
            yield CounterMetricFamily("oms_rest_429", "REST requests answered HTTP 429",
                                      value=rest.retries_429)
            yield CounterMetricFamily("oms_rest_unknown_outcomes", "REST actions whose outcome "
                                      "was unknown (timeouts, resets, 5xx)", value=rest.unknown)
