"""S3's POST Object form: reading it from the request body, what its fields mean (the members a
PutObject carries in headers), and its POST policy (expiration and conditions).

Pages: https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html (form fields, the
``file`` field last, ``${filename}``, success_action_*),
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html (expiration,
conditions: exact match as ``{"f": "v"}`` or ``["eq", "$f", "v"]``, ``starts-with``,
``content-length-range``; "Each form field that you specify in a form (except x-amz-signature,
file, policy, and field names that have an x-ignore- prefix) must appear in the list of
conditions"), https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (the codes).
Field names are case-insensitive; values are compared as sent.

Must not: write anything (``ops_post.py`` hands the members to PutObject), authenticate (the
pipeline verified the policy's signature, ``auth/post_policy.py``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import email.utils
import io
import json
from dataclasses import dataclass
from typing import Any, Mapping
from xml.etree import ElementTree
from urllib.parse import urlencode

from cloudkeep.auth.post_policy import MAX_PRE_DATA, missing_field
from cloudkeep.wire import formdata

from . import errors as X

#: form field (lower case) → PutObject member
_MEMBERS = {
    "key": "Key", "acl": "ACL", "content-type": "ContentType", "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition", "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage", "content-md5": "ContentMD5",
    "x-amz-storage-class": "StorageClass", "x-amz-website-redirect-location": "WebsiteRedirectLocation",
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
    "x-amz-server-side-encryption-context": "SSEKMSEncryptionContext",
    "x-amz-server-side-encryption-customer-algorithm": "SSECustomerAlgorithm",
    "x-amz-server-side-encryption-customer-key": "SSECustomerKey",
    "x-amz-server-side-encryption-customer-key-md5": "SSECustomerKeyMD5",
    "x-amz-grant-read": "GrantRead", "x-amz-grant-read-acp": "GrantReadACP",
    "x-amz-grant-write-acp": "GrantWriteACP", "x-amz-grant-full-control": "GrantFullControl",
    "x-amz-checksum-algorithm": "ChecksumAlgorithm", "x-amz-checksum-crc32": "ChecksumCRC32",
    "x-amz-checksum-crc32c": "ChecksumCRC32C", "x-amz-checksum-crc64nvme": "ChecksumCRC64NVME",
    "x-amz-checksum-sha1": "ChecksumSHA1", "x-amz-checksum-sha256": "ChecksumSHA256",
    "x-amz-object-lock-mode": "ObjectLockMode", "x-amz-object-lock-retain-until-date": "ObjectLockRetainUntilDate",
    "x-amz-object-lock-legal-hold": "ObjectLockLegalHoldStatus",
}
#: fields the policy need not name
_EXEMPT = frozenset({"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid"})
_CONDITION_MATCH = ("eq", "starts-with")


@dataclass(frozen=True, slots=True)
class Form:
    """A POST form's fields before the file, by lower-case name (the first of a repeated name),
    their names as sent in order, and the file's name."""

    fields: Mapping[str, str]
    names: tuple[str, ...]
    filename: str | None

    def get(self, name: str) -> str | None:
        return self.fields.get(name.lower())

    @property
    def key(self) -> str:
        """The object key, ``${filename}`` replaced by the file's name (its last path element)."""
        key = self.get("key")
        if key is None or key == "":
            raise missing_field("key")
        name = (self.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        return key.replace("${filename}", name)


def _body_of(params: Mapping[str, Any]) -> Any:
    body = params.get("Body")
    if body is None:
        return io.BytesIO(b"")
    if isinstance(body, (bytes, bytearray)):
        return io.BytesIO(bytes(body))
    body.seek(0)
    return body


def read(params: Mapping[str, Any]) -> tuple[Form, formdata.FilePart]:
    """The form of a POST Object request and a reader of its file's content."""
    boundary = formdata.boundary_of(params.get("ContentType"))
    if boundary is None:
        # https://github.com/benjreinhart/react-native-aws3/issues/26 (S3's answer)
        raise X.precondition_failed("Bucket POST must be of the enclosure-type multipart/form-data")
    try:
        head, file = formdata.read_head(_body_of(params), boundary, limit=MAX_PRE_DATA)
    except formdata.FormTooLarge:
        raise X.MaxPostPreDataLengthExceededError(X.MaxPostPreDataLengthExceededError.MESSAGE) from None
    except formdata.FormError:
        raise X.MalformedPOSTRequest(X.MalformedPOSTRequest.MESSAGE) from None
    fields: dict[str, str] = {}
    for name, value in head.fields:
        fields.setdefault(name.lower(), value)
    form = Form(fields, tuple(name for name, _ in head.fields), head.filename)
    if file is None:
        form.key                                  # a missing key is named first
        raise X.IncorrectNumberOfFilesInPostRequest(X.IncorrectNumberOfFilesInPostRequest.MESSAGE)
    return form, file


def put_members(form: Form) -> dict[str, Any]:
    """The PutObject members the form's fields stand for (Key with ${filename} replaced)."""
    out: dict[str, Any] = {"Key": form.key}
    metadata: dict[str, str] = {}
    for name, value in form.fields.items():
        if name in _MEMBERS and name != "key":
            out[_MEMBERS[name]] = value
        elif name.startswith("x-amz-meta-"):
            metadata[name[len("x-amz-meta-"):]] = value
    if metadata:
        out["Metadata"] = metadata
    if form.get("expires") is not None:
        out["Expires"] = _http_date(form.get("expires") or "")
    if form.get("x-amz-server-side-encryption-bucket-key-enabled") is not None:
        out["BucketKeyEnabled"] = (form.get("x-amz-server-side-encryption-bucket-key-enabled") or "").lower() == "true"
    if form.get("tagging") is not None:
        out["Tagging"] = _tagging_query(form.get("tagging") or "")
    return out


def _http_date(value: str) -> Any:
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return value


def _tagging_query(document: str) -> str:
    """The form's ``tagging`` field (a Tagging XML document) as PutObject's x-amz-tagging query."""
    if not document.strip():
        return ""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        raise X.MalformedXML("The XML you provided was not well-formed or did not validate against our "
                             "published schema") from None
    pairs = []
    for tag in root.iter():
        if tag.tag.rsplit("}", 1)[-1] != "Tag":
            continue
        key = next((c.text or "" for c in tag if c.tag.rsplit("}", 1)[-1] == "Key"), None)
        value = next((c.text or "" for c in tag if c.tag.rsplit("}", 1)[-1] == "Value"), "")
        if key is None:
            raise X.MalformedXML("The XML you provided was not well-formed or did not validate against our "
                                 "published schema")
        pairs.append((key, value))
    return urlencode(pairs)


# --- the POST policy -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SizeRange:
    low: int
    high: int


def _invalid(detail: str) -> X.InvalidPolicyDocument:
    return X.InvalidPolicyDocument(f"Invalid Policy: {detail}")


def _violation(detail: str) -> X.AccessDenied:
    return X.AccessDenied(f"Invalid according to Policy: {detail}")


def _document(policy: str) -> dict[str, Any]:
    try:
        raw = base64.b64decode(policy.encode("ascii"), validate=True)
        doc = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError):
        raise _invalid("Invalid JSON.") from None
    if not isinstance(doc, dict):
        raise _invalid("Invalid JSON.")
    return doc


