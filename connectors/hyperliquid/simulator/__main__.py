"""``python -m connectors.hyperliquid.simulator --port 0 --seed 7 --state-file sim.json``

Prints ``SIMULATOR LISTENING http://127.0.0.1:<port>`` once it accepts connections, then serves
until interrupted (SIGINT/SIGTERM save the state file before exiting).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from decimal import Decimal, InvalidOperation

from .config import SimulatorConfig, SimulatorConfigError
from .faults import FaultSpecError, parse_faults
from .server import serve


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of the standalone simulator."""
    parser = argparse.ArgumentParser(prog="python -m connectors.hyperliquid.simulator",
                                     description="Local Hyperliquid-compatible exchange.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--state-file", default=None, help="JSON file to load from / save to")
    parser.add_argument("--no-market-maker", action="store_true")
    parser.add_argument("--tick", type=float, default=0.2, help="market maker tick, seconds")
    parser.add_argument("--initial-usdc", default="1000000")
    parser.add_argument("--ws-idle-timeout", type=float, default=60.0)
    parser.add_argument("--mainnet", action="store_true",
                        help="expect mainnet signatures (source 'a'); default testnet")
    parser.add_argument("--limits", choices=("real", "off"), default="real",
                        help="enforce the exchange's rate limits (default) or not")
    parser.add_argument("--real-accounts", action="store_true",
                        help="accounts exist only once funded (no funding on first use)")
    parser.add_argument("--faults", default="",
                        help='e.g. "drop_ws=0.05,delay=0.2,error_rate=0.01"')
    return parser


async def _run(config: SimulatorConfig, host: str, port: int, faults: str) -> None:
    task = asyncio.ensure_future(serve(config, host, port, parse_faults(faults) if faults
                                       else None))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        config = SimulatorConfig(
            seed=args.seed, market_maker=not args.no_market_maker, tick_interval_s=args.tick,
            state_file=args.state_file, initial_usdc=Decimal(args.initial_usdc),
            ws_idle_timeout_s=args.ws_idle_timeout, is_mainnet=args.mainnet,
            auto_fund=not args.real_accounts, limits=args.limits)
    except (InvalidOperation, SimulatorConfigError) as exc:
        print(f"error: {exc or 'not a number'}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(config, args.host, args.port, args.faults))
    except FaultSpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
