"""Where a trading command gets its private key: ``HL_PRIVATE_KEY`` or an encrypted keystore.

Never from the command line (it would land in shell history and ``ps``), never printed: errors
name the source of the key, not the key.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

from eth_account import Account

from oms.cli.errors import CliError, UsageError

KEY_ENV = "HL_PRIVATE_KEY"
PASSWORD_ENV = "OMS_KEYSTORE_PASSWORD"


def load_private_key(keystore: Path | None) -> str:
    """The hex private key from ``keystore`` (an eth-account JSON keystore) or ``HL_PRIVATE_KEY``.

    The keystore password comes from ``OMS_KEYSTORE_PASSWORD``, else an interactive prompt.
    """
    if keystore is None:
        key = os.environ.get(KEY_ENV, "").strip()
        if not key:
            raise UsageError(f"no private key: set {KEY_ENV} or pass --keystore FILE "
                             "(keys are never taken from the command line)")
        _check(key, f"${KEY_ENV}")
        return key
    try:
        encrypted = json.loads(keystore.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read keystore {keystore}: {type(exc).__name__}") from None
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            # getpass would print warnings and a prompt nobody can answer, then fail
            raise UsageError(f"keystore {keystore} needs its password: set {PASSWORD_ENV} "
                             "(there is no terminal to ask on)")
        password = getpass.getpass(f"password for {keystore}: ")
    try:
        key = "0x" + bytes(Account.decrypt(encrypted, password)).hex()
    except (ValueError, KeyError, TypeError):
        raise CliError(f"cannot decrypt keystore {keystore}: wrong password or not an "
                       "eth-account keystore") from None
    return key


def _check(key: str, source: str) -> None:
    try:
        Account.from_key(key)
    except (ValueError, TypeError):
        # The message names where the key came from, never the key itself.
        raise UsageError(f"{source} is not a valid private key (expected 0x + 64 hex)") from None
