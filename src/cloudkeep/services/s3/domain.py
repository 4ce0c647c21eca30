"""S3's rules as pure functions and values: bucket names and locations, tags, keys and user
metadata, storage classes and checksum algorithms, ETags, version ids, bucket policies (byte
ranges and conditional requests are in ``conditions.py``).

Pages: bucket naming https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html;
CreateBucket https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html; tagging
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html; keys and metadata
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html.

Must not: do I/O or read the clock (times are passed in).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import ipaddress
import re
from typing import Any, Final, Iterable, Mapping
from urllib.parse import parse_qsl

from . import errors as X

# --- buckets ---------------------------------------------------------------------------------------

_BUCKET_CHARS: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES: Final = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES: Final = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
US_EAST_1: Final = "us-east-1"
#: the legacy location constraint "EU" is Europe (Ireland)
LEGACY_CONSTRAINTS: Final = {"EU": "eu-west-1"}

#: a new bucket's default encryption: SSE-S3, and SSE-C blocked for new objects ("Starting April
#: 2026, Amazon S3 automatically disables … SSE-C for all new general purpose buckets":
#: https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html)
DEFAULT_ENCRYPTION: Final = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                        "BucketKeyEnabled": False,
                                        "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]}
AES256: Final = "AES256"
BUCKET_OWNER_ENFORCED: Final = "BucketOwnerEnforced"


def check_bucket_name(name: str) -> None:
    """General purpose bucket naming rules: 3–63 characters of a–z, 0–9, '.' and '-', beginning
    and ending with a letter or digit, no '..', not an IP address, none of the reserved
    prefixes and suffixes."""
    if (_BUCKET_CHARS.fullmatch(name) is None or ".." in name or name.startswith(_RESERVED_PREFIXES)
            or name.endswith(_RESERVED_SUFFIXES) or _is_ip(name)):
        raise X.InvalidBucketName(X.InvalidBucketName.MESSAGE, extra={"BucketName": name})


def _is_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def bucket_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:s3:::{name}"


def object_arn(partition: str, bucket: str, key: str) -> str:
    return f"arn:{partition}:s3:::{bucket}/{key}"


def create_location(request_region: str, constraint: str | None, valid_regions: Iterable[str]) -> str:
    """The region a CreateBucket request creates its bucket in, or S3's error.

    Through the us-east-1 (global) endpoint a bucket may be created in any region its
    LocationConstraint names, and without one in us-east-1; "us-east-1" itself is never a valid
    constraint. Through another region's endpoint the constraint must name that region.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html"""
    region = LEGACY_CONSTRAINTS.get(constraint or "", constraint)
    if constraint is not None and (region == US_EAST_1 or region not in set(valid_regions)):
        raise X.InvalidLocationConstraint(X.InvalidLocationConstraint.MESSAGE,
                                          extra={"LocationConstraint": constraint})
    if request_region == US_EAST_1:
        return region or US_EAST_1
    if region != request_region:
        shown = "unspecified" if constraint is None else constraint
        raise X.IllegalLocationConstraintException(
            f"The {shown} location constraint is incompatible for the region specific endpoint this request "
            f"was sent to.")
    return region


# --- tags --------------------------------------------------------------------------------------------

_TAG_CHARS: Final = re.compile(r"[\w\s+\-=._:/@]*", re.UNICODE)
MAX_BUCKET_TAGS: Final = 50
MAX_OBJECT_TAGS: Final = 10


def check_tags(tags: Iterable[tuple[str, str]], *, limit: int, bucket: bool) -> dict[str, str]:
    """Validated tags as a dict (order kept). S3's InvalidTag texts: duplicate keys, too many,
    key 1–128 and value 0–256 characters, the allowed characters, no aws: prefix.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html"""
    out: dict[str, str] = {}
    for key, value in tags:
        if key in out:
            raise X.InvalidTag("Cannot provide multiple Tags with the same key",
                               extra={"TagKey": key})
        if not 1 <= len(key) <= 128 or _TAG_CHARS.fullmatch(key) is None:
            raise X.InvalidTag("The TagKey you have provided is invalid", extra={"TagKey": key})
        if len(value) > 256:
            raise X.InvalidTag("The TagValue you have provided is too long, max length is 256",
                               extra={"TagKey": key, "TagValue": value})
        if _TAG_CHARS.fullmatch(value) is None:
            raise X.InvalidTag("The TagValue you have provided is invalid", extra={"TagKey": key,
                                                                                   "TagValue": value})
        if key.lower().startswith("aws:"):
            raise X.InvalidTag("System tags cannot be added/updated by requester", extra={"TagKey": key})
        out[key] = value
    if len(out) > limit:
        # https://github.com/boto/boto3/issues/1213: "BadRequest … Object tags cannot be greater than 10"
        raise X.BadRequest(f"{'Bucket' if bucket else 'Object'} tags cannot be greater than {limit}")
    return out


