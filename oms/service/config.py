"""The ``oms run`` configuration file (TOML): what it holds, its defaults, and its checks.

Every section and key is documented in the README (section "Running it as a service") and in
``examples/service.toml``. Loading checks everything that can be checked without the network:
unknown keys, types, choices, a missing secret, a password in a URL. Each mistake is one
:class:`ConfigError` naming the key. Secrets never live in the file: the private key comes from
the environment variable named by ``[exchange] private_key_env`` (default ``HL_PRIVATE_KEY``) or
from an encrypted keystore whose password is in ``[exchange] keystore_password_env``.

Example::

    config = load_config(Path("examples/service.toml"))
    print(config.exchange.url, [s.name for s in config.strategies])
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from oms.engine import EngineConfig, RiskLimits
from oms.service.config_schema import ConfigError, build


@dataclass(frozen=True, slots=True)
class ExchangeSection:
    """``[exchange]``: where to trade and with which key (from the environment or a keystore)."""

    url: str
    private_key_env: str = "HL_PRIVATE_KEY"
    keystore: str | None = None
    keystore_password_env: str = "OMS_KEYSTORE_PASSWORD"
    account: str | None = None
    mainnet: bool = False
    #: HIP-3 builder dexes to trade and reconcile (absent: every dex ``perpDexs`` lists).
    perp_dexs: list[str] | None = None


@dataclass(frozen=True, slots=True)
class JournalSection:
    """``[journal]``: the event store's URL, or the environment variable holding it."""

    url: str | None = None
    url_env: str | None = None


@dataclass(frozen=True, slots=True)
class RiskSection:
    """``[risk]``: the engine's pre-trade limits (amounts as decimal strings)."""

    max_order_notional: Decimal | None = None
    max_open_orders: int | None = None
    max_position_default: Decimal | None = None
    max_position: dict[str, Decimal] = field(default_factory=dict)
    max_orders_per_second: int | None = None
    kill_switch: bool = False


@dataclass(frozen=True, slots=True)
class EngineSection:
    """``[engine]``: engine settings; the dead-man switch is ON by default in ``oms run``."""

    expires_after_s: float = 5.0
    poll_interval_s: float = 5.0
    unknown_orders: Literal["adopt", "cancel"] = "adopt"
    dead_man_switch_s: float = 60.0
    dead_man_switch: bool = True
    snapshot_every: int = 50_000
    verify_on_start: Literal["chain", "since_snapshot"] = "chain"
    #: When the exchange's address budget is spent: hold new orders ("queue", shown by
    #: ``oms ctl status`` under ``send_queue``) or journal them as refused ("refuse").
    budget_policy: Literal["queue", "refuse"] = "queue"


@dataclass(frozen=True, slots=True)
class ServiceSection:
    """``[service]``: life cycle and operator control."""

    control_socket: str = "oms.sock"
    cancel_all_on_stop: bool = True
    on_strategy_error: Literal["cancel", "leave"] = "cancel"
    timer_interval_s: float = 1.0
    operator_stream: str = "operator"


