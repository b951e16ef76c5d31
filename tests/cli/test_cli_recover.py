"""``oms recover``: keys from HL_PRIVATE_KEY or an encrypted keystore, never echoed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import ROOT, oms, one_error_line
from eth_account import Account
from eth_account.signers.local import LocalAccount


@pytest.fixture(scope="module")
def exchange() -> Iterator[str]:
    """A local exchange served by ``oms sim`` on a free port."""
    proc = subprocess.Popen([sys.executable, "-m", "oms.cli", "sim", "--port", "0",
                             "--no-market-maker"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    try:
        yield line[-1]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)


def test_recover_with_a_key_from_the_environment(exchange: str, sqlite_url: str) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    result = oms("recover", "--exchange", exchange, "--url", sqlite_url,
                 env={"HL_PRIVATE_KEY": key})
    assert result.returncode == 0, result.stderr
    assert "events_replayed" in result.stdout
    assert Account.from_key(key).address.lower() in result.stdout
    assert key[2:] not in result.stdout + result.stderr


def test_recover_with_an_encrypted_keystore(exchange: str, sqlite_url: str,
                                            tmp_path: Path) -> None:
    account = Account.create()
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, "s3cret", iterations=2)))
    env = {"OMS_KEYSTORE_PASSWORD": "s3cret", "HL_PRIVATE_KEY": ""}
    ok = oms("recover", "--exchange", exchange, "--keystore", str(keystore), "--url",
             sqlite_url, env=env)
    assert ok.returncode == 0, ok.stderr
    assert account.address.lower() in ok.stdout
    env["OMS_KEYSTORE_PASSWORD"] = "wrong"
    bad = oms("recover", "--exchange", exchange, "--keystore", str(keystore), "--url",
              sqlite_url, env=env)
    assert bad.returncode == 1
    assert "wrong password" in one_error_line(bad)


def test_recover_without_a_key_is_a_usage_error(exchange: str, sqlite_url: str) -> None:
    env = {"HL_PRIVATE_KEY": ""}
    result = oms("recover", "--exchange", exchange, "--url", sqlite_url, env=env)
    assert result.returncode == 2
    assert "HL_PRIVATE_KEY" in one_error_line(result)
    junk = oms("recover", "--exchange", exchange, "--url", sqlite_url,
               env={"HL_PRIVATE_KEY": "0x1234-not-a-key"})
    assert junk.returncode == 2
    line = one_error_line(junk)
    assert "not a valid private key" in line and "1234" not in line


def test_recover_never_prints_a_password_of_the_exchange_url(
    exchange: str, sqlite_url: str
) -> None:
    """Issue 13 item 15: ``http://user:password@host`` is shown as ``user:***@host``."""
    key = "0x" + bytes(Account.create().key).hex()
    with_password = exchange.replace("://", "://trader:hunter2@", 1)
    ok = oms("recover", "--exchange", with_password, "--url", sqlite_url,
             env={"HL_PRIVATE_KEY": key})
    assert ok.returncode == 0, ok.stderr
    assert "hunter2" not in ok.stdout + ok.stderr
    assert "trader:***@" in ok.stdout
    down = oms("recover", "--exchange", "http://trader:hunter2@127.0.0.1:9", "--url",
               sqlite_url, env={"HL_PRIVATE_KEY": key}, timeout=60)
    assert down.returncode == 1
    assert "hunter2" not in down.stdout + down.stderr


def test_a_keystore_without_password_or_terminal_fails_in_one_line(
    exchange: str, sqlite_url: str, tmp_path: Path
) -> None:
    """Issue 13 item 16: no getpass warnings and prompt first, one line naming the variable."""
    account = Account.create()
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, "s3cret", iterations=2)))
    result = oms("recover", "--exchange", exchange, "--keystore", str(keystore), "--url",
                 sqlite_url, env={"HL_PRIVATE_KEY": ""})  # stdin is not a terminal here
    assert result.returncode == 2
    assert "set OMS_KEYSTORE_PASSWORD" in one_error_line(result)
    assert result.stdout == ""


def _approve_agent(exchange: str, master: LocalAccount, agent: str) -> None:
    import urllib.request

    from hyperliquid.utils.signing import get_timestamp_ms, sign_agent

    # The master must exist on the exchange before it may approve an agent.
    info = urllib.request.Request(f"{exchange}/info", data=json.dumps(
        {"type": "clearinghouseState", "user": master.address}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(info, timeout=10):
        pass
    nonce = get_timestamp_ms()
    action = {"type": "approveAgent", "agentAddress": agent, "agentName": "", "nonce": nonce}
    signature = sign_agent(master, action, False)
    body = {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None,
            "expiresAfter": None}
    request = urllib.request.Request(f"{exchange}/exchange", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert json.loads(reply.read())["status"] == "ok"


def test_recover_with_an_api_wallet_needs_the_account(exchange: str, sqlite_url: str) -> None:
    master, agent = Account.create(), Account.create()
    _approve_agent(exchange, master, agent.address)
    key = "0x" + bytes(agent.key).hex()
    alone = oms("recover", "--exchange", exchange, "--url", sqlite_url,
                env={"HL_PRIVATE_KEY": key, "HL_ACCOUNT_ADDRESS": ""})
    assert alone.returncode == 1
    line = one_error_line(alone)
    assert "API wallet" in line and "--account" in line and master.address.lower() in line
    for env in ({"HL_PRIVATE_KEY": key, "HL_ACCOUNT_ADDRESS": master.address},
                {"HL_PRIVATE_KEY": key}):
        args = ["recover", "--exchange", exchange, "--url", sqlite_url]
        if "HL_ACCOUNT_ADDRESS" not in env:
            args += ["--account", master.address]
        result = oms(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert f"account {master.address.lower()} recovered" in result.stdout
        assert key[2:] not in result.stdout + result.stderr
    bad = oms("recover", "--exchange", exchange, "--url", sqlite_url, "--account", "0xnope",
              env={"HL_PRIVATE_KEY": key})
    assert bad.returncode == 2 and "--account" in one_error_line(bad)
