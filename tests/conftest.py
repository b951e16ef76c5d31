"""Shared fixtures: real SQLite files and, when OMS_TEST_POSTGRES_URL is set, a real PostgreSQL.

Every PostgreSQL test gets a database of its own (created and dropped here), so tests and
concurrent runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "OMS_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = (
    f"PostgreSQL tests skipped: set {POSTGRES_ENV}"
    " (e.g. postgresql+asyncpg://root@127.0.0.1:5432/test) to run them"
)


def postgres_base_url() -> str | None:
    """The PostgreSQL URL of the test server, or None when PostgreSQL tests are off."""
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a fresh SQLite file in the test's temporary folder."""
    return f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"


async def _admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of a brand-new PostgreSQL database, dropped after the test."""
    base = postgres_base_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"oms_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Parametrises a test over both backends: a fresh SQLite file, then a fresh PostgreSQL db."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    else:
        yield request.getfixturevalue("postgres_url")
