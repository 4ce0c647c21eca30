"""AWS Signature Version 4, verified as a pure function of the request, a secret and the time.

Owns: parsing the SigV4 ``Authorization`` header into a ``SignedRequestInfo``; the canonical
request, string to sign and signing key exactly as AWS defines them
(https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html); the 15-minute clock
skew rule, the credential-scope rules and the constant-time signature comparison, each failing
with AWS's own error code and message.

Must not: look up access keys or secrets (the caller resolves ``info.scope.access_key_id`` to a
secret between ``prevalidate`` and ``verify``, raising ``InvalidClientTokenId`` itself), read the
clock (``now`` is injected; the caller passes ``storage.clock.wall_now()``), or do any I/O beyond
reading the request's spooled body file.

Order of checks follows AWS's observed error ordering (as reproduced by
dacut/scratchstack-aws-signature, src/canonical.rs and src/auth.rs):
  1. algorithm → 2. key=value syntax → 3. missing Credential/Signature/SignedHeaders/date
  → 4. 'host' signed → 5. date format → 6. clock skew → 7. credential has 5 parts
  → 8. scope region/service/terminator/date → (caller: access key known?) → 9. signature.
Steps 1–5 (and 6–7 when ``now`` is passed) run in ``parse_authorization``; 6–8 in ``prevalidate``;
``verify`` runs ``prevalidate`` and then step 9.

Forms: the header form; the presigned-query form (``X-Amz-Algorithm`` & co. in the query, ``form
== "query"``): the canonical query leaves out ``X-Amz-Signature``, S3 signs ``UNSIGNED-PAYLOAD`` and
honours ``X-Amz-Expires`` (S3's own AuthorizationQueryParametersError / AccessDenied "Request has
expired"), other services sign the body's hash and, like STS, accept the URL within the same
15-minute window as a header signature whatever ``X-Amz-Expires`` says (it is signed, not
enforced: github.com/aws/aws-sdk-go/issues/2167, github.com/aws/aws-sdk-ruby/issues/2887).
Payloads: a SHA-256 hash in ``x-amz-content-sha256`` is checked against the body (read from the
spooled file when there is one); S3's ``UNSIGNED-PAYLOAD`` is taken as is; S3's ``STREAMING-*``
modes have only their seed signature checked here, and ``streaming_reader`` gives the pipeline the
``auth.chunked.ChunkedPayload`` that verifies every chunk, the trailer and the decoded length.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Container, Sequence
from urllib.parse import quote, unquote_to_bytes

from cloudkeep.auth.chunked import MSG_S3_MISMATCH, ChunkedPayload
from cloudkeep.wire.errors import (
    AccessDenied,
    AuthorizationQueryParametersError,
    IncompleteSignature,
    InvalidRequest,
    MissingAuthenticationToken,
    MissingContentLength,
    NotImplementedOperation,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    UnsupportedSignatureVersion,
    XAmzContentSHA256Mismatch,
)
from cloudkeep.wire.http import HttpRequest

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
MAX_SKEW = timedelta(minutes=15)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PREFIX = "STREAMING-"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_MODES = (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER)
MAX_EXPIRES = 604800                      # seven days: S3's limit for X-Amz-Expires
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_ISO_BASIC = "%Y%m%dT%H%M%SZ"
_ISO_BASIC_RE = re.compile(r"\d{8}T\d{6}Z")
_SHA256_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")

# Messages as AWS returns them. Sources (confirmed wording):
#  - missing parameters / date, unsupported algorithm, 'Host' signed, ISO-8601, 5 elements, scope
#    messages, skew messages: dacut/scratchstack-aws-signature src/canonical.rs, src/auth.rs and
#    their tests; also seen from AWS in github.com/aws/chalice/issues/828 (missing parameters),
#    github.com/aws/aws-sdk-php/issues/2469 ('Host' or ':authority'),
#    github.com/kubernetes-sigs/aws-iam-authenticator/issues/374 (IncompleteSignature, 5 elements),
#    github.com/aws/aws-cli/issues/6676 (SignatureDoesNotMatch "Signature expired: ... - 15 min.)").
#  - key=value message with its final '.': github.com/jenkinsci/aws-credentials-plugin/issues/72.
#  - skew / date wording also: https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html
MSG_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)
MSG_REQ_CREDENTIAL = "Authorization header requires 'Credential' parameter."
MSG_REQ_SIGNATURE = "Authorization header requires 'Signature' parameter."
MSG_REQ_SIGNED_HEADERS = "Authorization header requires 'SignedHeaders' parameter."
MSG_REQ_DATE = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
MSG_HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
# S3: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (RequestTimeTooSkewed,
# extras as S3 sends them: github.com/aws/aws-sdk-php/issues/612)
MSG_S3_SKEW = "The difference between the request time and the current time is too large."
MSG_S3_CONTENT_SHA = "The provided 'x-amz-content-sha256' header does not match what was computed."
# Presigned URLs outside S3 (query services): scratchstack-aws-signature src/constants.rs
MSG_QUERY_MISSING = "AWS query-string parameters must include '{}'."
MSG_QUERY_REEXAMINE = "Re-examine the query-string parameters."
MSG_MISSING_TOKEN = "Request is missing Authentication Token"
# S3 presigned URLs: answers of S3 captured in github.com/aws/aws-cli/issues/5464,
# github.com/minio/minio-js/issues/1312, github.com/aws/aws-sdk-php/issues/1333 and reproduced in
# versity/versitygw s3err/presigned-urls.go
MSG_S3Q_ALGORITHM = 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256"'
MSG_S3Q_MISSING = ("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                   "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
MSG_S3Q_CREDENTIAL = ("Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "
                      '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
MSG_S3Q_DATE = 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"'
MSG_S3Q_EXPIRES_NUMBER = "X-Amz-Expires should be a number"
MSG_S3Q_EXPIRES_NEGATIVE = "X-Amz-Expires must be non-negative"
MSG_S3Q_EXPIRES_WEEK = ("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
                        "must be less than 604800 seconds")
MSG_S3_EXPIRED = "Request has expired"
MSG_S3_NOT_YET_VALID = "Request is not yet valid"


@dataclass(frozen=True, slots=True)
class CredentialScope:
    access_key_id: str
    date: str          # YYYYMMDD as the client wrote it (checked against the request date later)
    region: str
    service: str
    terminator: str = TERMINATOR

    @property
    def scope(self) -> str:
        """``date/region/service/aws4_request``, the third line of the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True, slots=True)