@dataclass(frozen=True, slots=True)
class MetricsSection:
    """``[metrics]``: the Prometheus endpoint (``port = 0``: any free port, printed at start)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9464


@dataclass(frozen=True, slots=True)
class AlertsSection:
    """``[alerts]``: always logged; also POSTed as JSON to ``webhook_url`` when set."""

    webhook_url: str | None = None
    webhook_timeout_s: float = 5.0
    webhook_retries: int = 5
    stream_silence_s: float = 30.0
    check_interval_s: float = 1.0


@dataclass(frozen=True, slots=True)
class LoggingSection:
    """``[logging]``: ``json`` (one object per line, for log shippers) or ``human``."""

    format: Literal["json", "human"] = "human"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


@dataclass(frozen=True, slots=True)
class FeedSection:
    """``[feed]``: publish every journaled event to NATS JetStream and/or ZeroMQ."""

    nats_url: str | None = None
    nats_stream: str = "OMS"
    subject_prefix: str = "oms"
    zmq_endpoint: str | None = None
    in_service: bool = True


@dataclass(frozen=True, slots=True)
class StrategySection:
    """One ``[[strategies]]`` entry: a name, an import path (``pkg.mod:Class``) or an entry
    point name (``entry_point = "name"`` in group ``oms.strategies``), and its parameters."""

    name: str
    path: str | None = None
    entry_point: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


_TOP_LEVEL = {
    "exchange", "journal", "risk", "engine", "service", "metrics", "alerts", "logging",
    "feed", "strategies",
}


class PrivateKey:
    """A private key that never prints itself (repr and str are masked)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself: pass it to the signer, nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return "PrivateKey(***)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """The whole validated configuration of one ``oms run`` service."""

    path: Path
    exchange: ExchangeSection
    journal_url: str
    risk: RiskSection
    engine: EngineSection
    service: ServiceSection
    metrics: MetricsSection
    alerts: AlertsSection
    logging: LoggingSection
    feed: FeedSection
    strategies: tuple[StrategySection, ...]

    def risk_limits(self) -> RiskLimits:
        """The engine's :class:`RiskLimits` from ``[risk]``."""
        r = self.risk
        return RiskLimits(r.max_order_notional, r.max_open_orders, r.max_position_default,
                          dict(r.max_position), r.max_orders_per_second, r.kill_switch)

    def engine_config(self) -> EngineConfig:
        """The engine's :class:`EngineConfig` from ``[engine]``."""
        e = self.engine
        return EngineConfig(
            expires_after_s=e.expires_after_s,
            poll_interval_s=e.poll_interval_s,
            unknown_orders=e.unknown_orders,
            dead_man_switch_s=e.dead_man_switch_s if e.dead_man_switch else None,
            snapshot_every=e.snapshot_every,
            verify_on_start=e.verify_on_start,
            budget_policy=e.budget_policy,
        )

    def resolve(self, relative: str) -> Path:
        """A path from the file, relative to the file's folder unless absolute."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.path.parent / candidate

    def private_key(self) -> PrivateKey:
        """The trading key, from the environment or the keystore; ConfigError names the source
        (never the key) when it is missing or invalid."""
        ex = self.exchange
        if ex.keystore is not None:
            return _key_from_keystore(self.resolve(ex.keystore), ex.keystore_password_env)
        value = os.environ.get(ex.private_key_env, "").strip()
        if not value:
            raise ConfigError(
                f"[exchange] missing secret: set the environment variable {ex.private_key_env} "
                "(or [exchange] keystore); keys are never read from the config file"
            )
        _check_key(value, f"${ex.private_key_env}")
        return PrivateKey(value)


def load_config(path: Path) -> ServiceConfig:
    """Read and validate ``path``; raises :class:`ConfigError` with one line naming the problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - _TOP_LEVEL)
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}]; known: {', '.join(sorted(_TOP_LEVEL))}")
    if "exchange" not in raw:
        raise ConfigError("[exchange] is required (at least url = \"https://...\")")
    strategies_raw = raw.get("strategies", [])
    if not isinstance(strategies_raw, list):
        raise ConfigError("strategies must be written as [[strategies]] tables")
    strategies = tuple(
        _strategy(entry, i) for i, entry in enumerate(strategies_raw)
    )
    names = [s.name for s in strategies]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(f"[[strategies]] name {duplicate!r} is used twice; names must be unique")
    journal = build(JournalSection, raw.get("journal", {}), "journal")
    config = ServiceConfig(
        path=path.resolve(),
        exchange=build(ExchangeSection, raw["exchange"], "exchange"),
        journal_url="",
        risk=build(RiskSection, raw.get("risk", {}), "risk"),
        engine=build(EngineSection, raw.get("engine", {}), "engine"),
        service=build(ServiceSection, raw.get("service", {}), "service"),
        metrics=build(MetricsSection, raw.get("metrics", {}), "metrics"),
        alerts=build(AlertsSection, raw.get("alerts", {}), "alerts"),
        logging=build(LoggingSection, raw.get("logging", {}), "logging"),
        feed=build(FeedSection, raw.get("feed", {}), "feed"),
        strategies=strategies,
    )
    _check_values(config)
    return _with_journal(config, journal)


def _strategy(entry: Any, index: int) -> StrategySection:
    section = build(StrategySection, entry, f"strategies #{index + 1}")
    if (section.path is None) == (section.entry_point is None):
        raise ConfigError(
            f"[[strategies]] {section.name!r}: give exactly one of path = \"pkg.module:Class\" "
            "or entry_point = \"name\""
        )
    if section.path is not None and ":" not in section.path:
        raise ConfigError(
            f"[[strategies]] {section.name!r}: path {section.path!r} must look like "
            "\"package.module:ClassName\""
        )
    return section


