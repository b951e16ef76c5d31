"""The same commands against a real PostgreSQL (skipped unless OMS_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import json

from cli_helpers import oms


def test_demo_and_audit_on_postgres(postgres_url: str) -> None:
    assert oms("db", "upgrade", "--url", postgres_url).returncode == 0
    assert oms("db", "current", "--url", postgres_url).stdout.strip().endswith("(head)")
    demo = oms("demo", "--orders", "8", "--url", postgres_url, timeout=150)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert demo.stdout.count("equal the exchange's truth") == 2
    verified = oms("audit", "verify", "--url", postgres_url)
    assert verified.returncode == 0, verified.stderr
    exported = oms("audit", "export", "--url", postgres_url).stdout.splitlines()
    head = int(oms("audit", "head", "--url", postgres_url).stdout.split(":")[0])
    assert [json.loads(x)["position"] for x in exported] == list(range(1, head + 1))
    assert oms("replay", "--url", postgres_url).returncode == 0
    checked = oms("replay", "--check", "--url", postgres_url)
    assert checked.returncode == 0, checked.stderr