class SignedRequestInfo:
    scope: CredentialScope
    signed_headers: tuple[str, ...]      # sorted, as AWS canonicalizes them
    signature: str
    amz_date: str                        # ISO-8601 basic, as used in the string to sign
    session_token: str | None
    form: str = "header"                 # "header" | "query" (presigned URL) | "post" (S3 POST form)
    request_time: datetime | None = None  # amz_date parsed once (aware UTC)
    expires: int | None = None           # X-Amz-Expires of a presigned URL, seconds
    policy: str | None = None            # an S3 POST form's base64 policy: its string to sign


# --- parsing -----------------------------------------------------------------------------------


MSG_USE_SIGV4 = ("The authorization mechanism you have provided is not supported. "
                 "Please use AWS4-HMAC-SHA256.")


def parse_authorization(request: HttpRequest, *, now: datetime | None = None) -> SignedRequestInfo | None:
    """The SigV4 parameters of ``request``, or None when it carries no SigV4 at all.

    Passing ``now`` also runs the skew check before the credential-format check, as AWS orders them.
    """
    auth = _first_header(request, "authorization")
    presigned = "X-Amz-Algorithm=" in request.query and any(
        name == "X-Amz-Algorithm" for name, _ in request.query_params())
    if auth is not None and presigned:
        raise SignatureDoesNotMatch(MSG_MISMATCH)
    if auth is not None:
        return _parse_header_form(request, auth, now)
    if presigned:
        return _parse_query_form(request, now)
    if "Signature=" in request.query and "AWSAccessKeyId=" in request.query:
        names = {name for name, _ in request.query_params()}
        if {"Signature", "AWSAccessKeyId"} <= names:
            # Signature Version 2 query authentication: refused, never served as anonymous.
            # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authenticating-requests.html
            raise InvalidRequest(MSG_USE_SIGV4)
    if request.method == "POST" and "multipart/form-data" in (_first_header(request, "content-type") or "").lower():
        from cloudkeep.auth import post_policy   # S3 browser uploads: the signature is in the form
        return post_policy.parse(request)
    return None


