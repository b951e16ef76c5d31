"""Checks before anything is journaled: is the exchange reachable, is the journal reachable?

``oms run`` (and ``oms run --check``) call :func:`preflight` after the config and the strategies
loaded, and before the journal is opened, so an unreachable exchange or database is one clear
line and exit code 2 with nothing written anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
from sqlalchemy.engine import make_url

from oms.service.config import ServiceConfig
from oms.service.config_schema import ConfigError


class PreflightError(ConfigError):
    """The exchange or the journal cannot be reached; the message says which and why."""


async def preflight(config: ServiceConfig, timeout_s: float = 5.0) -> None:
    """Raise :class:`PreflightError` unless both the exchange and the journal answer."""
    await _check_exchange(config.exchange.url, timeout_s)
    await check_journal(config.journal_url, timeout_s)


async def _check_exchange(url: str, timeout_s: float) -> None:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
            url.rstrip("/") + "/info", json={"type": "meta"}
        ) as response:
            if response.status != 200:
                raise PreflightError(f"[exchange] {url} answered HTTP {response.status} to "
                                     "/info meta; is this a Hyperliquid API URL?")
            await response.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise PreflightError(f"[exchange] {url} is unreachable ({type(exc).__name__}); start "
                             "the exchange (or `oms sim`) or fix [exchange] url") from None


async def check_journal(url: str, timeout_s: float) -> None:
    """Raise :class:`PreflightError` unless the journal's database (or folder) is reachable."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        folder = Path(parsed.database or ".").parent
        if not folder.is_dir():
            raise PreflightError(f"[journal] folder {folder} does not exist ({shown})")
        if not os.access(folder, os.W_OK):
            raise PreflightError(f"[journal] folder {folder} is not writable ({shown})")
        return
    import asyncpg

    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout_s)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise PreflightError(f"[journal] cannot connect to {shown} ({type(exc).__name__})"
                             ) from None
    await conn.close()
