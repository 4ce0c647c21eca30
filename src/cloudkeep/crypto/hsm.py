"""The optional root of trust in a PKCS#11 HSM (``cloudkeep serve --hsm pkcs11:…``).

Owns: parsing the RFC 7512 PKCS#11 URI that names the module, the token, the PIN and the key
(``parse_uri``), and ``Pkcs11Root``: a ``crypto.root.RootOfTrust`` whose key is an AES-256 secret
key that lives only in the token. At first use it is generated there (``CKA_TOKEN``,
``CKA_PRIVATE``, ``CKA_SENSITIVE`` true, ``CKA_EXTRACTABLE`` false, usable only to encrypt and
decrypt); ``wrap`` is ``CKM_AES_GCM`` encryption of a data key inside the HSM with the caller's
context as AAD, ``unwrap`` the decryption inside the HSM. The key's value is never asked for, and
an existing key under the label that could leave the token (extractable or not sensitive) is
refused. ``wrap`` returns ``nonce (12) | encrypted data key (32) | tag (16)``, the layout of the
master-key root, under format byte 2 (``root.PKCS11_VERSION``).

The URI: ``pkcs11:token=cloudkeep;module-path=/usr/lib/softhsm/libsofthsm2.so?pin-value=1234``
(attributes may sit in the path or the query part; ``module=`` is accepted for ``module-path=``).
Token attributes ``token``, ``serial``, ``manufacturer``, ``model``, ``slot-id`` select the token
(exactly one must match); ``object`` is the key's label (default ``cloudkeep-root``); the PIN
comes from ``pin-value``, ``pin-source`` (a file) or the caller (``CLOUDKEEP_HSM_PIN``, read by
``config.py``). An unknown attribute is an error, never ignored.

Rules: a PKCS#11 session is not safe for concurrent use, so every operation holds the root's
lock; a lost session (token removed, HSM restarted) is reopened once, but a key that has vanished
is never silently replaced. Every error a person sees is one line (``HsmError``).

Must not: read the environment; log or print the PIN; ask the token for the key's value; import
``pkcs11`` before an HSM is asked for (it is an optional dependency: ``cloudkeep[hsm]``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

from .root import GCM_WRAPPED_BYTES, KEY_BYTES, NONCE_BYTES, PKCS11_VERSION, SealError

DEFAULT_KEY_LABEL: Final = "cloudkeep-root"
_TOKEN_ATTRS: Final = ("token", "serial", "manufacturer", "model", "slot-id")
_KNOWN: Final = frozenset(_TOKEN_ATTRS + ("object", "module-path", "module", "pin-value", "pin-source"))


class HsmError(Exception):
    """The HSM cannot be used as configured; the message is one line that says what to do."""


@dataclass(frozen=True, slots=True)
class HsmUri:
    module_path: str
    token: str | None = None
    serial: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    slot_id: int | None = None
    key_label: str = DEFAULT_KEY_LABEL
    pin: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The token selection, for messages (never the PIN)."""
        parts = [f"{name}={value}" for name, value in (
            ("token", self.token), ("serial", self.serial), ("manufacturer", self.manufacturer),
            ("model", self.model), ("slot-id", self.slot_id)) if value is not None]
        return ";".join(parts) or "any token"


