"""Server-side encryption schemes beyond SSE-S3: what a write asks for (its headers, else the
bucket's default encryption), and how each scheme keeps an object's data key.

- SSE-S3 (``AES256``): the data key sealed under the root of trust (``bodies.py``).
- SSE-KMS (``aws:kms``, ``aws:kms:dsse``): the data key comes from KMS's GenerateDataKey and is
  kept as KMS's ciphertext; a read asks KMS to Decrypt it. Both calls go through the service
  port, so KMS authorizes them for the caller with ``aws:CalledVia``/``kms:ViaService`` = S3,
  under the encryption context ``{"aws:s3:arn": <object ARN>}`` (the bucket ARN with S3 Bucket
  Keys) plus the caller's own context. Without a key id, S3 uses the account's AWS managed key
  ``aws/s3``, created on first use. KMS's errors reach the client as S3 answers them:
  ``KMS.DisabledException``, ``KMS.KMSInvalidStateException``, ``KMS.NotFoundException`` (400),
  and ``AccessDenied`` (403) when KMS refuses the caller.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html,
  https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
  (DSSE-KMS is recorded and answered as such; cloudkeep applies one layer of encryption.)
- SSE-C: the client sends its 256-bit key with every request; S3 keeps only a salted HMAC of it
  to recognise it on reads, and (here) the object's data key wrapped under it with AES-GCM, which
  only that key opens. Requests must come over HTTPS.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html

The protection's ``sealed_key`` holds, for SSE-KMS, ``b"KMS1" | header length (2) | JSON header
(key ARN, encryption context, bucket key) | KMS ciphertext``; with an S3 Bucket Key
(``bucket_keys.py``: the bucket-level key from KMS, reused for a while) ``b"KMB1" | header length
(2) | JSON header | ciphertext length (2) | the bucket-level key's KMS ciphertext | nonce (12) |
the object's data key wrapped under the bucket-level key (48)``; for SSE-C ``b"SSC1" | salt (16) |
HMAC-SHA256(salt, key) (32) | nonce (12) | wrapped data key (48)``.

Must not: hold SQL, build whole responses, or call KMS other than through ``call.port``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any, Final, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudkeep.wire.errors import AccessDenied, ServiceError, service_error

from . import bucket_keys
from . import domain as D
from . import errors as X
from .entities import Bucket, Protection

KMS: Final = "aws:kms"
DSSE: Final = "aws:kms:dsse"
SSE_C: Final = "SSE-C"                      # sse_algorithm of an SSE-C object (never on the wire)
VIA: Final = "s3.amazonaws.com"
_KMS_MAGIC: Final = b"KMS1"
_BUCKET_KEY_MAGIC: Final = b"KMB1"
_BUCKET_KEY_AAD: Final = b"cloudkeep/s3/bucket-key/v1\x00"
_SSEC_MAGIC: Final = b"SSC1"
_SSEC_AAD: Final = b"cloudkeep/s3/sse-c/v1\x00"

SECURE_ONLY: Final = ("Requests specifying Server Side Encryption with Customer provided keys must be made over a "
                      "secure connection.")
NEEDS_KEY: Final = ("The object was stored using a form of Server Side Encryption. The correct parameters must be "
                    "provided to retrieve the object.")
NOT_APPLICABLE: Final = "The encryption parameters are not applicable to this object."


@dataclass(frozen=True, slots=True)
class Request:
    """The encryption a write asked for, resolved against the bucket's default."""

    algorithm: str                           # AES256 | aws:kms | aws:kms:dsse | SSE-C
    kms_key: str | None = None               # as the request or the default names it; None: aws/s3
    context: Mapping[str, str] = field(default_factory=dict)    # the caller's encryption context
    bucket_key: bool = False
    customer_key: bytes | None = None
    customer_key_md5: str | None = None
    context_header: str | None = None        # as sent (echoed on PutObject)


# --- what a request asks for ----------------------------------------------------------------------


