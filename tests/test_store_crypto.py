"""Sealing (AES-GCM), key wrapping and blind indexes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacyops.store import DecryptionError, KeyRing, new_key, open_sealed, seal, seal_many


@given(plaintext=st.binary(max_size=4096), aad=st.binary(max_size=64))
def test_seal_round_trips(plaintext: bytes, aad: bytes) -> None:
    key = new_key()
    sealed = seal(key, plaintext, aad)
    assert len(plaintext) < 16 or plaintext not in sealed
    assert open_sealed(key, sealed, aad) == plaintext


def test_wrong_key_owner_or_tampering_does_not_decrypt() -> None:
    key = new_key()
    sealed = seal(key, b"ada@example.com", b"record:a")
    with pytest.raises(DecryptionError):
        open_sealed(new_key(), sealed, b"record:a")
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed, b"record:b")
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    with pytest.raises(DecryptionError):
        open_sealed(key, bytes(flipped), b"record:a")
    with pytest.raises(DecryptionError):
        open_sealed(key, b"garbage", b"record:a")


def test_same_value_seals_differently_each_time() -> None:
    key = new_key()
    assert seal(key, b"x", b"") != seal(key, b"x", b"")


@given(data_key=st.binary(min_size=32, max_size=32), public_id=st.text(min_size=1, max_size=32))
def test_wrapped_key_unwraps_only_for_its_subject(data_key: bytes, public_id: str) -> None:
    ring = KeyRing(b"m" * 32)
    wrapped = ring.wrap(public_id, data_key)
    assert ring.unwrap(public_id, wrapped) == data_key
    with pytest.raises(DecryptionError):
        ring.unwrap(public_id + "x", wrapped)
    with pytest.raises(DecryptionError):
        KeyRing(b"n" * 32).unwrap(public_id, wrapped)


def test_blind_index_is_keyed_and_kind_separated() -> None:
    ring, other = KeyRing(b"m" * 32), KeyRing(b"n" * 32)
    index = ring.blind_index("email", "ada@example.com")
    assert len(index) == 32
    assert index == ring.blind_index("email", "ada@example.com")
    assert index != other.blind_index("email", "ada@example.com")
    assert index != ring.blind_index("skype", "ada@example.com")
    assert b"ada" not in index


@given(items=st.lists(st.tuples(st.binary(max_size=256), st.binary(max_size=32)), max_size=20))
def test_seal_many_is_seal_for_each_value(items: list[tuple[bytes, bytes]]) -> None:
    key = new_key()
    sealed = seal_many(key, items)
    assert len(sealed) == len(items)
    assert [open_sealed(key, s, aad) for s, (_, aad) in zip(sealed, items, strict=True)] == [
        p for p, _ in items
    ]
    assert [len(s) for s in sealed] == [len(seal(key, p, aad)) for p, aad in items]
    assert len({s[1:13] for s in sealed}) == len(sealed)  # a fresh nonce for every value


def test_wrap_many_unwraps_like_wrap_and_only_for_its_subject() -> None:
    ring = KeyRing(b"m" * 32)
    keys = {f"{i:032x}": new_key() for i in range(50)}
    wrapped = ring.wrap_many(keys)
    assert list(wrapped) == list(keys)
    assert {p: ring.unwrap(p, w) for p, w in wrapped.items()} == keys
    assert all(len(w) == len(ring.wrap(p, keys[p])) for p, w in wrapped.items())
    with pytest.raises(DecryptionError):
        ring.unwrap(f"{1:032x}", wrapped[f"{0:032x}"])
    with pytest.raises(DecryptionError):
        KeyRing(b"n" * 32).unwrap(f"{0:032x}", wrapped[f"{0:032x}"])
    assert ring.wrap_many({}) == {}
