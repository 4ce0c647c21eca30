"""The PKCS#11 root of trust (``crypto/hsm.py``) against a throw-away SoftHSM2 token: the root key
is generated in the token and never leaves it, sealed values name their root, and a server started
with ``--hsm`` seals IAM secrets under the HSM and writes no master key file.

SoftHSM2 (``softhsm2-util`` and its module) or python-pkcs11 missing: skip locally, FAIL with CI=true.
"""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from cloudkeep.crypto.envelope import SealError, Sealer
from cloudkeep.crypto.hsm import DEFAULT_KEY_LABEL, HsmError, Pkcs11Root, parse_uri
from cloudkeep.crypto.root import MasterKeyRoot

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                     "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so",
                     "/opt/homebrew/lib/softhsm/libsofthsm2.so")
PIN, SO_PIN = "1234", "5678"
TOKENS = ("cloudkeep", "e2e", "known", "other")
WRAP_AAD = b"cloudkeep/envelope/v1/wrap\x00"


class SoftHsm:
    def __init__(self, module: str, conf: Path) -> None:
        self.module, self.conf = module, conf

    def uri(self, token: str = "cloudkeep", label: str | None = None, *, pin: str | None = PIN) -> str:
        uri = f"pkcs11:module-path={self.module};token={token}"
        if label is not None:
            uri += f";object={label}"
        return uri + (f"?pin-value={pin}" if pin is not None else "")

    def root(self, label: str, token: str = "cloudkeep") -> Pkcs11Root:
        return Pkcs11Root.from_uri(self.uri(token, label))

    def session(self, token: str) -> Any:
        import pkcs11
        found = pkcs11.lib(self.module).get_token(token_label=token)
        try:
            return found.open(rw=True, user_pin=PIN)
        except pkcs11.UserAlreadyLoggedIn:  # a root of this process has logged in to the token
            return found.open(rw=True)

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf), **extra}


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is missing, and CI=true: .ci/run must install it")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        _missing("python-pkcs11 (pip install 'cloudkeep[hsm]')")
    util = shutil.which("softhsm2-util")
    module = next((m for m in MODULE_CANDIDATES if Path(m).is_file()), None)
    if util is None or module is None:
        _missing("SoftHSM2 (Debian package softhsm2)")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    for label in TOKENS:
        subprocess.run([util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN],
                       env=env, check=True, capture_output=True)
    # SoftHSM2 reads its configuration when this process first loads the module (below)
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        yield SoftHsm(module, conf)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


def _keys(session: Any, label: str) -> list[Any]:
    import pkcs11
    return list(session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.SECRET_KEY,
                                     pkcs11.Attribute.LABEL: label}))


def _import_known_key(softhsm: SoftHsm, token: str, label: str, value: bytes) -> None:
    """An AES key whose value the test knows, created (sensitive, non-extractable) in the token."""
    import pkcs11
    A = pkcs11.Attribute
    with softhsm.session(token) as session:
        session.create_object({A.CLASS: pkcs11.ObjectClass.SECRET_KEY, A.KEY_TYPE: pkcs11.KeyType.AES,
                               A.VALUE: value, A.LABEL: label, A.TOKEN: True, A.PRIVATE: True,
                               A.SENSITIVE: True, A.EXTRACTABLE: False, A.ENCRYPT: True, A.DECRYPT: True})


# -- the URI (pure) ------------------------------------------------------------------------------

def test_uri_with_path_attributes_as_in_the_docs() -> None:
    uri = parse_uri("pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=cloudkeep;pin-value=1234")
    assert (uri.module_path, uri.token, uri.pin, uri.key_label) == \
        ("/usr/lib/softhsm/libsofthsm2.so", "cloudkeep", "1234", DEFAULT_KEY_LABEL)
    assert "1234" not in repr(uri)


def test_uri_in_rfc7512_form_with_query_and_percent_encoding() -> None:
    uri = parse_uri("pkcs11:token=my%20token;slot-id=7;serial=abc;object=ck%3Broot"
                    "?module-path=/opt/hsm/lib%20p11.so&pin-value=p%26ss")
    assert (uri.token, uri.slot_id, uri.serial, uri.key_label, uri.module_path, uri.pin) == \
        ("my token", 7, "abc", "ck;root", "/opt/hsm/lib p11.so", "p&ss")


