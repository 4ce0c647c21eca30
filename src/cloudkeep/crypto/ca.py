"""The local certificate authority behind ``cloudkeep serve --tls``.

Owns: creating the data dir's own CA at first TLS start (EC P-256, ``CA:TRUE``, path length 0,
``keyCertSign``/``cRLSign``, valid 10 years) and issuing the server's certificate under it (EC
P-256, ``serverAuth``, valid one year) for ``localhost``, ``127.0.0.1``, ``::1``, ``*.localhost``,
``s3.localhost``, ``*.s3.localhost`` (virtual-host S3 buckets) and the ``--host`` value. The server
certificate is issued again by ``ensure_server_certificate`` when it is missing, expired or within
``RENEW_BEFORE`` of expiry, names other hosts than wanted, was not issued by the current CA, or
does not match its key. Files in ``<data_dir>/tls/``:

==================  ===================================================================
``ca.pem``          the CA certificate: public; clients trust it (``AWS_CA_BUNDLE``)
``ca-key.sealed``   the CA private key (PKCS#8 DER) sealed under the master key
``server.pem``      the server certificate followed by the CA certificate: public
``server-key.sealed``  the server private key sealed under the master key
``.lock``           serializes creation between processes that start together
==================  ===================================================================

``server_ssl_context`` opens the sealed server key in memory and hands it to OpenSSL through an
anonymous in-memory file (``memfd``; elsewhere a 0600 temporary file deleted at once), and even
that copy is PEM encrypted under a random one-time password: no private key is ever written in
the clear.

Must not: write private key material in the clear anywhere; read the clock or the environment
(the caller passes ``now``); replace an existing CA that still opens (clients trust it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Iterator

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .envelope import Sealer, SealError

TLS_DIR: Final = "tls"
CA_CERT: Final = "ca.pem"
CA_KEY: Final = "ca-key.sealed"
SERVER_CERT: Final = "server.pem"
SERVER_KEY: Final = "server-key.sealed"
LOCK: Final = ".lock"

CA_VALIDITY: Final = timedelta(days=3650)
SERVER_VALIDITY: Final = timedelta(days=365)
#: a server certificate this close to expiry is issued again at start
RENEW_BEFORE: Final = timedelta(days=7)
#: certificates start a little in the past so a client whose clock lags still accepts them
BACKDATE: Final = timedelta(hours=1)

CA_KEY_CONTEXT: Final = b"cloudkeep/tls/ca-key"
SERVER_KEY_CONTEXT: Final = b"cloudkeep/tls/server-key"

#: the names every server certificate carries, before the ``--host`` value
BASE_NAMES: Final = ("localhost", "127.0.0.1", "::1", "*.localhost", "s3.localhost", "*.s3.localhost")


class TlsError(Exception):
    """The TLS material is unusable; the message is one line that says what to do."""


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """Where the CA and the server certificate are, and what the last ``ensure`` did."""

    directory: Path
    ca_created: bool
    server_issued: bool

    @property
    def ca_cert(self) -> Path:
        return self.directory / CA_CERT

    @property
    def server_cert(self) -> Path:
        return self.directory / SERVER_CERT

    @property
    def server_key(self) -> Path:
        return self.directory / SERVER_KEY


def tls_dir(data_dir: Path) -> Path:
    return Path(data_dir) / TLS_DIR


def ca_cert_path(data_dir: Path) -> Path:
    """The public CA certificate clients pass as ``AWS_CA_BUNDLE`` / ``--ca-bundle``."""
    return tls_dir(data_dir) / CA_CERT


def server_names(host: str) -> tuple[str, ...]:
    """The subject alternative names for a server bound to ``host`` (order kept, no repeats).

    An unspecified bind address (``0.0.0.0``, ``::``) is no name a client can use; the machine's
    host name is added instead, so clients on the network can reach it by name.
    """
    names = list(BASE_NAMES)
    extra = host.strip().strip("[]").lower()
    try:
        if ipaddress.ip_address(extra).is_unspecified:
            extra = socket.gethostname().lower()
    except ValueError:
        pass
    if extra and extra not in names and _general_name(extra) is not None:
        names.append(extra)
    return tuple(names)


def ensure_server_certificate(data_dir: Path, sealer: Sealer, *, host: str, now: datetime) -> TlsMaterial:
    """Creates the CA if there is none and (re)issues the server certificate when needed."""
    directory = tls_dir(data_dir)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(directory / LOCK):
            ca_key, ca_cert, created = _load_or_create_ca(directory, sealer, now)
            issued = False
            if created or not _server_is_current(directory, sealer, ca_cert, server_names(host), now):
                _issue_server(directory, sealer, ca_key, ca_cert, server_names(host), now)
                issued = True
    except OSError as error:
        raise TlsError(f"cannot use {error.filename or directory}: {error.strerror}; "
                       f"check the data directory's permissions") from None
    return TlsMaterial(directory, created, issued)


def server_ssl_context(material: TlsMaterial, sealer: Sealer) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 and later, HTTP/1.1) with the issued certificate."""
    try:
        key = _open_key(material.server_key, sealer, SERVER_KEY_CONTEXT)
    except FileNotFoundError as error:
        raise TlsError(f"{error.filename} is missing; restart cloudkeep serve --tls to issue it") from None
    password = os.urandom(32).hex().encode()
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(password))
    del key
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # AWS endpoints require TLS 1.2 at least
    # (https://aws.amazon.com/blogs/security/tls-1-2-required-for-aws-endpoints/)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    with _private_file(encrypted) as key_path:
        try:
            context.load_cert_chain(str(material.server_cert), key_path, password=password)
        except ssl.SSLError as error:
            raise TlsError(f"{material.server_cert} does not match its key ({error.reason}); "
                           f"delete it and restart to issue a new one") from None
    return context