def parse_uri(uri: str, *, pin: str | None = None) -> HsmUri:
    """The PKCS#11 URI's attributes; ``pin`` (from ``CLOUDKEEP_HSM_PIN``) if the URI has none."""
    if not isinstance(uri, str) or not uri[:7].lower() == "pkcs11:":
        raise HsmError("--hsm needs a PKCS#11 URI such as "
                       "pkcs11:token=cloudkeep;module-path=/usr/lib/softhsm/libsofthsm2.so")
    path, _, query = uri[7:].partition("?")
    attrs: dict[str, str] = {}
    for part in [p for p in path.split(";") if p] + [q for q in query.split("&") if q]:
        name, eq, raw = part.partition("=")
        name = name.strip().lower()
        if not eq or not raw:
            raise HsmError(f"PKCS#11 URI attribute {name!r} has no value; write {name}=…")
        if name not in _KNOWN:
            raise HsmError(f"PKCS#11 URI attribute {name!r} is not supported; use "
                           f"{', '.join(sorted(_KNOWN - {'module'}))}")
        if name == "module":
            name = "module-path"
        if name in attrs:
            raise HsmError(f"PKCS#11 URI gives {name!r} twice; give it once")
        attrs[name] = unquote(raw, errors="strict")
    if "module-path" not in attrs:
        raise HsmError("the PKCS#11 URI names no module; add module-path=/path/to/the/pkcs11-module.so")
    if "pin-value" in attrs and "pin-source" in attrs:
        raise HsmError("the PKCS#11 URI gives both pin-value and pin-source; give one")
    slot_id = None
    if "slot-id" in attrs:
        try:
            slot_id = int(attrs["slot-id"], 10)
        except ValueError:
            raise HsmError(f"PKCS#11 URI slot-id {attrs['slot-id']!r} is not a number") from None
    the_pin = attrs.get("pin-value")
    if "pin-source" in attrs:
        the_pin = _read_pin_source(attrs["pin-source"])
    if the_pin is None:
        the_pin = pin
    return HsmUri(module_path=attrs["module-path"], token=attrs.get("token"), serial=attrs.get("serial"),
                  manufacturer=attrs.get("manufacturer"), model=attrs.get("model"), slot_id=slot_id,
                  key_label=attrs.get("object", DEFAULT_KEY_LABEL), pin=the_pin)


def _read_pin_source(source: str) -> str:
    path = Path(source[5:] if source.startswith("file:") else source)
    try:
        return path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise HsmError(f"cannot read the PIN from {path}: {exc.strerror}") from None