def _check_values(config: ServiceConfig) -> None:
    url = config.exchange.url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"[exchange] url: expected http(s)://host[:port], got {url!r}")
    e = config.engine
    if e.dead_man_switch and e.dead_man_switch_s < 6:
        # Hyperliquid refuses a scheduleCancel time less than 5 s ahead when it arrives
        # ("Scheduled cancel time too early, must be at least 5 seconds from now."); the
        # engine asks for now + dead_man_switch_s, so leave a second for the trip.
        raise ConfigError("[engine] dead_man_switch_s must be at least 6 (the exchange refuses "
                          "a scheduled cancel less than 5 s ahead)")
    if e.expires_after_s <= 0 or e.poll_interval_s <= 0:
        raise ConfigError("[engine] expires_after_s and poll_interval_s must be positive")
    if not 0 <= config.metrics.port <= 65535:
        raise ConfigError(f"[metrics] port {config.metrics.port} is not a TCP port (0-65535)")
    if config.service.timer_interval_s <= 0:
        raise ConfigError("[service] timer_interval_s must be positive")
    hook = config.alerts.webhook_url
    if hook is not None and not hook.startswith(("http://", "https://")):
        raise ConfigError(f"[alerts] webhook_url: expected an http(s) URL, got {hook!r}")
    feed = config.feed
    if feed.nats_url is not None and not feed.nats_url.startswith(("nats://", "tls://")):
        raise ConfigError(f"[feed] nats_url: expected nats://host:port, got {feed.nats_url!r}")
    if feed.zmq_endpoint is not None and "://" not in feed.zmq_endpoint:
        raise ConfigError(f"[feed] zmq_endpoint: expected e.g. tcp://127.0.0.1:5557, "
                          f"got {feed.zmq_endpoint!r}")
    for token in (feed.subject_prefix, feed.nats_stream):
        if not token or any(c in token for c in ". *>"):
            raise ConfigError(f"[feed] {token!r}: no dots, spaces, '*' or '>' allowed")


def _with_journal(config: ServiceConfig, journal: JournalSection) -> ServiceConfig:
    if journal.url is not None and journal.url_env is not None:
        raise ConfigError("[journal] give url or url_env, not both")
    if journal.url_env is not None:
        url = os.environ.get(journal.url_env, "").strip()
        if not url:
            raise ConfigError(f"[journal] missing secret: set the environment variable "
                              f"{journal.url_env} to the journal's URL")
    else:
        url = journal.url or "sqlite+aiosqlite:///oms.db"
        try:
            if make_url(url).password:
                raise ConfigError("[journal] url contains a password: put the whole URL in an "
                                  "environment variable and name it with url_env")
        except ArgumentError:
            pass  # reported below, with the URL masked
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("[journal] url is not a database URL (e.g. sqlite+aiosqlite:///oms.db"
                          " or postgresql+asyncpg://user@host/db)") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"[journal] url: {backend} is not supported (sqlite or postgresql)")
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        db_path = Path(parsed.database)
        if not db_path.is_absolute():
            parsed = parsed.set(database=str(config.path.parent / db_path))
        if parsed.drivername == "sqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return ServiceConfig(
        config.path, config.exchange, parsed.render_as_string(hide_password=False), config.risk,
        config.engine, config.service, config.metrics, config.alerts, config.logging,
        config.feed, config.strategies,
    )


def _key_from_keystore(path: Path, password_env: str) -> PrivateKey:
    try:
        encrypted = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"[exchange] cannot read keystore {path}: {type(exc).__name__}") from None
    password = os.environ.get(password_env)
    if password is None:
        raise ConfigError(f"[exchange] missing secret: set {password_env} to the keystore's "
                          "password (a service cannot prompt)")
    try:
        key = "0x" + bytes(Account.decrypt(encrypted, password)).hex()
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"[exchange] cannot decrypt keystore {path}: wrong password or not "
                          "an eth-account keystore") from None
    return PrivateKey(key)


def _check_key(key: str, source: str) -> None:
    try:
        Account.from_key(key)
    except (ValueError, TypeError):
        # The message names where the key came from, never the key itself.
        raise ConfigError(f"[exchange] {source} is not a valid private key "
                          "(expected 0x + 64 hex)") from None
