"""What S3's operations share: the operation registry, the bucket a handler works on, the
account's canonical user id (the Owner S3 shows), times, and pagination tokens.

Must not: hold SQL (``repository.py``) or rules (``domain.py``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import secrets

from cloudkeep.services.framework import Call, Operations
from cloudkeep.storage.uow import NeedsWrite

from . import errors as X
from . import repository as repo
from .entities import Bucket

operation = Operations()


def now(call: Call) -> _dt.datetime:
    """The domain clock to the millisecond (S3's timestamps carry milliseconds)."""
    moment = call.clock.now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def bucket_of(call: Call, name: str) -> Bucket:
    """The bucket the authorize stage resolved (NoSuchBucket when it went away meanwhile)."""
    found = repo.get_bucket(call.uow, name)
    if found is None:
        raise X.no_such_bucket(name)
    return found


def lock_bucket(call: Call, name: str) -> tuple[Bucket, int]:
    """The bucket as it is now with its row locked until commit, and the next version sequence
    number (every object write starts so); NoSuchBucket when it went away meanwhile."""
    found = repo.lock_bucket(call.uow, name)
    if found is None:
        raise X.no_such_bucket(name)
    return found


def canonical_id(call: Call, account_id: str) -> str:
    """The account's canonical user id: 64 random hex digits made on first use and kept. A read
    that finds none asks for a write unit of work (the pipeline runs it again)."""
    found = repo.canonical_id(call.uow, account_id)
    if found is not None:
        return found
    if not call.uow.write:
        raise NeedsWrite()
    canonical = secrets.token_hex(32)
    try:
        with call.uow.savepoint():
            repo.add_canonical_id(call.uow, account_id, canonical)
    except Exception:  # noqa: BLE001 - another request made it first: use that one
        call.uow.memo.clear()
        found = repo.canonical_id(call.uow, account_id)
        if found is None:
            raise
        return found
    return canonical


def owner(call: Call, account_id: str) -> dict[str, str]:
    """S3's Owner element: the canonical id (DisplayName is no longer returned since November 2025:
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_Owner.html)."""
    return {"ID": canonical_id(call, account_id)}


def release_read(call: Call) -> None:
    """End the transaction the authorize stage read in, before a long body is streamed: nothing
    has been written yet, and holding a write transaction (SQLite's write lock) for the length
    of an upload would stall every other writer. What the operation writes afterwards begins a
    new transaction, which re-reads what it relies on."""
    if call.uow.wrote:            # pragma: no cover - a programming error, never on a request
        raise RuntimeError("release_read after a write")
    call.uow.commit()
    call.uow.memo.clear()


def end_read(call: Call) -> None:
    """``release_read`` for a write that may already have written before its body streams (the
    AWS managed KMS key made on first use): that change commits now, on its own."""
    if call.uow.wrote:
        call.uow.commit()
        call.uow.memo.clear()
    else:
        release_read(call)


def encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode("utf-8", "surrogatepass")).decode("ascii")


def decode_token(token: str, *, name: str = "continuation-token") -> str:
    """A continuation token this server handed out; InvalidArgument for any other."""
    try:
        padded = token + "=" * (-len(token) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError, UnicodeError):
        raise X.invalid_argument("The continuation token provided is incorrect", name, token) from None
