"""``oms ctl``: operator commands to a running ``oms run`` over its control socket.

Each command is journaled by the service (who, when, what) before it takes effect. The socket is
``[service] control_socket`` of the config (``--config``), or given with ``--socket``.
Output is JSON (the service's reply); a service that is not running is one ``error:`` line.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from oms.cli.errors import CliError, UsageError
from oms.service import ConfigError, ControlRefused, ServiceNotRunning, load_config, send_command

ctl_app = typer.Typer(help="Control a running `oms run` service (each command is journaled).",
                      no_args_is_help=True)
strategy_app = typer.Typer(help="Strategy commands.", no_args_is_help=True)
ctl_app.add_typer(strategy_app, name="strategy")

_state: dict[str, Path] = {}


@ctl_app.callback()
def _ctl(
    config: Annotated[Path | None, typer.Option("--config", "-c",
                      help="The service's TOML config (its control_socket is used).")] = None,
    socket: Annotated[Path | None, typer.Option("--socket", help="The control socket path.")]
    = None,
) -> None:
    """Find the control socket from --socket or --config."""
    if socket is not None:
        _state["socket"] = socket
    elif config is not None:
        try:
            cfg = load_config(config)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        _state["socket"] = cfg.resolve(cfg.service.control_socket)
    else:
        raise UsageError("give --config CONFIG.toml or --socket PATH")


def _send(command: str, args: dict[str, Any] | None = None) -> None:
    try:
        result = asyncio.run(send_command(_state["socket"], command, args))
    except ServiceNotRunning as exc:
        raise CliError(str(exc)) from None
    except ControlRefused as exc:
        raise CliError(f"the service refused {command}: {exc}") from None
    print(json.dumps(result, indent=2, sort_keys=True))


@ctl_app.command()
def status() -> None:
    """Trading state, orders, positions, strategies, feeds."""
    _send("status")


@ctl_app.command()
def pause() -> None:
    """Stop strategies from placing orders (orders keep being managed)."""
    _send("pause")


@ctl_app.command()
def resume() -> None:
    """Let strategies place orders again."""
    _send("resume")


@ctl_app.command("cancel-all")
def cancel_all() -> None:
    """Cancel every active order of the account."""
    _send("cancel-all")


@ctl_app.command("kill-switch")
def kill_switch(
    state: Annotated[str, typer.Argument(help="on: refuse every new order; off: allow again.")],
) -> None:
    """Turn the kill switch on or off."""
    if state not in ("on", "off"):
        raise UsageError(f"kill-switch takes on or off, not {state!r}")
    _send("kill-switch", {"on": state == "on"})


@strategy_app.command("stop")
def strategy_stop(
    name: Annotated[str, typer.Argument(help="The strategy's name in the config.")],
    leave_orders: Annotated[bool, typer.Option("--leave-orders",
                            help="Leave its orders resting instead of canceling them.")] = False,
) -> None:
    """Stop one strategy (its on_stop runs; its orders are canceled unless --leave-orders)."""
    _send("strategy-stop", {"name": name, "cancel": not leave_orders})


parent_app = typer.Typer(help="Parent orders (TWAP, iceberg): list, pause, resume, cancel, amend.",
                         no_args_is_help=True)
ctl_app.add_typer(parent_app, name="parent")
ParentId = Annotated[str, typer.Argument(help="The parent's id (oms ctl parent list).")]


@parent_app.command("list")
def parent_list() -> None:
    """Every parent order the service knows: status, progress, working child."""
    _send("parents")


@parent_app.command("pause")
def parent_pause(parent_id: ParentId) -> None:
    """Pause a parent: its working child is canceled, nothing is released until resume."""
    _send("parent-pause", {"parent_id": parent_id})


@parent_app.command("resume")
def parent_resume(parent_id: ParentId) -> None:
    """Resume a paused parent (a TWAP catches up with its schedule)."""
    _send("parent-resume", {"parent_id": parent_id})


@parent_app.command("cancel")
def parent_cancel(parent_id: ParentId) -> None:
    """Cancel a parent: its working child is canceled, then the parent ends canceled."""
    _send("parent-cancel", {"parent_id": parent_id})


@parent_app.command("amend")
def parent_amend(
    parent_id: ParentId,
    amount: Annotated[str | None, typer.Option(help="New total amount (>= executed).")] = None,
    price: Annotated[str | None, typer.Option(help="New limit price.")] = None,
    duration: Annotated[float | None, typer.Option(
        help="TWAP: new duration in seconds from its start.")] = None,
    display: Annotated[str | None, typer.Option(help="Iceberg: new display size.")] = None,
) -> None:
    """Amend what is left of a parent; a working child that no longer fits is replaced."""
    args = {"parent_id": parent_id, "amount": amount, "price": price, "duration_s": duration,
            "display": display}
    if all(v is None for k, v in args.items() if k != "parent_id"):
        raise UsageError("give at least one of --amount, --price, --duration, --display")
    _send("parent-amend", {k: v for k, v in args.items() if v is not None})