def test_uri_pin_from_the_environment_only_when_the_uri_has_none(tmp_path: Path) -> None:
    assert parse_uri("pkcs11:module-path=/m.so;token=t", pin="9999").pin == "9999"
    assert parse_uri("pkcs11:module-path=/m.so;token=t;pin-value=1", pin="9999").pin == "1"
    assert parse_uri("pkcs11:module-path=/m.so;token=t").pin is None
    pin_file = tmp_path / "pin"
    pin_file.write_text("4321\n")
    assert parse_uri(f"pkcs11:module-path=/m.so?pin-source=file:{pin_file}", pin="9").pin == "4321"


@pytest.mark.parametrize("uri, says", [
    ("https://hsm.example/", "PKCS#11 URI"),
    ("pkcs11:token=cloudkeep;pin-value=1", "module-path"),
    ("pkcs11:module-path=/m.so;tokn=cloudkeep", "'tokn' is not supported"),
    ("pkcs11:module-path=/m.so;token=a;token=b", "twice"),
    ("pkcs11:module-path=/m.so;module=/n.so", "twice"),
    ("pkcs11:module-path=/m.so;token=", "no value"),
    ("pkcs11:module-path=/m.so;slot-id=one", "slot-id"),
    ("pkcs11:module-path=/m.so?pin-value=1&pin-source=/p", "both"),
    ("pkcs11:module-path=/m.so?pin-source=/nonexistent/pin", "cannot read the PIN"),
])
def test_bad_uri_is_refused_in_one_line(uri: str, says: str) -> None:
    with pytest.raises(HsmError, match=says) as raised:
        parse_uri(uri)
    assert "\n" not in str(raised.value)


def test_missing_module_is_refused_in_one_line() -> None:
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        _missing("python-pkcs11 (pip install 'cloudkeep[hsm]')")
    with pytest.raises(HsmError, match="does not exist"):
        Pkcs11Root.from_uri("pkcs11:module-path=/nonexistent/libp11.so;token=t;pin-value=1")


# -- Pkcs11Root against SoftHSM2 -----------------------------------------------------------------

def test_seal_open_round_trip_through_the_hsm(softhsm: SoftHsm) -> None:
    sealer = Sealer(root=softhsm.root("round-trip"))
    secret = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    first = sealer.seal(secret, context=b"iam:access-key:AKIA1")
    second = sealer.seal(secret, context=b"iam:access-key:AKIA1")
    assert first != second and secret not in first
    assert first[0] == 2 and len(first) == 1 + 60 + 12 + len(secret) + 16
    assert sealer.open(first, context=b"iam:access-key:AKIA1") == secret
    assert sealer.open(second, context=b"iam:access-key:AKIA1") == secret
    assert sealer.open(sealer.seal(b"", context=b""), context=b"") == b""
    for context in (b"iam:access-key:AKIA2", b"", b"iam:access-key:AKIA1\x00"):
        with pytest.raises(SealError):
            sealer.open(first, context=context)


def test_tampering_anywhere_is_detected_by_the_hsm_or_the_envelope(softhsm: SoftHsm) -> None:
    sealer = Sealer(root=softhsm.root("tamper"))
    sealed = sealer.seal(b"secret material", context=b"ctx")
    # the wrap nonce, the HSM-wrapped key and its tag, the data nonce, the ciphertext and its tag
    for index in (1, 12, 13, 30, 44, 45, 60, 61, 72, 73, len(sealed) - 1):
        bad = bytearray(sealed)
        bad[index] ^= 0x01
        with pytest.raises(SealError):
            sealer.open(bytes(bad), context=b"ctx")
    for bad in (b"", sealed[:1], sealed[:-1], sealed + b"\x00", b"\x01" + sealed[1:]):
        with pytest.raises(SealError):
            sealer.open(bad, context=b"ctx")
    assert sealer.open(sealed, context=b"ctx") == b"secret material"  # the session survived


