"""``--account`` / ``HL_ACCOUNT_ADDRESS``: the account a command trades or queries, separate from
the signing key, so an API (agent) wallet's key can be used: the agent signs, every query and
stream uses the account (an agent has no orders, fills or positions of its own).
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from oms.cli.errors import UsageError

ACCOUNT_ENV = "HL_ACCOUNT_ADDRESS"
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

AccountOption = Annotated[
    str | None,
    typer.Option("--account", envvar=ACCOUNT_ENV, show_envvar=True,
                 help="Account address to trade and query when the key is an API wallet "
                      "(default: the key's own address)."),
]


def check_account(account: str | None) -> str | None:
    """The lower-case account address, or None; a usage error naming the fix when malformed."""
    if account is None or not account.strip():
        return None
    account = account.strip()
    if not _ADDRESS.match(account):
        raise UsageError(f"--account / ${ACCOUNT_ENV} must be 0x followed by 40 hex digits, "
                         f"not {account[:50]!r}")
    return account.lower()
