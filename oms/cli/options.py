"""Options shared by several commands, and the consoles every command prints through."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

T = TypeVar("T")

MAX_POSITION = 2**63 - 1
"""The largest log position (a signed 64-bit column): larger numbers are usage errors."""

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database URL (default: $OMS_DATABASE_URL, else sqlite+aiosqlite:///oms.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# Results go to stdout; progress and diagnostics to stderr, so output can be piped. Piped or
# redirected output gets wide lines (a log file has no edge); a terminal gets its own width.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one command's coroutine to completion."""
    return asyncio.run(coro)
