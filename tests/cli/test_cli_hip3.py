"""``oms recover --perp-dex``: the HIP-3 dexes to reconcile; a dex that does not exist is named
with the ones the exchange lists."""

from __future__ import annotations

from cli_helpers import oms, one_error_line
from eth_account import Account
from test_cli_recover import exchange  # noqa: F401 (the module's `oms sim` fixture)


def test_recover_names_a_missing_dex_and_accepts_a_listed_one(
    exchange: str, sqlite_url: str,  # noqa: F811
) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    bad = oms("recover", "--exchange", exchange, "--url", sqlite_url, "--perp-dex", "abc",
              env={"HL_PRIVATE_KEY": key})
    assert bad.returncode == 1, bad.stdout + bad.stderr
    line = one_error_line(bad)
    assert "'abc' does not exist" in line and "'xyz'" in line, line
    assert key[2:] not in bad.stdout + bad.stderr
    ok = oms("recover", "--exchange", exchange, "--url", sqlite_url, "--perp-dex", "xyz",
             env={"HL_PRIVATE_KEY": key})
    assert ok.returncode == 0, ok.stderr
    assert "events_replayed" in ok.stdout