def tag_set(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (Key, Value) pairs of a Tagging payload's TagSet."""
    tagging = params.get("Tagging") or {}
    return [(t.get("Key", ""), t.get("Value", "")) for t in tagging.get("TagSet") or []]


def tags_from_header(header: str | None) -> dict[str, str]:
    """x-amz-tagging: URL query form "k1=v1&k2=v2" (PutObject, CopyObject, CreateMultipartUpload)."""
    if not header:
        return {}
    try:
        pairs = parse_qsl(header, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise X.InvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                                "parameters without tag name duplicates.",
                                extra={"ArgumentName": "x-amz-tagging", "ArgumentValue": header}) from None
    return check_tags(pairs, limit=MAX_OBJECT_TAGS, bucket=False)


def wire_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# --- keys and metadata ----------------------------------------------------------------------------

MAX_KEY_BYTES: Final = 1024
MAX_USER_METADATA: Final = 2048
#: the standard headers stored with an object and returned on GET/HEAD
STANDARD_HEADERS: Final = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding",
                           "ContentLanguage", "Expires", "WebsiteRedirectLocation")


def check_key(key: str) -> None:
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise X.KeyTooLongError(X.KeyTooLongError.MESSAGE, extra={"Size": str(len(key.encode("utf-8", "surrogatepass"))),
                                                                  "MaxSizeAllowed": str(MAX_KEY_BYTES)})