class Pkcs11Root:
    """A root of trust whose AES-256 key never leaves a PKCS#11 token."""

    __slots__ = ("_uri", "_lock", "_p11", "_lib", "_session", "_key")

    version: Final = PKCS11_VERSION  # type: ignore[misc]
    wrapped_size: Final = GCM_WRAPPED_BYTES  # type: ignore[misc]

    def __init__(self, uri: HsmUri) -> None:
        try:
            import pkcs11
        except ImportError:
            raise HsmError("--hsm needs the python-pkcs11 package: pip install 'cloudkeep[hsm]'") from None
        self._p11: Any = pkcs11
        self._uri = uri
        self._lock = threading.Lock()
        self._session: Any = None
        self._key: Any = None
        if not Path(uri.module_path).is_file():
            raise HsmError(f"PKCS#11 module {uri.module_path} does not exist; fix module-path= in the URI")
        try:
            self._lib = pkcs11.lib(uri.module_path)
        except pkcs11.PKCS11Error as exc:
            raise HsmError(f"cannot load PKCS#11 module {uri.module_path}: {_name(exc)}") from None
        with self._lock:
            self._connect(create=True)

    @classmethod
    def from_uri(cls, uri: str, *, pin: str | None = None) -> "Pkcs11Root":
        return cls(parse_uri(uri, pin=pin))

    @property
    def key_label(self) -> str:
        return self._uri.key_label

    @property
    def key(self) -> Any:
        """The token's key object (a handle: its value stays in the token)."""
        return self._key

    # -- RootOfTrust ---------------------------------------------------------------------------

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        if len(data_key) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        nonce = os.urandom(NONCE_BYTES)
        p11 = self._p11
        try:
            encrypted = self._call(lambda key: key.encrypt(data_key, mechanism=p11.Mechanism.AES_GCM,
                                                           mechanism_param=p11.GCMParams(nonce, context)))
        except p11.PKCS11Error as exc:
            raise HsmError(f"the HSM could not wrap a data key with AES-GCM: {_name(exc)}") from None
        if len(encrypted) != GCM_WRAPPED_BYTES - NONCE_BYTES:
            raise HsmError(f"the HSM returned {len(encrypted)} bytes for an AES-GCM wrap, not 48")
        return nonce + bytes(encrypted)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        if len(wrapped) != GCM_WRAPPED_BYTES:
            raise SealError("sealed value did not authenticate")
        nonce, encrypted = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        p11 = self._p11
        try:
            data_key = self._call(lambda key: key.decrypt(encrypted, mechanism=p11.Mechanism.AES_GCM,
                                                          mechanism_param=p11.GCMParams(nonce, context)))
        except (p11.GeneralError, p11.EncryptedDataInvalid, p11.EncryptedDataLenRange, p11.DataInvalid,
                p11.DataLenRange):
            # a GCM tag that does not verify: SoftHSM2 says CKR_GENERAL_ERROR, others
            # CKR_ENCRYPTED_DATA_INVALID; either way the value does not open
            raise SealError("sealed value did not authenticate") from None
        except p11.PKCS11Error as exc:
            raise HsmError(f"the HSM could not unwrap a data key with AES-GCM: {_name(exc)}") from None
        if len(data_key) != KEY_BYTES:
            raise SealError("sealed value did not authenticate")
        return bytes(data_key)

    def close(self) -> None:
        with self._lock:
            self._drop_session()

    def __repr__(self) -> str:
        return f"Pkcs11Root({self._uri.module_path}, {self._uri.describe()}, key={self._uri.key_label!r})"

    # -- the session -----------------------------------------------------------------------------

    def _call(self, operation: Any) -> Any:
        p11 = self._p11
        lost = (p11.SessionHandleInvalid, p11.SessionClosed, p11.DeviceRemoved, p11.TokenNotPresent,
                p11.UserNotLoggedIn, p11.KeyHandleInvalid, p11.ObjectHandleInvalid, p11.DeviceError)
        with self._lock:
            try:
                if self._key is None:
                    self._connect(create=False)
                return operation(self._key)
            except lost:
                self._drop_session()
            self._connect(create=False)  # once more on a fresh session; a second loss propagates
            try:
                return operation(self._key)
            except lost as exc:
                self._drop_session()
                raise HsmError(f"the HSM token ({self._uri.describe()}) is not usable: {_name(exc)}") from None

    def _drop_session(self) -> None:
        session, self._session, self._key = self._session, None, None
        if session is not None:
            try:
                session.close()
            except self._p11.PKCS11Error:
                pass

    def _connect(self, *, create: bool) -> None:
        p11 = self._p11
        token = self._find_token()
        if self._uri.pin is None and token.flags & p11.TokenFlag.LOGIN_REQUIRED \
                and not token.flags & p11.TokenFlag.PROTECTED_AUTHENTICATION_PATH:
            raise HsmError(f"the HSM token {token.label!r} needs a PIN: add pin-value=… to the URI "
                           f"or set CLOUDKEEP_HSM_PIN")
        try:
            try:
                session = token.open(rw=True, user_pin=self._uri.pin)
            except p11.UserAlreadyLoggedIn:  # another session of this process logged in already
                session = token.open(rw=True)
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange) as exc:
            raise HsmError(f"the HSM refused the PIN for token {token.label!r} ({_name(exc)}); "
                           f"check pin-value or CLOUDKEEP_HSM_PIN") from None
        except p11.PinLocked:
            raise HsmError(f"the PIN of HSM token {token.label!r} is locked; unlock it with the "
                           f"security officer PIN") from None
        except p11.PKCS11Error as exc:
            raise HsmError(f"cannot open a session on HSM token {token.label!r}: {_name(exc)}") from None
        try:
            self._key = self._find_key(session, create=create)
        except BaseException:
            session.close()
            raise
        self._session = session

    def _find_token(self) -> Any:
        uri = self._uri
        matches = []
        try:
            slots = self._lib.get_slots(token_present=True)
            for slot in slots:
                if uri.slot_id is not None and slot.slot_id != uri.slot_id:
                    continue
                token = slot.get_token()
                serial = token.serial.decode("ascii", "replace") if isinstance(token.serial, bytes) \
                    else str(token.serial)
                if (uri.token is not None and token.label != uri.token) \
                        or (uri.serial is not None and serial.strip() != uri.serial) \
                        or (uri.manufacturer is not None and token.manufacturer_id != uri.manufacturer) \
                        or (uri.model is not None and token.model != uri.model):
                    continue
                if not token.flags & self._p11.TokenFlag.TOKEN_INITIALIZED:
                    continue
                matches.append(token)
        except self._p11.PKCS11Error as exc:
            raise HsmError(f"cannot list the tokens of {uri.module_path}: {_name(exc)}") from None
        if not matches:
            raise HsmError(f"no initialized token matches {uri.describe()} in {uri.module_path}; list "
                           f"them with 'softhsm2-util --show-slots' or 'pkcs11-tool --module … -L'")
        if len(matches) > 1:
            raise HsmError(f"{len(matches)} tokens match {uri.describe()} in {uri.module_path}; "
                           f"add token=, serial= or slot-id= to the URI")
        return matches[0]

    def _find_key(self, session: Any, *, create: bool) -> Any:
        p11 = self._p11
        Attribute, label = p11.Attribute, self._uri.key_label
        try:
            keys = list(session.get_objects({Attribute.CLASS: p11.ObjectClass.SECRET_KEY,
                                             Attribute.LABEL: label}))
            if not keys:
                if not create:
                    raise HsmError(f"the root key {label!r} has vanished from the HSM token "
                                   f"({self._uri.describe()}); restore it from the HSM's backup")
                return self._generate(session)
            if len(keys) > 1:
                raise HsmError(f"{len(keys)} secret keys labelled {label!r} in the HSM token; keep the one "
                               f"cloudkeep sealed with and remove the others")
            key = keys[0]
            _check_key(p11, key, label)
            return key
        except p11.PKCS11Error as exc:
            raise HsmError(f"cannot find the root key {label!r} in the HSM token: {_name(exc)}") from None

    def _generate(self, session: Any) -> Any:
        p11 = self._p11
        A = p11.Attribute
        template = {
            A.TOKEN: True, A.PRIVATE: True, A.SENSITIVE: True, A.EXTRACTABLE: False,
            A.ENCRYPT: True, A.DECRYPT: True, A.WRAP: False, A.UNWRAP: False,
            A.SIGN: False, A.VERIFY: False, A.DERIVE: False, A.MODIFIABLE: False,
        }
        key = session.generate_key(p11.KeyType.AES, KEY_BYTES * 8, label=self._uri.key_label,
                                   id=os.urandom(16), store=True,
                                   capabilities=p11.MechanismFlag.ENCRYPT | p11.MechanismFlag.DECRYPT,
                                   template=template)
        _check_key(p11, key, self._uri.key_label)
        return key


def _check_key(p11: Any, key: Any, label: str) -> None:
    """Refuses a key that is not AES-256 for encryption or that could leave the token."""
    A = p11.Attribute
    if key[A.KEY_TYPE] != p11.KeyType.AES or key[A.VALUE_LEN] != KEY_BYTES:
        raise HsmError(f"the HSM key {label!r} is not an AES-256 key; give another label with object=…")
    if not key[A.SENSITIVE] or key[A.EXTRACTABLE]:
        raise HsmError(f"the HSM key {label!r} can be extracted from the token (CKA_SENSITIVE false or "
                       f"CKA_EXTRACTABLE true); cloudkeep only uses a key that never leaves the HSM")
    if not key[A.ENCRYPT] or not key[A.DECRYPT]:
        raise HsmError(f"the HSM key {label!r} does not allow encrypt and decrypt (CKA_ENCRYPT/CKA_DECRYPT)")


def _name(exc: BaseException) -> str:
    """A PKCS#11 error as one line: its class name, and its text if it has one."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}{': ' + text if text else ''}"
