"""The EIP-191 seal key: signs, recovers, refuses bad input, and never shows the key."""

from __future__ import annotations

import pytest

from eventstore import SealForged, check_seal, make_seal
from oms.engine import EngineConfig
from oms.engine.seal_keys import Eip191SealKey, Eip191SealVerifier

SECRET = "0x" + "9d" * 32



def test_a_seal_verifies_only_for_its_signer_and_unchanged() -> None:
    key, other = Eip191SealKey(SECRET), Eip191SealKey("0x" + "9e" * 32)
    seal = make_seal(key, position=7, head_hash="ab" * 32, snapshot=b"{}",
                     schema_revision="0003_seals", sealed_at_us=5)
    check_seal(seal, Eip191SealVerifier(), key.address)
    with pytest.raises(SealForged, match="not the trusted signer"):
        check_seal(seal, Eip191SealVerifier(), other.address)
    from dataclasses import replace

    with pytest.raises(SealForged, match="position 8"):
        check_seal(replace(seal, position=8), Eip191SealVerifier(), key.address)
    with pytest.raises(SealForged, match="malformed"):
        check_seal(replace(seal, signature="0x1234"), Eip191SealVerifier(), key.address)


def test_bad_input_is_refused_before_signing() -> None:
    key = Eip191SealKey(SECRET)
    with pytest.raises(ValueError, match="position >= 1"):
        make_seal(key, position=0, head_hash="ab" * 32, snapshot=b"", schema_revision="x",
                  sealed_at_us=1)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        make_seal(key, position=1, head_hash="AB", snapshot=b"", schema_revision="x",
                  sealed_at_us=1)
    with pytest.raises(ValueError, match="not a valid private key") as bad:
        Eip191SealKey("0x1234zz")
    assert "1234zz" not in str(bad.value)


def test_the_key_never_appears_in_a_repr() -> None:
    key = Eip191SealKey(SECRET)
    shown = repr(EngineConfig(seal_key=key, verify_on_start="since_seal"))
    assert key.address in shown
    assert SECRET[2:] not in shown and SECRET[2:10] not in shown
