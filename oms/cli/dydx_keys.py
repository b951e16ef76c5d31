"""Where a dYdX command gets its signing key: ``DYDX_MNEMONIC`` or an encrypted keystore.

Never from the command line (shell history, ``ps``), never printed: errors name the source of the
key and the number of words, never a word. The keystore is an eth-account JSON keystore holding
the 32-byte secp256k1 key the mnemonic derives (``m/44'/118'/0'/0/0``; the same curve as
Ethereum's, so the same encrypted format serves), with its password from
``OMS_KEYSTORE_PASSWORD`` or a prompt — see ``oms.cli.keys``.

Make one once, from a shell that does not keep history::

    DYDX_MNEMONIC="…" python -c "import json, os; from eth_account import Account; \\
      from connectors.dydx.signing import DydxKey; \\
      k = DydxKey.from_mnemonic(os.environ['DYDX_MNEMONIC']); \\
      print(json.dumps(Account.encrypt(k.secret_bytes(), input('password: '))))" > dydx-key.json
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors.dydx.errors import InvalidMnemonic
from connectors.dydx.signing import DydxKey
from oms.cli.errors import UsageError
from oms.cli.keys import load_private_key

MNEMONIC_ENV = "DYDX_MNEMONIC"


def load_dydx_key(keystore: Path | None) -> DydxKey:
    """The signing key from ``keystore`` (eth-account format) or ``$DYDX_MNEMONIC``."""
    if keystore is not None:
        return DydxKey(bytes.fromhex(load_private_key(keystore).removeprefix("0x")))
    words = os.environ.get(MNEMONIC_ENV, "").strip()
    if not words:
        raise UsageError(f"no dYdX key: set {MNEMONIC_ENV} or pass --keystore FILE "
                         "(keys are never taken from the command line)")
    try:
        return DydxKey.from_mnemonic(words)
    except InvalidMnemonic as exc:
        # The message counts the words and names the variable; it never repeats a word.
        raise UsageError(f"${MNEMONIC_ENV}: {exc}") from None