def _parse_header_form(request: HttpRequest, header: str, now: datetime | None) -> SignedRequestInfo:
    header = header.strip()
    algorithm, _, rest = header.partition(" ")
    if algorithm == "AWS":
        # Signature Version 2 (``AWS AKID:signature``): S3 names the mechanism it wants instead
        raise UnsupportedSignatureVersion(f"Unsupported AWS 'algorithm': '{algorithm}'.")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'.")
    params: dict[str, str] = {}
    for raw in rest.split(","):
        item = raw.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq:
            raise IncompleteSignature(
                f"'{item}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'.")
        params[key] = value                      # the last value of a repeated key wins
    date_value = _first_header(request, "x-amz-date")
    if date_value is None:
        date_value = _first_header(request, "date")
    missing = [msg for key, msg in (("Credential", MSG_REQ_CREDENTIAL), ("Signature", MSG_REQ_SIGNATURE),
                                    ("SignedHeaders", MSG_REQ_SIGNED_HEADERS)) if key not in params]
    if date_value is None:
        missing.append(MSG_REQ_DATE)
    if missing:
        raise IncompleteSignature(f"{' '.join(missing)} Authorization={algorithm}")
    assert date_value is not None
    signed = tuple(sorted(params["SignedHeaders"].split(";")))
    if "host" not in signed and ":authority" not in signed:
        raise SignatureDoesNotMatch(MSG_HOST_NOT_SIGNED)
    request_time = _parse_request_date(date_value)
    if now is not None:
        _check_skew(request_time, now, service=_service_hint(params["Credential"]), raw_date=date_value)
    return SignedRequestInfo(
        scope=_parse_credential(params["Credential"]),
        signed_headers=signed,
        signature=params["Signature"],
        amz_date=date_value if _ISO_BASIC_RE.fullmatch(date_value) else request_time.strftime(_ISO_BASIC),
        session_token=_first_header(request, "x-amz-security-token"),
        request_time=request_time,
    )


def _parse_query_form(request: HttpRequest, now: datetime | None) -> SignedRequestInfo:
    """A presigned URL: X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders, -Signature and
    -Security-Token in the query (the first value of a repeated name counts). S3 answers its own
    AuthorizationQueryParametersError; other services answer as for a header signature."""
    params: dict[str, str] = {}
    for name, value in request.query_params():
        params.setdefault(name, value)
    credential = params.get("X-Amz-Credential")
    is_s3 = credential is not None and _service_hint(credential) == "s3"
    algorithm = params.get("X-Amz-Algorithm", "")
    names = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
    if is_s3:
        if algorithm != ALGORITHM:
            raise AuthorizationQueryParametersError(MSG_S3Q_ALGORITHM)
        if any(name not in params for name in names + ("X-Amz-Expires",)):
            raise AuthorizationQueryParametersError(MSG_S3Q_MISSING)
    else:
        if algorithm != ALGORITHM:
            raise MissingAuthenticationToken(MSG_MISSING_TOKEN)
        missing = [MSG_QUERY_MISSING.format(name) for name in names if name not in params]
        if missing:
            raise IncompleteSignature(f"{' '.join(missing)} {MSG_QUERY_REEXAMINE}")
    date_value = params["X-Amz-Date"]
    if is_s3 and len(credential.split("/")) != 5:  # type: ignore[union-attr]
        raise AuthorizationQueryParametersError(MSG_S3Q_CREDENTIAL)
    if not _ISO_BASIC_RE.fullmatch(date_value):
        if is_s3:
            raise AuthorizationQueryParametersError(MSG_S3Q_DATE)
        raise IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{date_value}'. See http://en.wikipedia.org/wiki/ISO_8601")
    try:
        request_time = _parse_request_date(date_value)
    except IncompleteSignature:
        if is_s3:
            raise AuthorizationQueryParametersError(MSG_S3Q_DATE) from None
        raise
    expires = _parse_expires(params.get("X-Amz-Expires"), strict=is_s3)
    signed = tuple(sorted(params["X-Amz-SignedHeaders"].split(";")))
    if "host" not in signed and ":authority" not in signed:
        raise SignatureDoesNotMatch(MSG_HOST_NOT_SIGNED)
    info = SignedRequestInfo(
        scope=_parse_credential(credential),  # type: ignore[arg-type]
        signed_headers=signed,
        signature=params["X-Amz-Signature"],
        amz_date=date_value,
        session_token=params.get("X-Amz-Security-Token"),
        form="query",
        request_time=request_time,
        expires=expires,
    )
    if now is not None:
        _check_time(info, now)
    return info