def customer_key(params: Mapping[str, Any], *, secure: bool, prefix: str = "SSECustomer",
                 header: str = "x-amz-server-side-encryption-customer",
                 read: bool = False) -> tuple[bytes, str] | None:
    """(key, its MD5 in base64) of the SSE-C headers (``prefix`` CopySourceSSECustomer for a copy
    source), None without any; S3's errors for an incomplete or wrong set, or plain HTTP. A read
    (``read``: GET, HEAD, a copy source) may leave out the key's MD5, and a key of the wrong length
    is refused there as a wrong key (403), as AWS answers (an S3 compliance suite's GetObject SSE-C
    tests, recorded against AWS: a GET without the key MD5 "AWS returns 200 OK"; "AWS returns 403
    Forbidden for invalid key length on GetObject (unlike PutObject which returns 400)"; a wrong
    key 403; a key MD5 that does not match 400)."""
    algorithm, key, md5 = (params.get(f"{prefix}Algorithm"), params.get(f"{prefix}Key"),
                           params.get(f"{prefix}KeyMD5"))
    if algorithm is None and key is None and md5 is None:
        return None
    if not secure:
        raise X.InvalidRequest(SECURE_ONLY)
    if algorithm is None:
        raise X.invalid_argument("Requests specifying Server Side Encryption with Customer provided keys must "
                                 "provide a valid encryption algorithm.", f"{header}-algorithm", "null")
    if algorithm != D.AES256:
        raise X.invalid_argument("The encryption algorithm specified is not valid", f"{header}-algorithm",
                                 algorithm)
    if key is None:
        raise X.invalid_argument("Requests specifying Server Side Encryption with Customer provided keys must "
                                 "provide an appropriate secret key.", f"{header}-key", "null")
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    computed = base64.b64encode(hashlib.md5(raw).digest()).decode()  # noqa: S324 - S3's key MD5
    if md5 is not None and not hmac.compare_digest(md5, computed):
        raise X.invalid_argument("The calculated MD5 hash of the key did not match the hash that was provided.",
                                 f"{header}-key-MD5", md5)
    if len(raw) != 32:
        if read:
            raise X.AccessDenied("Access Denied")
        raise X.invalid_argument("The secret key was invalid for the specified algorithm.", f"{header}-key",
                                 "null")
    if md5 is None and read:
        return raw, computed
    if md5 is None:
        raise X.invalid_argument("Requests specifying Server Side Encryption with Customer provided keys must "
                                 "provide the client calculated MD5 of the secret key.", f"{header}-key-MD5",
                                 "null")
    return raw, computed


def _context(header: str | None) -> dict[str, str]:
    """x-amz-server-side-encryption-context: base64 of a JSON string-to-string map."""
    if header is None:
        return {}
    try:
        value = json.loads(base64.b64decode(header.encode("ascii"), validate=True).decode("utf-8"))
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in value.items()):
            raise ValueError
    except (ValueError, UnicodeError, binascii.Error):
        raise X.invalid_argument("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 "
                                 "string holding JSON which represents a string-string map",
                                 "x-amz-server-side-encryption-context", header) from None
    if "aws:s3:arn" in value:
        raise X.invalid_argument("Encryption context keys cannot begin with the prefix aws:",
                                 "x-amz-server-side-encryption-context", header)
    return value


def _rule(bucket: Bucket) -> Mapping[str, Any]:
    return ((bucket.encryption or {}).get("Rules") or [{}])[0]


def requested(params: Mapping[str, Any], bucket: Bucket, *, secure: bool) -> Request:
    """The encryption of a PutObject, CopyObject or CreateMultipartUpload: its headers, else the
    bucket's default encryption. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html"""
    sse = params.get("ServerSideEncryption")
    kms_key, context_header = params.get("SSEKMSKeyId"), params.get("SSEKMSEncryptionContext")
    bucket_key = params.get("BucketKeyEnabled")
    customer = customer_key(params, secure=secure)
    if customer is not None:
        if sse is not None or kms_key is not None:
            raise X.invalid_argument("Server Side Encryption with Customer provided key is incompatible with the "
                                     "encryption method specified", "x-amz-server-side-encryption", sse or "null")
        if "SSE-C" in (_rule(bucket).get("BlockedEncryptionTypes") or {}).get("EncryptionType", ()):
            # "rejected with an HTTP 403 AccessDenied error" (blocking-unblocking-s3-c-encryption-gpb.html)
            raise X.AccessDenied("Access Denied")
        return Request(SSE_C, customer_key=customer[0], customer_key_md5=customer[1])
    if sse is not None and sse not in (D.AES256, KMS, DSSE):
        raise X.invalid_argument("The encryption method specified is not supported", "x-amz-server-side-encryption",
                                 sse)
    if (kms_key is not None or context_header is not None) and sse not in (KMS, DSSE):
        raise X.invalid_argument("Server Side Encryption with AWS KMS managed key requires HTTP header "
                                 "x-amz-server-side-encryption : aws:kms", "x-amz-server-side-encryption-aws-kms-key-id",
                                 kms_key or "null")
    rule = _rule(bucket)
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    if sse is None:
        sse = default.get("SSEAlgorithm") or D.AES256
        if sse != D.AES256:
            kms_key = default.get("KMSMasterKeyID")
    if sse == D.AES256:
        return Request(D.AES256)
    if bucket_key is None:
        bucket_key = bool(rule.get("BucketKeyEnabled")) and sse == default.get("SSEAlgorithm")
    return Request(sse, kms_key=kms_key or None, context=_context(context_header), bucket_key=bool(bucket_key),
                   context_header=context_header)


# --- keeping the data key -------------------------------------------------------------------------


