"""``oms run CONFIG.toml`` (the service) and ``oms feed CONFIG.toml`` (the feed relays alone).

Exit codes: 0 after a clean stop (SIGTERM/SIGINT), 2 for a bad config, a missing secret, an
unreachable exchange or journal or a strategy that cannot be imported (one ``error:`` line,
nothing journaled), 1 when start-up recovery fails. A second SIGTERM/SIGINT exits at once with
128 + the signal number: the journal stays consistent (every append is atomic and durable).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from oms.cli.errors import CliError, UsageError
from oms.engine import RecoveryFailed
from oms.service import ConfigError, Service, load_config
from oms.service.config import ServiceConfig
from oms.service.logs import SecretFilter, configure_logging

ConfigArg = Annotated[Path, typer.Argument(help="The service's TOML configuration file.")]


def _announce(line: str) -> None:
    print(line, flush=True)


def _load(path: Path, secret_filter: SecretFilter) -> ServiceConfig:
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    configure_logging(config.logging.format, config.logging.level, secret_filter)
    return config


def run(
    config: ConfigArg,
    check: Annotated[bool, typer.Option("--check", help="Validate the config, key, strategies "
                                        "and reachability; trade nothing.")] = False,
) -> None:
    """Run one engine with its strategies until SIGTERM/SIGINT (see README: the service)."""
    secret_filter = SecretFilter()
    service = Service(_load(config, secret_filter), secret_filter, _announce)
    try:
        if check:
            for line in asyncio.run(service.check()):
                _announce(line)
            return
        _run_with_signals(service.run(), service.request_stop)
    except ConfigError as exc:
        raise UsageError(secret_filter.mask(str(exc))) from None
    except RecoveryFailed as exc:
        raise CliError(secret_filter.mask(str(exc))) from None


def feed(config: ConfigArg) -> None:
    """Run the feed relays of the config's feed section alone (tailing the journal) until
    SIGTERM/SIGINT."""
    secret_filter = SecretFilter()
    cfg = _load(config, secret_filter)
    if not (cfg.feed.nats_url or cfg.feed.zmq_endpoint):
        raise UsageError("[feed] configures no relay: set nats_url and/or zmq_endpoint")
    stop = asyncio.Event()
    try:
        _run_with_signals(_feed(cfg, stop), stop.set)
    except ConfigError as exc:
        raise UsageError(secret_filter.mask(str(exc))) from None


async def _feed(cfg: ServiceConfig, stop: asyncio.Event) -> int:
    from eventstore import EventStore
    from oms.service.feeds import FeedRelays
    from oms.service.preflight import check_journal

    await check_journal(cfg.journal_url, 5.0)
    store = await EventStore.open(cfg.journal_url)
    try:
        account = cfg.exchange.account or _account_of(cfg)
        relays = FeedRelays(store, cfg.feed, account)
        relays.start()
        _announce(f"FEED RUNNING account={account}")
        waiter = asyncio.ensure_future(relays.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        await relays.close()
        waiter.cancel()
    finally:
        await store.close()
    _announce("FEED STOPPED")
    return 0


def _account_of(cfg: ServiceConfig) -> str:
    from eth_account import Account

    return str(Account.from_key(cfg.private_key().reveal()).address).lower()


def _run_with_signals(main: Coroutine[Any, Any, int], on_first: Any) -> None:
    async def runner() -> int:
        loop = asyncio.get_running_loop()
        seen: list[int] = []

        def on_signal(signum: int) -> None:
            if seen:
                # The second signal: leave now. Every append is atomic and durable, so the
                # journal is consistent; start-up recovery reconciles the rest.
                print(f"second signal {signum}: exiting at once", file=sys.stderr, flush=True)
                os._exit(128 + signum)
            seen.append(signum)
            on_first()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        return await main

    code = asyncio.run(runner())
    if code:
        raise typer.Exit(code)
