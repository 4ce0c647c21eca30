"""S3 Bucket Keys: a bucket-level key from KMS, reused for a while, from which S3 makes each
object's data key, so SSE-KMS writes and reads call KMS far less often.

With a Bucket Key, S3 asks KMS for a data key under the bucket's ARN as encryption context
(``{"aws:s3:arn": "arn:aws:s3:::<bucket>"}``) and keeps it for a time-limited period; each
object's own data key is random and kept wrapped (AES-256-GCM) under that bucket-level key, next
to KMS's ciphertext of the bucket-level key. A read opens the bucket-level key with KMS's
Decrypt, or from the cache while it is fresh.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html ("S3 Bucket Keys are used
for a time-limited period within Amazon S3, reducing the need for Amazon S3 to make requests to
AWS KMS"; not for DSSE-KMS.)

What is cached, and for whom: a bucket-level key is kept per requester (principal ARN), so every
principal goes through KMS's authorization (its key policy, grants and IAM policies, with
``kms:ViaService``) at least once per period, and a key is never shared between principals;
entries expire after ``PERIOD`` on the domain clock (so ``/_cloudkeep/test/clock/advance`` ends
them), and at most ``LIMIT`` entries of each kind are kept (the oldest go first). Within the
period a requester whose KMS permission was revoked, or whose KMS key was disabled, goes on using
the key it holds, as the time-limited reuse implies; after it, KMS decides again.

Must not: call KMS other than through the caller's function (``sse._kms``, the service port);
store a plaintext key anywhere but this process's memory.
"""

from __future__ import annotations

import collections
import datetime as _dt
import hashlib
import threading
from typing import Any, Callable, Final, Mapping

PERIOD: Final = _dt.timedelta(minutes=5)
LIMIT: Final = 1024

_lock = threading.Lock()
#: (principal ARN, bucket, KMS key as requested, encryption context) → (plaintext, ciphertext, KMS key ARN, expiry)
_issued: "collections.OrderedDict[tuple[str, ...], tuple[bytes, bytes, str, _dt.datetime]]" = collections.OrderedDict()
#: (principal ARN, SHA-256 of the ciphertext) → (plaintext, expiry)
_opened: "collections.OrderedDict[tuple[str, bytes], tuple[bytes, _dt.datetime]]" = collections.OrderedDict()


def _keep(cache: "collections.OrderedDict[Any, Any]", key: Any, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > LIMIT:
        cache.popitem(last=False)


def _fresh(cache: "collections.OrderedDict[Any, Any]", key: Any, now: _dt.datetime) -> Any:
    found = cache.get(key)
    if found is None:
        return None
    if found[-1] <= now:
        del cache[key]
        return None
    return found


def for_write(principal_arn: str, bucket: str, kms_key: str, context: Mapping[str, str], now: _dt.datetime,
              generate: Callable[[], Mapping[str, Any]]) -> tuple[bytes, bytes, str]:
    """(plaintext, KMS ciphertext, KMS key ARN) of the requester's bucket-level key for this KMS key
    and context; ``generate`` (KMS's GenerateDataKey for the caller) runs when none is fresh."""
    cache_key = (principal_arn, bucket, kms_key, repr(sorted(context.items())))
    with _lock:
        found = _fresh(_issued, cache_key, now)
    if found is not None:
        return found[0], found[1], found[2]
    out = generate()
    plaintext, ciphertext, arn = bytes(out["Plaintext"]), bytes(out["CiphertextBlob"]), str(out["KeyId"])
    with _lock:
        _keep(_issued, cache_key, (plaintext, ciphertext, arn, now + PERIOD))
        _keep(_opened, (principal_arn, hashlib.sha256(ciphertext).digest()), (plaintext, now + PERIOD))
    return plaintext, ciphertext, arn


def for_read(principal_arn: str, ciphertext: bytes, now: _dt.datetime, decrypt: Callable[[], Mapping[str, Any]]
             ) -> bytes:
    """The plaintext of a bucket-level key for the requester; ``decrypt`` (KMS's Decrypt for the
    caller) runs when the requester holds none fresh."""
    cache_key = (principal_arn, hashlib.sha256(ciphertext).digest())
    with _lock:
        found = _fresh(_opened, cache_key, now)
    if found is not None:
        return found[0]
    plaintext = bytes(decrypt()["Plaintext"])
    with _lock:
        _keep(_opened, cache_key, (plaintext, now + PERIOD))
    return plaintext