# --- the CA ---------------------------------------------------------------------------------------


def _load_or_create_ca(directory: Path, sealer: Sealer,
                       now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, bool]:
    key_path, cert_path = directory / CA_KEY, directory / CA_CERT
    if not key_path.exists():
        key, cert = _new_ca(now)
        # the public certificate first: a start interrupted in between leaves no key without
        # its certificate, and the next start simply creates the CA again
        _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        _write_atomic(key_path, sealer.seal(_der(key), context=CA_KEY_CONTEXT), 0o600)
        return key, cert, True
    key = _open_key(key_path, sealer, CA_KEY_CONTEXT)
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except FileNotFoundError:
        raise TlsError(f"{cert_path} is missing but its key is there; move {directory} away to "
                       f"create a new CA (clients must then trust the new {CA_CERT})") from None
    except ValueError:
        raise TlsError(f"{cert_path} is not a PEM certificate; move {directory} away to create a new CA") from None
    if cert.public_key() != key.public_key():
        raise TlsError(f"{cert_path} does not belong to {key_path}; move {directory} away to create a new CA")
    if now >= cert.not_valid_after_utc:
        raise TlsError(f"the local CA in {cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}; "
                       f"move {directory} away to create a new one")
    return key, cert, False


def _new_ca(now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cloudkeep"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"cloudkeep local CA {os.urandom(4).hex()}")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


# --- the server certificate -------------------------------------------------------------------------


def _server_is_current(directory: Path, sealer: Sealer, ca_cert: x509.Certificate,
                       names: tuple[str, ...], now: datetime) -> bool:
    try:
        chain = x509.load_pem_x509_certificates((directory / SERVER_CERT).read_bytes())
        key = _open_key(directory / SERVER_KEY, sealer, SERVER_KEY_CONTEXT)
    except (FileNotFoundError, ValueError, TlsError):
        return False
    cert = chain[0]
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return (cert.public_key() == key.public_key()
            and cert.not_valid_before_utc <= now
            and cert.not_valid_after_utc - now > RENEW_BEFORE
            and _names_of(cert) == {_general_name(n) for n in names})


def _issue_server(directory: Path, sealer: Sealer, ca_key: ec.EllipticCurvePrivateKey,
                  ca_cert: x509.Certificate, names: tuple[str, ...], now: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [g for g in (_general_name(n) for n in names) if g is not None]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    not_after = min(now + SERVER_VALIDITY, ca_cert.not_valid_after_utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    # the key first: a start interrupted in between leaves a certificate that no longer matches
    # its key, which the next start notices and issues again
    _write_atomic(directory / SERVER_KEY, sealer.seal(_der(key), context=SERVER_KEY_CONTEXT), 0o600)
    pem = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    _write_atomic(directory / SERVER_CERT, pem, 0o644)


def _general_name(name: str) -> x509.GeneralName | None:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        return x509.DNSName(name.encode("idna").decode("ascii") if not name.isascii() else name)
    except (UnicodeError, ValueError):
        return None


def _names_of(cert: x509.Certificate) -> set[x509.GeneralName | None]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return set(san)


# --- keys and files -----------------------------------------------------------------------------------


def _der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _open_key(path: Path, sealer: Sealer, context: bytes) -> ec.EllipticCurvePrivateKey:
    sealed = path.read_bytes()  # FileNotFoundError passes up
    try:
        der = sealer.open(sealed, context=context)
    except SealError:
        raise TlsError(f"{path} does not open with this master key; restore the master key it was "
                       f"sealed under, or move {path.parent} away to create a new CA") from None
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"{path} holds an unexpected kind of key; move {path.parent} away")
    return key


def _write_atomic(path: Path, content: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            os.fchmod(fd, mode)
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no advisory locks on this platform
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _private_file(content: bytes) -> Iterator[str]:
    """A path OpenSSL can read ``content`` from, gone when the block ends.

    Linux: an anonymous memory file (never on disk). Elsewhere: a 0600 file in a fresh 0700
    temporary directory, removed right after.
    """
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("cloudkeep-tls-key", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, content)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    folder = tempfile.mkdtemp(prefix="cloudkeep-tls-")  # mode 0700
    path = os.path.join(folder, "key.pem")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content)
        finally:
            os.close(fd)
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(folder)
