"""The root of trust: the 32-byte master key everything secret is sealed under.

Owns: taking the key from ``CLOUDKEEP_MASTER_KEY`` (base64, handed over by ``config.py``) or
else from ``<data_dir>/master.key``, which is created at first start with mode 0600 (atomically:
written to a private temporary file, then hard-linked into place, so concurrent workers never
see a half-written key and never create two). An existing key file whose mode lets anyone but
its owner in, that is not a regular file, or whose content is not base64 of 32 bytes, stops the
server with a one-line ``MasterKeyError`` saying what to fix.

Must not: read the environment itself; log or print the key; ever replace an existing key file.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Final

KEY_BYTES: Final = 32
KEY_FILE_NAME: Final = "master.key"


class MasterKeyError(Exception):
    """The master key is unusable; the message is one line that says what to do."""


def load_or_create_master_key(data_dir: Path, env_value: str | None) -> bytes:
    """The master key: from ``env_value`` if given, else ``<data_dir>/master.key``."""
    if env_value is not None:
        return _decode(env_value, "CLOUDKEEP_MASTER_KEY")
    path = Path(data_dir) / KEY_FILE_NAME
    try:
        try:
            return _read_key_file(path)
        except FileNotFoundError:
            pass
        _create_key_file(path)
        return _read_key_file(path)
    except OSError as error:
        raise MasterKeyError(f"cannot use {error.filename or path}: {error.strerror}; "
                             f"check the data directory's permissions") from None


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise MasterKeyError(
            f"{where} is not a base64-encoded {KEY_BYTES}-byte key; "
            f"generate one with: python -c \"import os,base64;print(base64.b64encode(os.urandom(32)).decode())\"")
    return key


def _read_key_file(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)  # FileNotFoundError passes up
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MasterKeyError(f"{path} is not a regular file; move it away and restart")
        if info.st_mode & 0o077:
            raise MasterKeyError(
                f"{path} has mode {stat.S_IMODE(info.st_mode):04o}, which lets other users read "
                f"the master key; run: chmod 600 {path}")
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            raise MasterKeyError(f"{path} is owned by uid {info.st_uid}, not by the user running "
                                 f"cloudkeep (uid {os.geteuid()}); fix its owner")
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = "!"
    return _decode(text, str(path))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    content = base64.b64encode(os.urandom(KEY_BYTES)) + b"\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        temporary.unlink()  # left over by a crashed start of a process with the same pid
    except FileNotFoundError:
        pass
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)  # fails if another worker created the key first: use theirs
    except FileExistsError:
        pass
    except OSError:
        _create_in_place(path, content)  # a file system without hard links
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _create_in_place(path: Path, content: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