def _parse_expires(value: str | None, *, strict: bool) -> int | None:
    """X-Amz-Expires: for S3 an integer 0..604800 (0 is well-formed and already expired, as on S3);
    elsewhere it is only signed, and a value that is not an integer is simply not used."""
    if value is None:
        return None
    try:
        expires = int(value, 10) if value.strip() == value and value.lstrip("+-").isdigit() else None
    except ValueError:
        expires = None
    if not strict:
        return expires
    if expires is None:
        raise AuthorizationQueryParametersError(MSG_S3Q_EXPIRES_NUMBER)
    if expires < 0:
        raise AuthorizationQueryParametersError(MSG_S3Q_EXPIRES_NEGATIVE)
    if expires > MAX_EXPIRES:
        raise AuthorizationQueryParametersError(MSG_S3Q_EXPIRES_WEEK)
    return expires


def _parse_credential(credential: str) -> CredentialScope:
    parts = credential.split("/")
    if len(parts) != 5:
        raise IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"
            f" got '{credential}'")
    return CredentialScope(parts[0], parts[1], parts[2], parts[3], parts[4])


def _service_hint(credential: str) -> str:
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else ""


def _parse_request_date(value: str) -> datetime:
    """X-Amz-Date (ISO-8601 basic) or, failing that, an HTTP Date header (RFC 7231)."""
    if _ISO_BASIC_RE.fullmatch(value):
        try:  # slicing is four times cheaper than strptime on this hot path
            return datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]),
                            int(value[11:13]), int(value[13:15]), tzinfo=timezone.utc)
        except ValueError:
            pass
    elif "," in value and value.rstrip().endswith("GMT"):
        try:
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed.tzinfo is not None:
                return parsed.astimezone(timezone.utc)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    raise IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601")


def _first_header(request: HttpRequest, name: str) -> str | None:
    for key, value in request.headers:
        if key == name:
            return value
    return None


# --- canonical request ---------------------------------------------------------------------------


def _uri_encode(text: str, safe: str) -> str:
    # AWS UriEncode: everything but A-Z a-z 0-9 - _ . ~ (and `safe`) as %XX of its UTF-8 bytes
    return quote(text.encode("utf-8", "surrogateescape"), safe=safe)


def _unquote(text: str) -> bytes:
    # percent-decoding to bytes; a '%' not followed by two hex digits stays literal (re-encoded as %25)
    return unquote_to_bytes(text.encode("utf-8", "surrogateescape"))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 plus AWS's collapsing of repeated slashes (as botocore and the suite do)."""
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    tail = "/" if path.endswith("/") and out else ""
    return "/" + "/".join(out) + tail


def canonical_uri(raw_path: str, *, normalize_path: bool = True) -> str:
    """The CanonicalURI line.

    ``normalize_path=True`` (every service but S3): the path as sent, dot segments and repeated
    slashes removed, then URI-encoded again (so ``%20`` becomes ``%2520``: "double encoding").
    ``normalize_path=False`` (S3): no normalization; each segment is decoded and URI-encoded once,
    which reproduces the path an SDK sent and canonicalizes anything left unencoded.
    """
    if not raw_path or raw_path == "/":
        return "/"
    if normalize_path:
        return _uri_encode(_remove_dot_segments(raw_path), safe="/")
    if _PLAIN_PATH.fullmatch(raw_path):
        return raw_path          # unreserved characters and slashes only: decoding and encoding keep it
    return "/".join(quote(_unquote(segment), safe="") for segment in raw_path.split("/"))


