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
from connectors.hyperliquid.simulator.config import SimulatorConfigError
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
    exchange: Annotated[
        str, typer.Option(help="Which exchange to serve: hyperliquid or dydx.")
    ] = "hyperliquid",
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
    real_accounts: Annotated[bool, typer.Option(
        "--real-accounts",
        help="Live account rule: an account exists only once funded (no funding on first use).",
    )] = False,
    max_auto_accounts: Annotated[int, typer.Option(
        min=0, help="Accounts created on first use at most (then only configured ones).")] = 10_000,
    max_ws_per_client: Annotated[int, typer.Option(
        min=1, help="WebSocket connections one client address may hold.")] = 10,
    limits: Annotated[str, typer.Option(
        help="'real': the exchange's IP weight, address budget and open-order cap; 'off': none.",
    )] = "real",
    address_buffer: Annotated[int, typer.Option(
        min=0, help="With --limits real: requests every address may send before it has traded "
        "(live: 10,000; a small value shows the send queue at once).")] = 10_000,
    request_timeout: Annotated[float, typer.Option(
        help="Seconds a client may take to send a request body before it is cut off.")] = 10.0,
    tick: Annotated[
        float, typer.Option(min=0.01, max=3600.0, help="Seconds between market-maker ticks.")
    ] = 0.2,
    admin: Annotated[
        bool,
        typer.Option("--admin", help="Serve POST /admin on loopback: change faults and mark"
                     " prices at run time (see connectors/hyperliquid/simulator/admin.py)."),
    ] = False,
    twap_speedup: Annotated[float, typer.Option(
        min=0.001, help="Native TWAP: divide the 30 s between suborders by this (tests).")] = 1.0,
    grpc_port: Annotated[
        int, typer.Option(min=0, max=65535, help="dYdX: the node's gRPC port (0: a free one).")
    ] = 9090,
) -> None:
    """Serve the local exchange until Ctrl-C.

    Hyperliquid: REST /info /exchange and WebSocket /ws on --port. dYdX: the Indexer (REST /v4,
    WebSocket /v4/ws) on --port and the node's gRPC on --grpc-port; accounts are funded on
    first use.
    """
    if exchange == "dydx":
        from oms.cli.sim_dydx import serve_dydx

        serve_dydx(host, port, grpc_port, seed, faults, no_market_maker, initial_usdc, admin,
                   state_file)
        return
    if exchange != "hyperliquid":
        raise UsageError(f"--exchange {exchange!r}: expected hyperliquid or dydx")
    try:
        if faults:
            parse_faults(faults)  # a bad spec is a usage error, before anything listens
        usdc = Decimal(initial_usdc)
    except FaultSpecError as exc:
        raise UsageError(f"--faults: {exc}") from None
    except InvalidOperation:
        raise UsageError(f"--initial-usdc {initial_usdc!r} is not a number") from None
    if not (usdc.is_finite() and usdc >= 0):
        raise UsageError(f"--initial-usdc must be a finite amount >= 0, not {initial_usdc!r}")
    try:
        config = SimulatorConfig(
            seed=seed, market_maker=not no_market_maker, state_file=state_file,
            initial_usdc=usdc, auto_fund=not real_accounts, max_auto_accounts=max_auto_accounts,
            max_ws_per_client=max_ws_per_client, request_timeout_s=request_timeout,
            limits=limits, tick_interval_s=tick, admin_api=admin, twap_speedup=twap_speedup,
            address_buffer=address_buffer)
    except SimulatorConfigError as exc:
        raise UsageError(str(exc)) from None
    err.print("local exchange: Ctrl-C to stop" + (f" (state saved to {state_file})"
                                                  if state_file else ""), style="dim")
    asyncio.run(_serve_until_signal(config, host, port, faults))
