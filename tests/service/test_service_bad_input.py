"""Bad input to ``oms run`` / ``oms ctl``: one clear line, exit code 2 (1 for ctl), nothing
journaled (no journal file is even created)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from service_helpers import ROOT, start_sim, write_config

KEY = {"HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}


def _oms(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full = {k: v for k, v in os.environ.items() if k != "HL_PRIVATE_KEY"}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "oms.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=60)


def _error(result: subprocess.CompletedProcess[str], code: int) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sim_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    sim, url = start_sim(tmp_path_factory.mktemp("sim"))
    yield url
    sim.kill()


@pytest.mark.parametrize(("extra", "strategies", "env", "expected"), [
    ("max_open_orderz = 5", "", KEY, "[risk] unknown key 'max_open_orderz'"),
    ("max_open_orders = \"ten\"", "", KEY,
     "[risk] max_open_orders: expected an integer, got the string 'ten'"),
    ("max_position = { ETH = 1.5 }", "", KEY,
     "[risk] max_position.ETH: expected a decimal as a string"),
    ("[frobnicate]\nx = 1", "", KEY, "unknown section [frobnicate]"),
    ("", "", {}, "missing secret: set the environment variable HL_PRIVATE_KEY"),
    ("", "", {"HL_PRIVATE_KEY": "0x1234"}, "$HL_PRIVATE_KEY is not a valid private key"),
    ("", "[[strategies]]\nname = \"x\"\npath = \"no_such_pkg.mod:Thing\"", KEY,
     "strategy 'x': cannot import 'no_such_pkg.mod'"),
    ("", "[[strategies]]\nname = \"x\"\npath = \"oms.strategies.market_maker:Nope\"", KEY,
     "has no class 'Nope'"),
    ("", "[[strategies]]\nname = \"x\"\npath = \"oms.strategies.market_maker:MarketMaker\"\n"
         "[strategies.params]\nsise = \"1\"", KEY, "bad params for MarketMaker"),
    ("timer_interval_s = 0", "", KEY, "timer_interval_s must be positive"),
])
def test_bad_config_is_one_line_exit_2_nothing_journaled(
    tmp_path: Path, sim_url: str, extra: str, strategies: str, env: dict[str, str],
    expected: str,
) -> None:
    config = write_config(tmp_path / "bad.toml", sim_url, strategies=strategies, engine="")
    text = config.read_text()
    if extra.startswith("max_"):  # a bad line in [risk] instead of a good one
        text = text.replace("max_open_orders = 20", extra)
    elif extra.startswith("timer_"):
        text = text.replace("timer_interval_s = 0.5", extra)
    else:
        text += "\n" + extra
    config.write_text(text)
    for args in (["run", str(config)], ["run", "--check", str(config)]):
        line = _error(_oms(*args, env=env), 2)
        assert expected in line, line
    assert not (tmp_path / "journal.db").exists()
    if "HL_PRIVATE_KEY" in env:
        assert env["HL_PRIVATE_KEY"] not in line


def test_unreachable_exchange_and_journal(tmp_path: Path, sim_url: str) -> None:
    dead = f"http://127.0.0.1:{_free_port()}"
    config = write_config(tmp_path / "a.toml", dead)
    assert "is unreachable" in _error(_oms("run", str(config), env=KEY), 2)
    assert not (tmp_path / "journal.db").exists()

    text = write_config(tmp_path / "b.toml", sim_url).read_text().replace(
        "sqlite+aiosqlite:///journal.db", "sqlite+aiosqlite:///no/such/folder/j.db")
    (tmp_path / "b.toml").write_text(text)
    assert "does not exist" in _error(_oms("run", str(tmp_path / "b.toml"), env=KEY), 2)

    pg = text.replace("sqlite+aiosqlite:///no/such/folder/j.db",
                      f"postgresql+asyncpg://nobody@127.0.0.1:{_free_port()}/x")
    (tmp_path / "c.toml").write_text(pg)
    assert "[journal] cannot connect" in _error(_oms("run", str(tmp_path / "c.toml"), env=KEY), 2)

    secret = text.replace("sqlite+aiosqlite:///no/such/folder/j.db",
                          "postgresql+asyncpg://u:hunter2@127.0.0.1/x")
    (tmp_path / "d.toml").write_text(secret)
    line = _error(_oms("run", str(tmp_path / "d.toml"), env=KEY), 2)
    assert "contains a password" in line and "hunter2" not in line


def test_check_passes_and_journals_nothing(tmp_path: Path, sim_url: str) -> None:
    config = write_config(tmp_path / "ok.toml", sim_url, strategies="""
[[strategies]]
name = "mm"
path = "oms.strategies.market_maker:MarketMaker"
""")
    result = _oms("run", "--check", str(config), env=KEY)
    assert result.returncode == 0, result.stderr
    assert "strategies: mm" in result.stdout
    assert not (tmp_path / "journal.db").exists()


def test_missing_config_and_ctl_without_service(tmp_path: Path, sim_url: str) -> None:
    assert "does not exist" in _error(_oms("run", str(tmp_path / "nope.toml")), 2)
    config = write_config(tmp_path / "svc.toml", sim_url)
    line = _error(_oms("ctl", "--config", str(config), "status"), 1)
    assert "no service is running on" in line
    assert "kill-switch takes on or off" in _error(
        _oms("ctl", "--config", str(config), "kill-switch", "maybe"), 2)
    assert "give --config" in _error(_oms("ctl", "status"), 2)


def test_dead_man_switch_horizon_below_the_exchange_minimum(tmp_path: Path, sim_url: str) -> None:
    config = write_config(tmp_path / "bad.toml", sim_url, engine="dead_man_switch_s = 2")
    assert "dead_man_switch_s must be at least 6" in _error(_oms("run", str(config), env=KEY), 2)
