"""``oms sim``: serve the local Hyperliquid-compatible exchange until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from connectors.hyperliquid.simulator import FaultSpecError, SimulatorConfig, parse_faults, serve
from oms.cli.errors import UsageError
from oms.cli.options import err


async def _serve_until_signal(config: SimulatorConfig, host: str, port: int,
                              faults: str) -> None:
    spec = parse_faults(faults) if faults else None
    task = asyncio.ensure_future(serve(config, host, port, spec))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def sim(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="0 picks a free port.")] = 8080,
    seed: Annotated[int, typer.Option(help="Seed of the background market.")] = 7,
    state_file: Annotated[
        Path | None, typer.Option(help="JSON file to load the exchange from and save it to.")
    ] = None,
    faults: Annotated[
        str, typer.Option(help='Injected faults, e.g. "drop_ws=0.05,delay=0.2,error_rate=0.01".')
    ] = "",
    no_market_maker: Annotated[
        bool, typer.Option("--no-market-maker", help="No background market (a still book).")
    ] = False,
    initial_usdc: Annotated[str, typer.Option(help="USDC each new account starts with.")] = (
        "1000000"
    ),
    tick: Annotated[
        float, typer.Option(min=0.01, max=3600.0, help="Seconds between market-maker ticks.")
    ] = 0.2,
    admin: Annotated[
        bool,
        typer.Option("--admin", help="Serve POST /admin on loopback: change faults and mark"
                     " prices at run time (see connectors/hyperliquid/simulator/admin.py)."),
    ] = False,
) -> None:
    """Serve the local exchange (REST /info /exchange, WebSocket /ws) until Ctrl-C."""
    try:
        if faults:
            parse_faults(faults)  # a bad spec is a usage error, before anything listens
        usdc = Decimal(initial_usdc)
    except FaultSpecError as exc:
        raise UsageError(f"--faults: {exc}") from None
    except InvalidOperation:
        raise UsageError(f"--initial-usdc {initial_usdc!r} is not a number") from None
    config = SimulatorConfig(seed=seed, market_maker=not no_market_maker, state_file=state_file,
                             initial_usdc=usdc, tick_interval_s=tick, admin_api=admin)
    err.print("local exchange: Ctrl-C to stop" + (f" (state saved to {state_file})"
                                                  if state_file else ""), style="dim")
    asyncio.run(_serve_until_signal(config, host, port, faults))