def test_root_key_is_generated_once_in_the_token_and_reused(softhsm: SoftHsm) -> None:
    sealed = Sealer(root=softhsm.root("reused")).seal(b"kept", context=b"c")
    again = softhsm.root("reused")  # a later start: finds the key, makes no second one
    assert Sealer(root=again).open(sealed, context=b"c") == b"kept"
    with softhsm.session("cloudkeep") as session:
        assert len(_keys(session, "reused")) == 1


def test_root_key_never_leaves_the_hsm(softhsm: SoftHsm) -> None:
    import pkcs11
    A = pkcs11.Attribute
    key = softhsm.root("sealed-in").key
    assert key.key_type == pkcs11.KeyType.AES and key[A.VALUE_LEN] == 32
    assert key[A.TOKEN] and key[A.PRIVATE] and key[A.SENSITIVE] and not key[A.EXTRACTABLE]
    # the token vouches that the key was created sensitive and never was extractable
    assert key[A.ALWAYS_SENSITIVE] and key[A.NEVER_EXTRACTABLE] and key[A.LOCAL]
    with pytest.raises(pkcs11.AttributeSensitive):
        key[A.VALUE]
    with pytest.raises(pkcs11.PKCS11Error):  # SoftHSM2: CKR_ATTRIBUTE_READ_ONLY
        key[A.EXTRACTABLE] = True
    assert not key[A.EXTRACTABLE]
    # nor can another key wrap it out of the token
    with softhsm.session("cloudkeep") as session:
        wrapper = session.generate_key(pkcs11.KeyType.AES, 256, store=False,
                                       template={A.WRAP: True, A.EXTRACTABLE: True})
        theirs = _keys(session, "sealed-in")[0]
        with pytest.raises(pkcs11.KeyUnextractable):
            wrapper.wrap_key(theirs, mechanism=pkcs11.Mechanism.AES_KEY_WRAP)


def test_hsm_sealed_values_do_not_open_under_the_master_key_and_back(softhsm: SoftHsm) -> None:
    hsm, master = Sealer(root=softhsm.root("versus")), Sealer(os.urandom(32))
    under_hsm, under_master = hsm.seal(b"a", context=b"c"), master.seal(b"b", context=b"c")
    assert (under_hsm[0], under_master[0]) == (2, 1)
    with pytest.raises(SealError, match="another root of trust"):
        master.open(under_hsm, context=b"c")
    with pytest.raises(SealError, match="another root of trust"):
        hsm.open(under_master, context=b"c")
    # relabelled to pass the format check, they still do not authenticate
    with pytest.raises(SealError, match="did not authenticate"):
        master.open(b"\x01" + under_hsm[1:], context=b"c")
    with pytest.raises(SealError, match="did not authenticate"):
        hsm.open(b"\x02" + under_master[1:], context=b"c")


def test_another_hsm_key_does_not_open_the_value(softhsm: SoftHsm) -> None:
    sealed = Sealer(root=softhsm.root("first")).seal(b"x", context=b"c")
    for other in (softhsm.root("second"), softhsm.root(DEFAULT_KEY_LABEL, token="other")):
        with pytest.raises(SealError):
            Sealer(root=other).open(sealed, context=b"c")


def test_wrap_is_aes_gcm_under_the_token_key_with_the_context_as_aad(softhsm: SoftHsm) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    value = os.urandom(32)
    _import_known_key(softhsm, "known", "imported", value)
    root = softhsm.root("imported", token="known")
    data_key = os.urandom(32)
    wrapped = root.wrap(data_key, b"the context")
    assert len(wrapped) == root.wrapped_size == 60
    assert AESGCM(value).decrypt(wrapped[:12], wrapped[12:], b"the context") == data_key
    nonce = os.urandom(12)
    assert root.unwrap(nonce + AESGCM(value).encrypt(nonce, data_key, b"ctx"), b"ctx") == data_key
    with pytest.raises(SealError):
        root.unwrap(wrapped, b"another context")