def _expiration(value: Any) -> _dt.datetime:
    """ISO 8601 in UTC, e.g. 2007-12-01T12:00:00.000Z."""
    if isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        try:
            moment = _dt.datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)
    raise _invalid(f"Invalid 'expiration' value: '{value}'")


def _field_value(form: Form, field: str, bucket: str) -> str:
    name = field.lower()
    if name == "bucket":
        return bucket
    return form.get(name) or ""


def _failed(condition: Any) -> X.AccessDenied:
    return _violation(f"Policy Condition failed: {json.dumps(condition)}")


def check_policy(form: Form, bucket: str, now: _dt.datetime) -> SizeRange | None:
    """Apply the form's POST policy: expiration, every condition, no field the policy does not
    name. Returns the content-length-range, if any, for the file's reader to enforce."""
    policy = form.get("policy")
    if policy is None:
        return None
    doc = _document(policy)
    if "expiration" not in doc:
        raise _invalid("Policy missing expiration.")
    expires = _expiration(doc["expiration"])
    conditions = doc.get("conditions")
    if not isinstance(conditions, list):
        raise _invalid("Policy missing conditions.")
    if now >= expires:
        raise _violation("Policy expired.")
    named: set[str] = set()
    size: SizeRange | None = None
    for condition in conditions:
        if isinstance(condition, dict):
            if len(condition) != 1:
                raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
            (field, expected), = condition.items()
            if not isinstance(expected, str):
                raise _invalid("Invalid Simple-Condition: value must be a string.")
            named.add(field.lower())
            if _field_value(form, field, bucket) != expected:
                raise _failed(["eq", f"${field}", expected])
            continue
        if not isinstance(condition, list) or not condition or not isinstance(condition[0], str):
            raise _invalid("Invalid Condition: a condition must be an object or an array.")
        operation = condition[0].lower()
        if operation == "content-length-range":
            if len(condition) != 3:
                raise _invalid("Invalid content-length-range: exactly two bounds are required.")
            try:
                low, high = int(condition[1]), int(condition[2])
            except (TypeError, ValueError):
                raise _invalid("Invalid content-length-range: the bounds must be integers.") from None
            size = SizeRange(low, high)
            continue
        if operation not in _CONDITION_MATCH or len(condition) != 3:
            raise _invalid(f"Invalid Condition: unknown or malformed condition {json.dumps(condition)}.")
        field, expected = condition[1], condition[2]
        if not isinstance(field, str) or not field.startswith("$") or not isinstance(expected, str):
            raise _invalid(f"Invalid Condition: unknown or malformed condition {json.dumps(condition)}.")
        named.add(field[1:].lower())
        actual = _field_value(form, field[1:], bucket)
        ok = actual == expected if operation == "eq" else actual.startswith(expected)
        if not ok:
            raise _failed(condition)
    for name in form.names:
        lower = name.lower()
        if lower in _EXEMPT or lower.startswith("x-ignore-") or lower in named:
            continue
        raise _violation(f"Extra input fields: {lower}")
    return size


class SizedFile:
    """The file's reader with the policy's content-length-range enforced as it is read, so an
    upload outside the range fails before anything is stored (EntityTooLarge/EntityTooSmall)."""

    def __init__(self, file: formdata.FilePart, size: SizeRange | None) -> None:
        self._file = file
        self._size = size

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._file.read(n)
        except formdata.FormError:
            raise X.MalformedPOSTRequest(X.MalformedPOSTRequest.MESSAGE) from None
        if self._size is not None:
            total = self._file.size
            if total > self._size.high:
                raise X.EntityTooLarge(X.EntityTooLarge.MESSAGE, extra={
                    "ProposedSize": str(total), "MaxSizeAllowed": str(self._size.high)})
            if not data and total < self._size.low:
                raise X.EntityTooSmall(X.EntityTooSmall.MESSAGE, extra={
                    "ProposedSize": str(total), "MinSizeAllowed": str(self._size.low)})
        return data
