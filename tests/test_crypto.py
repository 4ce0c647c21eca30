"""The root of trust (master key file / environment), envelope sealing, password hashing."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudkeep.crypto.envelope import SealError, Sealer
from cloudkeep.crypto.passwords import hash_password, verify_password
from cloudkeep.crypto.rootkey import MasterKeyError, load_or_create_master_key

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- master key ------------------------------------------------------------------------------

def test_master_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o000)  # even a permissive umask must not loosen the key file
    try:
        key = load_or_create_master_key(tmp_path, None)
    finally:
        os.umask(old_umask)
    path = tmp_path / "master.key"
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.b64decode(path.read_text().strip()) == key
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]  # no temporary left behind


def test_master_key_file_is_reused_on_the_next_start(tmp_path: Path) -> None:
    first = load_or_create_master_key(tmp_path, None)
    second = load_or_create_master_key(tmp_path, None)
    assert first == second


def test_master_key_data_dir_is_created_when_missing(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    key = load_or_create_master_key(data_dir, None)
    assert (data_dir / "master.key").is_file() and len(key) == 32


def test_two_new_data_dirs_get_different_keys(tmp_path: Path) -> None:
    assert load_or_create_master_key(tmp_path / "x", None) != load_or_create_master_key(tmp_path / "y", None)


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        keys.append(load_or_create_master_key(tmp_path, None))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 6 and len(set(keys)) == 1
    assert base64.b64decode((tmp_path / "master.key").read_text()) == keys[0]


def test_environment_value_wins_and_creates_no_file(tmp_path: Path) -> None:
    load_or_create_master_key(tmp_path, None)
    assert load_or_create_master_key(tmp_path, b64(KEY_A)) == KEY_A
    fresh = tmp_path / "fresh"
    assert load_or_create_master_key(fresh, b64(KEY_B) + "\n") == KEY_B
    assert not (fresh / "master.key").exists()


@pytest.mark.parametrize("value", ["", "not base64!", b64(b"short"), b64(bytes(33)), "é" * 44])
def test_bad_environment_value_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(MasterKeyError, match="CLOUDKEEP_MASTER_KEY") as raised:
        load_or_create_master_key(tmp_path, value)
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "master.key").exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_key_file_with_loose_mode_is_refused(tmp_path: Path, mode: int) -> None:
    key = load_or_create_master_key(tmp_path, None)
    path = tmp_path / "master.key"
    path.chmod(mode)
    with pytest.raises(MasterKeyError, match="chmod 600") as raised:
        load_or_create_master_key(tmp_path, None)
    assert "\n" not in str(raised.value)
    path.chmod(0o600)
    assert load_or_create_master_key(tmp_path, None) == key


@pytest.mark.parametrize("content", [b"", b"garbage\n", (b64(bytes(16)) + "\n").encode(),
                                     b"\xff\xfe" * 22])
def test_key_file_with_invalid_content_is_refused_and_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(MasterKeyError, match="master.key") as raised:
        load_or_create_master_key(tmp_path, None)
    assert "\n" not in str(raised.value)
    assert path.read_bytes() == content  # never overwritten


def test_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "master.key").mkdir(mode=0o700)
    with pytest.raises(MasterKeyError):
        load_or_create_master_key(tmp_path, None)


# -- envelope --------------------------------------------------------------------------------

def test_seal_open_round_trip_and_fresh_ciphertext_each_time() -> None:
    sealer = Sealer(KEY_A)
    first = sealer.seal(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", context=b"iam/AKIA1")
    second = sealer.seal(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", context=b"iam/AKIA1")
    assert first != second
    assert b"wJalrXUtnFEMI" not in first
    assert first[0] == 1  # versioned format
    assert sealer.open(first, context=b"iam/AKIA1") == b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert Sealer(KEY_A).open(second, context=b"iam/AKIA1") == b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@given(plaintext=st.binary(max_size=512), context=st.binary(max_size=64))
def test_seal_open_round_trips_any_bytes(plaintext: bytes, context: bytes) -> None:
    sealer = Sealer(KEY_A)
    assert sealer.open(sealer.seal(plaintext, context=context), context=context) == plaintext


@settings(max_examples=50)
@given(data=st.data())
def test_any_single_bit_flip_is_detected(data: st.DataObject) -> None:
    sealer = Sealer(KEY_A)
    sealed = bytearray(sealer.seal(b"secret material", context=b"ctx"))
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SealError):
        sealer.open(bytes(sealed), context=b"ctx")


def test_truncated_or_extended_sealed_values_are_rejected() -> None:
    sealer = Sealer(KEY_A)
    sealed = sealer.seal(b"secret", context=b"ctx")
    for bad in (b"", sealed[:1], sealed[:-1], sealed + b"\x00", b"\x02" + sealed[1:]):
        with pytest.raises(SealError):
            sealer.open(bad, context=b"ctx")


def test_wrong_context_is_rejected() -> None:
    sealer = Sealer(KEY_A)
    sealed = sealer.seal(b"secret", context=b"iam/access-key/AKIA1")
    for context in (b"iam/access-key/AKIA2", b"", b"iam/access-key/AKIA1\x00"):
        with pytest.raises(SealError):
            sealer.open(sealed, context=context)


def test_wrong_master_key_is_rejected() -> None:
    sealed = Sealer(KEY_A).seal(b"secret", context=b"ctx")
    with pytest.raises(SealError):
        Sealer(KEY_B).open(sealed, context=b"ctx")


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33)])
def test_sealer_needs_a_32_byte_key(key: bytes) -> None:
    with pytest.raises(ValueError):
        Sealer(key)


# -- passwords -------------------------------------------------------------------------------

def test_password_hash_verifies_only_the_right_password() -> None:
    encoded = hash_password("correct horse battery staple")
    assert encoded.startswith("$scrypt$ln=15,r=8,p=1$")
    assert "correct horse" not in encoded
    assert verify_password("correct horse battery staple", encoded)
    assert not verify_password("correct horse battery stapl", encoded)
    assert not verify_password("Correct horse battery staple", encoded)
    assert not verify_password("", encoded)


def test_same_password_hashes_differently_each_time() -> None:
    assert hash_password("pässwörd") != hash_password("pässwörd")


def test_non_ascii_and_odd_passwords_round_trip() -> None:
    for password in ("pässwörd ☃", "\ud800lone surrogate", "", "x" * 512):
        assert verify_password(password, hash_password(password))


@pytest.mark.parametrize("encoded", [
    "", "plain", "$scrypt$", "$scrypt$ln=15,r=8,p=1$AAAA", "$argon2id$v=19$m=65536,t=3,p=4$a$b",
    "$scrypt$ln=15,r=8$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
    "$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,        # memory bomb refused
    "$scrypt$ln=15,r=8,p=1$!!!!$" + "A" * 43,
    "$scrypt$ln=x,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
])
def test_malformed_stored_hash_never_verifies_and_never_raises(encoded: str) -> None:
    assert verify_password("anything", encoded) is False


def test_tampered_hash_does_not_verify() -> None:
    encoded = hash_password("secret")
    head, digest = encoded.rsplit("$", 1)
    flipped = ("B" if digest[0] == "A" else "A") + digest[1:]
    assert not verify_password("secret", f"{head}${flipped}")


def test_open_remembered_gives_what_open_gives_and_remembers_only_what_opened() -> None:
    sealer = Sealer(os.urandom(32))
    sealed = sealer.seal(b"data key", context=b"s3:bucket:1")
    assert sealer.open_remembered(sealed, context=b"s3:bucket:1") == b"data key"
    assert sealer.open_remembered(bytearray(sealed), context=b"s3:bucket:1") == b"data key"
    # the context is part of what is remembered: another context does not open the same bytes
    with pytest.raises(SealError):
        sealer.open_remembered(sealed, context=b"s3:other:1")
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    for _ in range(2):               # a failure is not remembered as a value: it fails each time
        with pytest.raises(SealError):
            sealer.open_remembered(bytes(tampered), context=b"s3:bucket:1")
    # another root never sees what this one remembered
    with pytest.raises(SealError):
        Sealer(os.urandom(32)).open_remembered(sealed, context=b"s3:bucket:1")