def _kms(call: Any, operation: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """A KMS operation for the caller, through the port; KMS's errors as S3 answers them."""
    if call.port is None:   # pragma: no cover - every request's Call has a port
        raise RuntimeError("no service port")
    try:
        return call.port.call("kms", operation, params, via=VIA)
    except AccessDenied:
        raise
    except ServiceError as error:
        if error.status >= 500:
            raise
        raise service_error(f"KMS.{error.code}", 400, error.message) from None


def _encryption_context(call: Any, bucket: str, key: str, request: Request) -> dict[str, str]:
    arn = D.bucket_arn(call.partition, bucket) if request.bucket_key else D.object_arn(call.partition, bucket, key)
    return {**request.context, "aws:s3:arn": arn}


def protect(call: Any, bucket: Bucket, key: str, request: Request,
            data_key: bytes | None = None) -> tuple[bytes, Protection]:
    """A data key for a body written to ``bucket``/``key`` and its protection: ``data_key``
    when given (a spooled body's, ``bodies.adoptable_key``) and the scheme makes its own keys
    (SSE-S3, SSE-C, SSE-KMS with a Bucket Key), else a fresh one (SSE-KMS without a Bucket Key
    takes the one KMS generates)."""
    from . import bodies

    if request.algorithm == D.AES256:
        return bodies.new_protection(call, bucket.name, data_key)
    key_id = secrets.token_hex(16)
    if request.algorithm == SSE_C:
        assert request.customer_key is not None
        data_key = data_key or bodies.new_data_key()
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        mac = hmac.new(salt, request.customer_key, hashlib.sha256).digest()
        wrapped = AESGCM(request.customer_key).encrypt(nonce, data_key, _SSEC_AAD + key_id.encode())
        return data_key, Protection(SSE_C, key_id, _SSEC_MAGIC + salt + mac + nonce + wrapped)
    kms_key = request.kms_key
    if kms_key is None:
        from cloudkeep.services.kms import managed

        kms_key = managed.ensure(call.uow, call.sealer, call.ids, call.clock.now(), partition=call.partition,
                                 account_id=bucket.account_id, region=bucket.region, service="s3")
    context = _encryption_context(call, bucket.name, key, request)

    def generate() -> Mapping[str, Any]:
        return _kms(call, "GenerateDataKey", {"KeyId": kms_key, "KeySpec": "AES_256", "EncryptionContext": context})

    if request.bucket_key and request.algorithm == KMS:    # no Bucket Keys for DSSE-KMS (bucket-key.html)
        bucket_key, ciphertext, arn = bucket_keys.for_write(call.principal.arn, bucket.name, kms_key, context,
                                                            call.clock.now(), generate)
        data_key = data_key or bodies.new_data_key()
        nonce = secrets.token_bytes(12)
        wrapped = AESGCM(bucket_key).encrypt(nonce, data_key, _BUCKET_KEY_AAD + key_id.encode())
        header = json.dumps({"arn": arn, "context": context, "bucket_key": True}, separators=(",", ":")).encode()
        sealed = (_BUCKET_KEY_MAGIC + struct.pack(">H", len(header)) + header + struct.pack(">H", len(ciphertext))
                  + ciphertext + nonce + wrapped)
        return data_key, Protection(request.algorithm, key_id, sealed)
    out = generate()
    header = json.dumps({"arn": out["KeyId"], "context": context, "bucket_key": request.bucket_key},
                        separators=(",", ":")).encode()
    sealed = _KMS_MAGIC + struct.pack(">H", len(header)) + header + bytes(out["CiphertextBlob"])
    return bytes(out["Plaintext"]), Protection(request.algorithm, key_id, sealed)


def _kms_parts(protection: Protection) -> tuple[Mapping[str, Any], bytes]:
    """(header, KMS ciphertext) of an SSE-KMS protection; with a Bucket Key the ciphertext is the
    bucket-level key's (``_bucket_key_parts`` has the object's wrapped key too)."""
    sealed = protection.sealed_key
    if sealed.startswith(_BUCKET_KEY_MAGIC):
        header, ciphertext, _, _ = _bucket_key_parts(sealed)
        return header, ciphertext
    if not sealed.startswith(_KMS_MAGIC):
        raise RuntimeError("not an SSE-KMS protection")
    (length,) = struct.unpack(">H", sealed[4:6])
    return json.loads(sealed[6:6 + length]), sealed[6 + length:]


def _bucket_key_parts(sealed: bytes) -> tuple[Mapping[str, Any], bytes, bytes, bytes]:
    """(header, bucket-level key's KMS ciphertext, nonce, wrapped data key) of a Bucket Key protection."""
    (length,) = struct.unpack(">H", sealed[4:6])
    at = 6 + length
    (size,) = struct.unpack(">H", sealed[at:at + 2])
    ciphertext = sealed[at + 2:at + 2 + size]
    rest = sealed[at + 2 + size:]
    return json.loads(sealed[6:6 + length]), ciphertext, rest[:12], rest[12:]


def open_key(call: Any, bucket: str, protection: Protection, customer: tuple[bytes, str] | None) -> bytes:
    """The data key of a stored body: SSE-S3 from the root of trust, SSE-KMS through KMS's
    Decrypt (for the caller), SSE-C with the client's key (403 when it is not the one)."""
    from . import bodies

    if protection.sse_algorithm == SSE_C:
        if customer is None:
            raise X.InvalidRequest(NEEDS_KEY)
        sealed = protection.sealed_key
        salt, mac, nonce, wrapped = sealed[4:20], sealed[20:52], sealed[52:64], sealed[64:]
        if not hmac.compare_digest(hmac.new(salt, customer[0], hashlib.sha256).digest(), mac):
            raise X.AccessDenied("Access Denied")
        try:
            return AESGCM(customer[0]).decrypt(nonce, wrapped, _SSEC_AAD + protection.key_id.encode())
        except InvalidTag:
            raise X.AccessDenied("Access Denied") from None
    if customer is not None:
        raise X.InvalidRequest(NOT_APPLICABLE)
    if protection.sse_algorithm in (KMS, DSSE):
        if protection.sealed_key.startswith(_BUCKET_KEY_MAGIC):
            header, ciphertext, nonce, wrapped = _bucket_key_parts(protection.sealed_key)
            bucket_key = bucket_keys.for_read(call.principal.arn, ciphertext, call.clock.now(), lambda: _kms(
                call, "Decrypt", {"CiphertextBlob": ciphertext, "EncryptionContext": header["context"],
                                  "KeyId": header["arn"]}))
            try:
                return AESGCM(bucket_key).decrypt(nonce, wrapped, _BUCKET_KEY_AAD + protection.key_id.encode())
            except InvalidTag:
                raise RuntimeError("an object's data key did not authenticate under its bucket key") from None
        header, blob = _kms_parts(protection)
        out = _kms(call, "Decrypt", {"CiphertextBlob": blob, "EncryptionContext": header["context"],
                                     "KeyId": header["arn"]})
        return bytes(out["Plaintext"])
    return bodies.data_key(call, bucket, protection)


def check_readable(protection: Protection | None, customer: tuple[bytes, str] | None) -> None:
    """HEAD's checks of SSE-C parameters (HEAD decrypts nothing but S3 still asks for the key)."""
    if protection is None:
        return
    if protection.sse_algorithm == SSE_C:
        if customer is None:
            raise X.InvalidRequest(NEEDS_KEY)
        sealed = protection.sealed_key
        if not hmac.compare_digest(hmac.new(sealed[4:20], customer[0], hashlib.sha256).digest(), sealed[20:52]):
            raise X.AccessDenied("Access Denied")
    elif customer is not None:
        raise X.InvalidRequest(NOT_APPLICABLE)


def describe(protection: Protection | None, customer_md5: str | None = None) -> dict[str, Any]:
    """The encryption members of a response about a body kept under ``protection``."""
    if protection is None:
        return {"ServerSideEncryption": D.AES256}
    if protection.sse_algorithm == SSE_C:
        out: dict[str, Any] = {"SSECustomerAlgorithm": D.AES256}
        if customer_md5 is not None:
            out["SSECustomerKeyMD5"] = customer_md5
        return out
    if protection.sse_algorithm in (KMS, DSSE):
        header, _ = _kms_parts(protection)
        out = {"ServerSideEncryption": protection.sse_algorithm, "SSEKMSKeyId": header["arn"]}
        if header.get("bucket_key"):
            out["BucketKeyEnabled"] = True
        return out
    return {"ServerSideEncryption": D.AES256}


def etag(protection: Protection, md5: bytes) -> str:
    """The ETag of a body written in one request: the MD5 of the plaintext for SSE-S3; for SSE-C
    and SSE-KMS an opaque value that is not ("Objects … encrypted by SSE-C or SSE-KMS, have ETags
    that are not an MD5 digest of their object data":
    https://docs.aws.amazon.com/AmazonS3/latest/API/RESTCommonResponseHeaders.html), here an HMAC
    of that MD5 under the row's random key id."""
    if protection.sse_algorithm in (KMS, DSSE, SSE_C):
        return D.etag(hmac.new(protection.key_id.encode(), md5, hashlib.md5).digest())
    return D.etag(md5)


def written(protection: Protection, request: Request) -> dict[str, Any]:
    """The encryption members of a write's response."""
    out = describe(protection, request.customer_key_md5)
    if request.context_header is not None:
        out["SSEKMSEncryptionContext"] = request.context_header
    return out