def test_master_key_root_is_byte_compatible_with_envelope_version_1() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    master = bytes(range(32))
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"cloudkeep/envelope/v1/key-encryption-key").derive(master)
    # a value sealed the way envelope v1 always did, built by hand
    data_key, wrap_nonce, data_nonce = os.urandom(32), os.urandom(12), os.urandom(12)
    old = (b"\x01" + wrap_nonce + AESGCM(kek).encrypt(wrap_nonce, data_key, WRAP_AAD + b"ctx") + data_nonce
           + AESGCM(data_key).encrypt(data_nonce, b"from before", b"cloudkeep/envelope/v1/data\x00ctx"))
    assert Sealer(master).open(old, context=b"ctx") == b"from before"
    assert Sealer(root=MasterKeyRoot(master)).open(old, context=b"ctx") == b"from before"
    new = Sealer(master).seal(b"now", context=b"ctx")
    assert AESGCM(kek).decrypt(new[1:13], new[13:61], WRAP_AAD + b"ctx")  # same wrapping step


def test_sealer_needs_exactly_one_of_master_key_or_root() -> None:
    with pytest.raises(ValueError):
        Sealer()
    with pytest.raises(ValueError):
        Sealer(os.urandom(32), root=MasterKeyRoot(os.urandom(32)))


def test_an_extractable_key_under_the_label_is_refused(softhsm: SoftHsm) -> None:
    import pkcs11
    A = pkcs11.Attribute
    with softhsm.session("cloudkeep") as session:
        session.generate_key(pkcs11.KeyType.AES, 256, label="leaky", store=True,
                             template={A.SENSITIVE: False, A.EXTRACTABLE: True})
    with pytest.raises(HsmError, match="can be extracted") as raised:
        softhsm.root("leaky")
    assert "\n" not in str(raised.value)


def test_two_keys_under_the_label_are_refused(softhsm: SoftHsm) -> None:
    softhsm.root("twice")
    _import_known_key(softhsm, "cloudkeep", "twice", os.urandom(32))
    with pytest.raises(HsmError, match="2 secret keys labelled 'twice'"):
        softhsm.root("twice")


@pytest.mark.parametrize("uri, says", [
    ("token=nope;pin-value=1234", "no initialized token matches token=nope"),
    ("token=cloudkeep", "needs a PIN"),
    ("slot-id=4242;pin-value=1234", "no initialized token matches slot-id=4242"),
])
def test_unusable_token_selection_is_refused_in_one_line(softhsm: SoftHsm, uri: str, says: str) -> None:
    with pytest.raises(HsmError, match=says) as raised:
        Pkcs11Root.from_uri(f"pkcs11:module-path={softhsm.module};{uri}")
    assert "\n" not in str(raised.value) and "1234" not in str(raised.value)


def test_a_lost_session_is_reopened(softhsm: SoftHsm) -> None:
    root = softhsm.root("reopen")
    sealer = Sealer(root=root)
    sealed = sealer.seal(b"x", context=b"c")
    root._session.close()  # the HSM dropped the session under us
    assert sealer.open(sealed, context=b"c") == b"x"
    root.close()
    assert sealer.open(sealer.seal(b"y", context=b"c"), context=b"c") == b"y"


def test_concurrent_sealing_from_threads_is_safe(softhsm: SoftHsm) -> None:
    sealer = Sealer(root=softhsm.root("threads"))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                context = f"{n}/{i}".encode()
                assert sealer.open(sealer.seal(context * 3, context=context), context=context) == context * 3
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- the server with --hsm -----------------------------------------------------------------------

def _sealed_secrets(data_dir: Path) -> dict[str, bytes]:
    with sqlite3.connect(f"file:{data_dir / 'cloudkeep.db'}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT access_key_id, secret_sealed FROM access_keys").fetchall())


def _files(data_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}