#: a path made of URI-unreserved characters (RFC 3986) and slashes, which S3's canonical URI
#: keeps as it is
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~/]*")


def canonical_query(raw_query: str, *, exclude: Container[str] = ()) -> str:
    """The CanonicalQueryString line: each name and value decoded, URI-encoded, sorted by name then value.

    '+' in the query means a space, as on AWS: botocore sends parameters form-encoded (space as '+')
    while signing them with %20.
    """
    if not raw_query:
        return ""
    pairs: list[tuple[str, str]] = []
    for item in raw_query.replace("+", " ").split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        encoded = quote(_unquote(name), safe="")
        if encoded in exclude:
            continue
        pairs.append((encoded, quote(_unquote(value), safe="")))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _trimall(value: str) -> str:
    return " ".join(value.split())


def canonical_headers(headers: Sequence[tuple[str, str]], signed_headers: Sequence[str]) -> str:
    """The CanonicalHeaders block: one ``name:v1,v2`` line per signed header present, in order of
    ``signed_headers``; repeated headers joined with ',' in the order received, values trimmed."""
    wanted = set(signed_headers)
    values: dict[str, list[str]] = {}
    for name, value in headers:
        lname = name.lower()
        if lname in wanted:
            values.setdefault(lname, []).append(_trimall(value))
    return "".join(f"{name}:{','.join(values[name])}\n" for name in signed_headers if name in values)


def canonical_request(method: str, raw_path: str, raw_query: str, headers: Sequence[tuple[str, str]],
                      signed_headers: Sequence[str], payload_hash: str, *, normalize_path: bool = True,
                      exclude_query: Container[str] = ()) -> str:
    return "\n".join((
        method,                                        # as sent: methods are case-sensitive (RFC 9110 §9.1)
        canonical_uri(raw_path, normalize_path=normalize_path),
        canonical_query(raw_query, exclude=exclude_query),
        canonical_headers(headers, signed_headers),
        ";".join(signed_headers),
        payload_hash,
    ))


def string_to_sign(amz_date: str, scope: CredentialScope, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope.scope}\n{digest}"