def check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata (x-amz-meta-*), names lower-cased as S3 stores them; 2 KB at most
    (names and values, UTF-8)."""
    out = {str(k).lower(): str(v) for k, v in metadata.items()}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in out.items())
    if size > MAX_USER_METADATA:
        raise X.MetadataTooLarge(X.MetadataTooLarge.MESSAGE, extra={"Size": str(size),
                                                                    "MaxSizeAllowed": str(MAX_USER_METADATA)})
    return out


#: storage classes of general purpose buckets whose objects read back at once; the archive classes
#: (reads need a restore) are not implemented yet
STORAGE_CLASSES: Final = frozenset({"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                                    "INTELLIGENT_TIERING", "GLACIER_IR"})
ARCHIVE_CLASSES: Final = frozenset({"GLACIER", "DEEP_ARCHIVE"})
#: checksum algorithms S3 knows; cloudkeep computes the first five (auth/checksums.py)
KNOWN_CHECKSUMS: Final = frozenset({"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5", "XXHASH64",
                                    "XXHASH3", "XXHASH128"})


def storage_class(value: str | None) -> str:
    """x-amz-storage-class: InvalidStorageClass for a class general purpose buckets do not have."""
    if value is None:
        return "STANDARD"
    if value in ARCHIVE_CLASSES:
        raise X.NotImplementedS3(f"The {value} storage class is not implemented by cloudkeep yet.")
    if value not in STORAGE_CLASSES:
        raise X.InvalidStorageClass("The storage class you specified is not valid",
                                    extra={"StorageClassRequested": value})
    return value


def checksum_algorithm(value: str | None, header: str = "x-amz-sdk-checksum-algorithm") -> str | None:
    """A checksum algorithm named by a request: InvalidRequest for an unknown one, NotImplemented
    for one S3 has that cloudkeep cannot compute yet."""
    if value is None:
        return None
    algorithm = value.upper()
    if algorithm not in KNOWN_CHECKSUMS:
        raise X.InvalidRequest(f"Value for {header} header is invalid.")
    if algorithm not in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"):
        raise X.NotImplementedS3("The checksum algorithm you specified is not implemented by cloudkeep.")
    return algorithm


def standard_headers(params: Mapping[str, Any]) -> dict[str, Any]:
    """The standard headers of a request worth storing (Expires as an ISO text)."""
    out: dict[str, Any] = {}
    for name in STANDARD_HEADERS:
        value = params.get(name)
        if value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, _dt.datetime) else value
    out.setdefault("ContentType", "binary/octet-stream")
    return out


def headers_for_wire(stored: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(stored)
    if isinstance(out.get("Expires"), str):
        try:
            out["Expires"] = _dt.datetime.fromisoformat(out["Expires"])
        except ValueError:
            out.pop("Expires")
    return out


# --- ETags, versions, checksums ----------------------------------------------------------------------

NULL_VERSION: Final = "null"
MIN_PART_SIZE: Final = 5 * 1024 * 1024
MAX_PART_SIZE: Final = 5 * 1024 ** 3
MAX_PARTS: Final = 10_000
MAX_OBJECT_SIZE: Final = 5 * 1024 ** 4
MAX_PUT_SIZE: Final = 5 * 1024 ** 3
#: a single-part body of at most this many bytes is kept (encrypted) in its version's row, not as a
#: file: creating a file costs a small PUT more than everything else it does
INLINE_MAX: Final = 32 * 1024


def etag(md5: bytes) -> str:
    return f'"{md5.hex()}"'


def multipart_etag(part_md5s: Iterable[bytes]) -> str:
    """'"<md5 of the concatenated part MD5s>-<number of parts>"'."""
    digests = list(part_md5s)
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'  # noqa: S324 - S3's ETag


def new_version_id(token: bytes) -> str:
    """A 32-character URL-safe version id from 24 random bytes."""
    return base64.urlsafe_b64encode(token).decode("ascii")


def check_content_md5(value: str | None, computed: bytes) -> None:
    """Content-MD5 (base64 of the 16-byte digest): InvalidDigest when malformed, BadDigest when
    it is not the body's."""
    if value is None:
        return
    try:
        sent = base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        sent = b""
    if len(sent) != 16:
        raise X.InvalidDigest(X.InvalidDigest.MESSAGE, extra={"Content-MD5": value})
    if sent != computed:
        raise X.BadDigest("The Content-MD5 you specified did not match what we received.",
                          extra={"ExpectedDigest": sent.hex(), "CalculatedDigest": base64.b64encode(computed).decode()})


# --- bucket policies ---------------------------------------------------------------------------------

MAX_BUCKET_POLICY: Final = 20 * 1024


def check_bucket_policy(text: str, bucket: str, partition: str) -> None:
    """A bucket policy as S3 accepts it: JSON whose first byte is '{', the resource-policy grammar
    (a Principal in every statement), S3 actions only, every resource in this bucket; 20 KB at
    most. S3's MalformedPolicy texts.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html"""
    import json

    from cloudkeep.policy.model import PolicyError, PolicyKind
    from cloudkeep.policy.parse import parse_policy

    if len(text.encode("utf-8")) > MAX_BUCKET_POLICY:
        raise X.MalformedPolicy("Policies must be less than 20 KB", extra={"BucketName": bucket})
    try:
        if not text.lstrip().startswith("{"):
            raise ValueError
        json.loads(text)
    except ValueError:
        raise X.MalformedPolicy("Policies must be valid JSON and the first byte must be '{'",
                                extra={"BucketName": bucket}) from None
    try:
        policy = parse_policy(text, PolicyKind.RESOURCE)
    except PolicyError as error:
        raise X.MalformedPolicy(error.message, extra={"BucketName": bucket}) from None
    own = f"arn:{partition}:s3:::{bucket}"
    for statement in policy.statements:
        for action in statement.actions or statement.not_actions or ():
            if action != "*" and not action.lower().startswith("s3:"):
                raise X.MalformedPolicy("Policy has invalid action", extra={"BucketName": bucket})
        for resource in statement.resources or statement.not_resources or ():
            if resource != own and not resource.startswith(own + "/"):
                raise X.MalformedPolicy("Policy has invalid resource", extra={"BucketName": bucket})