@pytest.mark.e2e
def test_server_with_hsm_seals_iam_secrets_in_the_hsm_and_writes_no_master_key(softhsm: SoftHsm,
                                                                                tmp_path: Path) -> None:
    from cloudkeep.testing.server import CloudkeepServer, client_for
    data_dir = tmp_path / "data"
    # the PIN through CLOUDKEEP_HSM_PIN, two worker processes that each open the token
    server = CloudkeepServer(data_dir=data_dir, workers=2, extra_args=["--hsm", softhsm.uri("e2e", pin=None)],
                             env=softhsm.env(CLOUDKEEP_HSM_PIN=PIN))
    try:
        server.start()
        assert server.root is not None
        iam = server.root.client("iam")
        iam.create_user(UserName="alice")
        key = iam.create_access_key(UserName="alice")["AccessKey"]
        sts = client_for(server.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
        for _ in range(4):  # whichever worker answers opens the secret through the HSM
            assert sts.get_caller_identity()["Arn"].endswith(":user/alice")
        assert not (data_dir / "master.key").exists()
        sealed = _sealed_secrets(data_dir)
        assert {value[0] for value in sealed.values()} == {2} and key["AccessKeyId"] in sealed
        for path, content in _files(data_dir).items():
            assert key["SecretAccessKey"].encode() not in content, path
    finally:
        server.stop()
    with softhsm.session("e2e") as session:  # generated in the token at first start
        import pkcs11
        (root_key,) = _keys(session, DEFAULT_KEY_LABEL)
        assert root_key[pkcs11.Attribute.NEVER_EXTRACTABLE] and not root_key[pkcs11.Attribute.EXTRACTABLE]
    # a restart opens what the first run sealed: same key, still no master key file
    again = CloudkeepServer(data_dir=data_dir, extra_args=["--hsm", softhsm.uri("e2e")], env=softhsm.env())
    try:
        again.start()
        sts = client_for(again.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
        assert sts.get_caller_identity()["Arn"].endswith(":user/alice")
        assert not (data_dir / "master.key").exists()
    finally:
        again.stop()
    with softhsm.session("e2e") as session:
        assert len(_keys(session, DEFAULT_KEY_LABEL)) == 1


@pytest.mark.e2e
def test_no_root_key_in_the_data_dir_and_every_secret_is_wrapped_by_the_hsm_key(softhsm: SoftHsm,
                                                                               tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from cloudkeep.services.iam.credentials import secret_context
    from cloudkeep.testing.server import CloudkeepServer
    value = os.urandom(32)  # the test knows this HSM key's value; the server never can
    _import_known_key(softhsm, "known", "server-root", value)
    data_dir = tmp_path / "data"
    server = CloudkeepServer(data_dir=data_dir, extra_args=["--hsm", softhsm.uri("known", "server-root")],
                             env=softhsm.env())
    try:
        server.start()
        assert server.root is not None
        iam = server.root.client("iam")
        iam.create_user(UserName="bob")
        iam.create_access_key(UserName="bob")
        server.flush()
        sealed = _sealed_secrets(data_dir)
        files = _files(data_dir)
    finally:
        server.stop()
    assert len(sealed) >= 2 and not (data_dir / "master.key").exists()
    for key_id, blob in sealed.items():
        assert blob[0] == 2
        AESGCM(value).decrypt(blob[1:13], blob[13:61], WRAP_AAD + secret_context(key_id))
    forms = [value, value.hex().encode(), value.hex().upper().encode(), base64.b64encode(value),
             base64.urlsafe_b64encode(value), base64.b64encode(value).rstrip(b"=")]
    assert files
    for path, content in files.items():
        for form in forms:
            assert form not in content, path


@pytest.mark.e2e
def test_server_refuses_to_start_with_a_wrong_pin_and_writes_no_master_key(softhsm: SoftHsm,
                                                                            tmp_path: Path) -> None:
    from cloudkeep.testing.server import CloudkeepServer
    data_dir = tmp_path / "data"
    server = CloudkeepServer(data_dir=data_dir, extra_args=["--hsm", softhsm.uri("other", pin="0000")],
                             env=softhsm.env(), startup_timeout=30)
    try:
        with pytest.raises(RuntimeError, match="refused the PIN") as raised:
            server.start()
        assert "0000" not in str(raised.value)
    finally:
        server.stop()
    assert not (data_dir / "master.key").exists()