@functools.lru_cache(maxsize=4096)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    def b(text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")
    key = hmac.digest(b(f"AWS4{secret}"), b(date), "sha256")
    key = hmac.digest(key, b(region), "sha256")
    key = hmac.digest(key, b(service), "sha256")
    return hmac.digest(key, b(TERMINATOR), "sha256")


def signature(key: bytes, to_sign: str) -> str:
    return hmac.new(key, to_sign.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def body_sha256(request: HttpRequest) -> str:
    """The SHA-256 of the body, in memory or spooled to a file (read in pieces)."""
    if request.body_file is None:
        return hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_SHA256
    measured = getattr(request.body_file, "sha256_hex", None)   # storage.spool measured it on arrival
    if measured is not None:
        return measured
    digest = hashlib.sha256()
    for piece in request.iter_body():
        digest.update(piece)
    return digest.hexdigest()


def _sent_payload_hash(request: HttpRequest, info: SignedRequestInfo | None) -> str | None:
    """What the client declared as its payload hash: ``x-amz-content-sha256``; for an S3 presigned
    URL also an ``X-Amz-Content-Sha256`` query parameter (aws-sdk-js v3 sends one)."""
    sent = _first_header(request, "x-amz-content-sha256")
    if sent is None and info is not None and info.form == "query" and info.scope.service == "s3":
        for name, value in request.query_params():
            if name == "X-Amz-Content-Sha256":
                return value
    return sent


def payload_hash(request: HttpRequest, info: SignedRequestInfo | None = None) -> str:
    """The HashedPayload line: ``x-amz-content-sha256`` as sent when present (a hash, or a marker
    such as UNSIGNED-PAYLOAD / STREAMING-…); for an S3 presigned URL ``UNSIGNED-PAYLOAD``
    (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html); else the
    SHA-256 of the body. ``verify`` checks afterwards that a sent hash matches the body."""
    sent = _sent_payload_hash(request, info)
    if sent is not None:
        return sent
    if info is not None and info.form == "query" and info.scope.service == "s3":
        return UNSIGNED_PAYLOAD
    return body_sha256(request)


def uses_path_normalization(service: str) -> bool:
    """S3 signs the path as sent; every other service signs the normalized path."""
    return service != "s3"


# --- verification --------------------------------------------------------------------------------


def _fmt(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(_ISO_BASIC)


def _check_skew(request_time: datetime, now: datetime, *, service: str, raw_date: str) -> None:
    earliest, latest = now - MAX_SKEW, now + MAX_SKEW
    if earliest <= request_time <= latest:
        return
    if service == "s3":
        raise RequestTimeTooSkewed(MSG_S3_SKEW, extra={
            "RequestTime": raw_date,
            "ServerTime": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "MaxAllowedSkewMilliseconds": "900000",
        })
    if request_time < earliest:
        raise SignatureDoesNotMatch(
            f"Signature expired: {_fmt(request_time)} is now earlier than {_fmt(earliest)} ({_fmt(now)} - 15 min.)")
    raise SignatureDoesNotMatch(
        f"Signature not yet current: {_fmt(request_time)} is still later than {_fmt(latest)} ({_fmt(now)} + 15 min.)")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_time(info: SignedRequestInfo, now: datetime) -> None:
    """The time rule of the request's form: S3 presigned URLs live X-Amz-Expires seconds from
    X-Amz-Date (S3's AccessDenied "Request has expired", extras as S3 sends them:
    github.com/aws/aws-sdk-php/issues/1333); everything else is the 15-minute skew window."""
    if info.form == "post":
        return          # a POST form lives as long as its policy's expiration (checked by S3)
    request_time = info.request_time or datetime.strptime(info.amz_date, _ISO_BASIC).replace(tzinfo=timezone.utc)
    if info.form != "query" or info.scope.service != "s3":
        _check_skew(request_time, now, service=info.scope.service, raw_date=info.amz_date)
        return
    expires_at = request_time + timedelta(seconds=info.expires or 0)
    if request_time > now + MAX_SKEW:
        # github.com/dmjio/s3-signer/issues/16 (S3's answer to a URL dated in the future)
        raise AccessDenied(MSG_S3_NOT_YET_VALID, extra={
            "X-Amz-Date": info.amz_date, "Expires": _iso(expires_at), "ServerTime": _iso(now)})
    if now > expires_at:
        raise AccessDenied(MSG_S3_EXPIRED, extra={
            "X-Amz-Expires": str(info.expires or 0), "Expires": _iso(expires_at), "ServerTime": _iso(now)})


def _scope_problems_s3_query(info: SignedRequestInfo, service: str | None) -> None:
    """S3's own wording for a presigned URL's credential scope (versity/versitygw s3err/presigned-urls.go)."""
    scope = info.scope
    if not (len(scope.date) == 8 and scope.date.isdigit()):
        raise AuthorizationQueryParametersError(
            f'Error parsing the X-Amz-Credential parameter; incorrect date format "{scope.date}". This date in '
            'the credential must be in the format "yyyyMMdd".')
    if service is not None and scope.service != service:
        raise AuthorizationQueryParametersError(
            f'Error parsing the X-Amz-Credential parameter; incorrect service "{scope.service}". This endpoint '
            f'belongs to "{service}".')
    if scope.terminator != TERMINATOR:
        raise AuthorizationQueryParametersError(
            f'Error parsing the X-Amz-Credential parameter; incorrect terminal "{scope.terminator}". This '
            'endpoint uses "aws4_request".')
    if scope.date != info.amz_date[:8]:
        raise AuthorizationQueryParametersError(
            f'Invalid credential date "{scope.date}". This date is not the same as X-Amz-Date: '
            f'"{info.amz_date[:8]}".')


def prevalidate(info: SignedRequestInfo, *, now: datetime, service: str | None = None,
                valid_regions: Container[str] | None = None) -> None:
    """Clock skew (or a presigned URL's expiry) and credential-scope checks (no secret needed);
    run before looking up the key.

    ``service``: the service the request was routed to (its signing name); ``valid_regions``: the
    regions cloudkeep serves. Either may be None to skip that check.
    """
    scope = info.scope
    _check_time(info, now)
    if info.form == "query" and scope.service == "s3":
        _scope_problems_s3_query(info, service)
    problems: list[str] = []
    if valid_regions is not None and scope.region not in valid_regions:
        # AWS ends this one with a space: https://github.com/cognitect-labs/aws-api/issues/27
        problems.append(f"Credential should be scoped to a valid region, not '{scope.region}'. ")
    if service is not None and scope.service != service:
        problems.append(f"Credential should be scoped to correct service: '{service}'. ")
    if scope.terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{scope.terminator}'.")
    if scope.date != info.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope.date}' != '{info.amz_date[:8]}', from '{info.amz_date}'.")
    if problems:
        raise SignatureDoesNotMatch("".join(p if p.endswith(" ") else p + " " for p in problems[:-1])
                                    + problems[-1])


def _signing_parts(request: HttpRequest, info: SignedRequestInfo, secret: str,
                   normalize_path: bool | None) -> tuple[str, str, str]:
    """(canonical request, string to sign, signature) cloudkeep computes for ``request``."""
    scope = info.scope
    if info.form == "post":       # the string to sign is the form's policy as sent
        to_sign = info.policy or ""
        return "", to_sign, signature(signing_key(secret, scope.date, scope.region, scope.service), to_sign)
    if normalize_path is None:
        normalize_path = uses_path_normalization(scope.service)
    exclude = ("X-Amz-Signature",) if info.form == "query" else ()
    creq = canonical_request(request.method, request.path, request.query, request.headers, info.signed_headers,
                             payload_hash(request, info), normalize_path=normalize_path, exclude_query=exclude)
    to_sign = string_to_sign(info.amz_date, scope, creq)
    return creq, to_sign, signature(signing_key(secret, scope.date, scope.region, scope.service), to_sign)


def expected_signature(request: HttpRequest, info: SignedRequestInfo, secret: str, *,
                       normalize_path: bool | None = None) -> str:
    """The signature cloudkeep computes for ``request``; ``normalize_path`` None = by service."""
    return _signing_parts(request, info, secret, normalize_path)[2]


def verify(request: HttpRequest, info: SignedRequestInfo, secret: str, *, now: datetime,
           service: str | None = None, valid_regions: Container[str] | None = None,
           normalize_path: bool | None = None) -> None:
    """Accept the request or raise the AWS error that says why not.

    ``now`` is the wall time (aware); ``normalize_path`` overrides the per-service path rule (None:
    S3 signs the path as sent, all other services the normalized path). Raises
    SignatureDoesNotMatch (also for skew and scope errors outside S3), RequestTimeTooSkewed /
    XAmzContentSHA256Mismatch / AccessDenied "Request has expired" / AuthorizationQueryParametersError
    (S3), or NotImplemented for payload forms cloudkeep does not verify. For S3 ``STREAMING-*``
    payloads only the seed signature is checked: read the body through ``streaming_reader``.
    """
    prevalidate(info, now=now, service=service, valid_regions=valid_regions)
    verify_signature(request, info, secret, normalize_path=normalize_path)


def verify_signature(request: HttpRequest, info: SignedRequestInfo, secret: str, *,
                     normalize_path: bool | None = None, now: datetime | None = None) -> None:
    """The signature and payload checks of ``verify``, for a caller that already ran
    ``prevalidate`` (before looking up the key, in AWS's order). With ``now``, the time rule of
    the request's form (skew, or a presigned URL's expiry) is checked again first."""
    if now is not None:
        _check_time(info, now)
    creq, to_sign, expected = _signing_parts(request, info, secret, normalize_path)
    if not hmac.compare_digest(expected.encode(), info.signature.encode("utf-8", "replace")):
        if info.scope.service == "s3":
            # S3 explains itself (extras as S3 sends them, e.g. github.com/aws/aws-sdk-js/issues/86)
            extra = {"AWSAccessKeyId": info.scope.access_key_id, "StringToSign": to_sign,
                     "SignatureProvided": info.signature, "StringToSignBytes": _hexbytes(to_sign)}
            if info.form != "post":
                extra.update(CanonicalRequest=creq, CanonicalRequestBytes=_hexbytes(creq))
            raise SignatureDoesNotMatch(MSG_S3_MISMATCH, extra=extra)
        raise SignatureDoesNotMatch(MSG_MISMATCH)
    _verify_payload(request, info)


def _hexbytes(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode("utf-8", "surrogateescape"))


def _verify_payload(request: HttpRequest, info: SignedRequestInfo) -> None:
    """The signature covered the declared payload hash; make sure the body is what it says."""
    if info.form == "post":
        return                                         # a form signs its policy, not its body
    sent = _sent_payload_hash(request, info)
    if sent is None:
        return                                         # the body's own hash was signed
    is_s3 = info.scope.service == "s3"
    if sent == UNSIGNED_PAYLOAD and is_s3:
        return
    if sent.startswith(STREAMING_PREFIX) and is_s3:
        if sent not in STREAMING_MODES:
            # versity/versitygw s3api/utils/chunk-reader.go (e.g. the ECDSA (SigV4a) modes)
            raise NotImplementedOperation(f"The chunk encoding algorithm {sent} is not supported.")
        return                                         # chunks: streaming_reader
    actual = body_sha256(request)
    if _SHA256_HEX_RE.fullmatch(sent) and sent.lower() == actual:
        return
    if is_s3:
        raise XAmzContentSHA256Mismatch(MSG_S3_CONTENT_SHA, extra={
            "ClientComputedContentSHA256": sent, "S3ComputedContentSHA256": actual})
    raise SignatureDoesNotMatch(MSG_MISMATCH)


def is_streaming(request: HttpRequest, info: SignedRequestInfo | None) -> bool:
    """Whether the body is aws-chunked and must be read through ``streaming_reader``."""
    if info is None or info.scope.service != "s3":
        return False
    sent = _first_header(request, "x-amz-content-sha256")
    return sent is not None and sent in STREAMING_MODES


def streaming_reader(request: HttpRequest, info: SignedRequestInfo, secret: str, *,
                     max_chunk: int | None = None) -> ChunkedPayload:
    """The verifying reader over an S3 aws-chunked body (``request.body_file`` or ``request.body``),
    for a request whose seed signature ``verify_signature`` accepted."""
    mode = _first_header(request, "x-amz-content-sha256")
    if info.scope.service != "s3" or mode not in STREAMING_MODES:
        raise InvalidRequest("The value of x-amz-content-sha256 header is invalid.")
    decoded = _first_header(request, "x-amz-decoded-content-length")
    if decoded is None or not decoded.isascii() or not decoded.isdigit():
        # versity/versitygw s3api/utils/chunk-reader.go: the header is required
        raise MissingContentLength("You must provide the Content-Length HTTP header.")
    trailer = _first_header(request, "x-amz-trailer") if mode != STREAMING_SIGNED else None
    scope = info.scope
    if request.body_file is not None:
        request.body_file.seek(0)
        raw = request.body_file
    else:
        raw = io.BytesIO(request.body)
    options = {} if max_chunk is None else {"max_chunk": max_chunk}
    return ChunkedPayload(
        raw, signed=mode != STREAMING_UNSIGNED_TRAILER, seed_signature=info.signature,
        signing_key=signing_key(secret, scope.date, scope.region, scope.service), amz_date=info.amz_date,
        scope=scope.scope, decoded_length=int(decoded), trailer=trailer or None,
        trailer_signed=mode == STREAMING_SIGNED_TRAILER, **options)
