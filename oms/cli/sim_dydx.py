"""``oms sim --exchange dydx``: serve the local dYdX v4 exchange until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from decimal import Decimal, InvalidOperation
from pathlib import Path

from oms.cli.errors import CliError, UsageError
from oms.cli.options import err


def _dydx_faults(spec: str) -> dict[str, float]:
    """``lag=0.5,drop_best_effort=0.1`` → settings (the dYdX exchange's two faults)."""
    known = {"lag", "drop_best_effort"}
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, raw = part.partition("=")
        if name not in known:
            raise UsageError(f"--faults: unknown dYdX fault {name!r}; known: {sorted(known)}")
        try:
            values[name] = float(raw)
        except ValueError:
            raise UsageError(f"--faults: {name} needs a number, got {raw!r}") from None
        if values[name] < 0 or (name == "drop_best_effort" and values[name] > 1):
            raise UsageError(f"--faults: {name}={raw} is out of range")
    return values


def serve_dydx(host: str, port: int, grpc_port: int, seed: int, faults: str,
               no_market_maker: bool, initial_usdc: str, admin: bool = False,
               state_file: Path | None = None) -> None:
    """Serve the local dYdX exchange (Indexer on ``port``, node on ``grpc_port``)."""
    from connectors.dydx.simulator import DydxSimConfig, serve

    try:
        usdc = Decimal(initial_usdc)
    except InvalidOperation:
        raise UsageError(f"--initial-usdc {initial_usdc!r} is not a number") from None
    spec = _dydx_faults(faults)
    config = DydxSimConfig(seed=seed, market_maker=not no_market_maker, initial_usdc=usdc,
                           indexer_lag_s=spec.get("lag", 0.0),
                           drop_best_effort=spec.get("drop_best_effort", 0.0), admin_api=admin)
    err.print("local dYdX exchange: Ctrl-C to stop", style="dim")

    async def main() -> None:
        task = asyncio.ensure_future(serve(config, host, port, grpc_port, state_file))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    from connectors.dydx.simulator.state import StateFileError

    try:
        asyncio.run(main())
    except StateFileError as exc:
        raise CliError(str(exc)) from None
