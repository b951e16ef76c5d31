"""Who signs and for which account, for the examples: ``HL_PRIVATE_KEY`` (or a fresh key) and
``--account`` / ``HL_ACCOUNT_ADDRESS`` (an API wallet's key trades for its master account).

On the offline local exchange an agent key must have been approved by its account first, as the
account's owner does once on the real exchange: :meth:`ExampleSigner.register` does that with
the simulator's test API. Against a real exchange nothing is registered: approve the API wallet
in the exchange's UI (or with the SDK's ``approve_agent``) and pass the master's address.

Example::

    signer = example_signer(__doc__)            # parses --account, reads the environment
    signer.register(exchange)                   # offline: the account approves the agent
    connector = signer.connector(exchange.base_url)
    print(signer.describe())                    # "account 0x… (signed by API wallet 0x…)"
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from typing import Any

from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange

KEY_ENV = "HL_PRIVATE_KEY"
ACCOUNT_ENV = "HL_ACCOUNT_ADDRESS"
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class BadAccount(ValueError):
    """``--account`` / ``HL_ACCOUNT_ADDRESS`` is not an address; the message says the form."""


@dataclass(frozen=True)
class ExampleSigner:
    """A signing key and the account it trades (None: the key's own account)."""

    key: str
    account: str | None

    def __repr__(self) -> str:  # never the key
        return f"ExampleSigner(signer={self.signer}, account={self.account})"

    @property
    def signer(self) -> str:
        """The key's own address (lower case)."""
        return str(Account.from_key(self.key).address).lower()

    @property
    def is_agent(self) -> bool:
        """Whether the key signs for another account (an API wallet)."""
        return self.account is not None and self.account != self.signer

    def register(self, exchange: SimulatedExchange) -> None:
        """On the local exchange: the account approves the API wallet (nothing for own keys)."""
        if self.is_agent:
            assert self.account is not None
            exchange.approve_agent(self.account, self.signer)

    def connector(self, url: str, **options: Any) -> HyperliquidConnector:
        """A connector that signs with the key and trades, queries and streams the account."""
        return HyperliquidConnector(url, private_key=self.key, account_address=self.account,
                                    **options)

    def describe(self) -> str:
        """One line for the example's output: the account, and the agent when there is one."""
        if self.is_agent:
            return f"account {self.account} (signed by API wallet {self.signer})"
        return f"account {self.signer} (its own key)"

    def env(self) -> dict[str, str]:
        """Environment for a child process of the example (the same key and account)."""
        return {KEY_ENV: self.key, **({ACCOUNT_ENV: self.account} if self.account else {})}


def parse_account(value: str | None) -> str | None:
    """The lower-case address, or None when empty; :class:`BadAccount` when malformed."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _ADDRESS.match(value):
        raise BadAccount(f"--account / ${ACCOUNT_ENV} must be 0x followed by 40 hex digits, "
                         f"not {value[:50]!r}")
    return value.lower()


def example_signer(description: str | None, argv: list[str] | None = None) -> ExampleSigner:
    """Parse ``--account`` (default ``$HL_ACCOUNT_ADDRESS``); the key is ``$HL_PRIVATE_KEY`` or,
    offline, a fresh one. An unknown argument or a malformed address exits with usage (2)."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--account", default=os.environ.get(ACCOUNT_ENV),
                        help="the account to trade when HL_PRIVATE_KEY is an API wallet's key "
                             f"(default: ${ACCOUNT_ENV}, else the key's own account)")
    args = parser.parse_args(argv)
    try:
        account = parse_account(args.account)
    except BadAccount as exc:
        parser.error(str(exc))
    key = os.environ.get(KEY_ENV) or "0x" + bytes(Account.create().key).hex()
    return ExampleSigner(key, account)
