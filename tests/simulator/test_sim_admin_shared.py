"""The admin request handling both local exchanges share: who may call, which keys pass."""

from __future__ import annotations

import pytest

from connectors.simulator_admin import AdminError, is_loopback, require_keys


@pytest.mark.parametrize(("remote", "allowed"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("10.0.0.1", False), ("192.168.1.5", False), ("::ffff:8.8.8.8", False),
    (None, False), ("", False), ("localhost", False),  # not an address: refused, not raised
])  # fmt: skip
def test_only_loopback_peers_may_call(remote: str | None, allowed: bool) -> None:
    assert is_loopback(remote) is allowed


def test_require_keys_passes_a_known_object_and_names_what_is_wrong() -> None:
    body = {"lag": 0.5}
    assert require_keys(body, ("lag", "fund")) is body
    for bad in ([], {}, "lag", None):
        with pytest.raises(AdminError, match="send a JSON object with any of: lag, fund"):
            require_keys(bad, ("lag", "fund"))
    with pytest.raises(AdminError, match=r"unknown key\(s\) \['warp', 'zap'\]; known: lag"):
        require_keys({"lag": 1, "zap": 2, "warp": 3}, ("lag",))
