"""SigV4 of an S3 POST form (browser-based upload): the signature is in form fields, not a
header, and the string to sign is the base64 POST policy as sent.

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html: the form
carries ``policy``, ``x-amz-algorithm`` (AWS4-HMAC-SHA256), ``x-amz-credential``
(``<key>/<date>/<region>/s3/aws4_request``), ``x-amz-date`` (ISO 8601 basic) and
``x-amz-signature`` = hex HMAC-SHA256(signing key, policy); with temporary credentials also
``x-amz-security-token``. Field names are case-insensitive. A form without any of them is
anonymous (a bucket that lets anyone write; the S3 operation checks the rest of the form).
Signature Version 2 fields (``AWSAccessKeyId``, ``signature``) are refused as every SigV2
request is.

There is no clock-skew rule for a form: the policy's ``expiration`` decides how long it is
valid, and S3 checks it with the policy's conditions (``services/s3/post_form.py``).

Must not: look up keys (the pipeline does, as for every SigV4 form), evaluate the policy's
conditions.
"""

from __future__ import annotations

from cloudkeep.wire import formdata
from cloudkeep.wire.errors import InvalidArgument, InvalidRequest
from cloudkeep.wire.http import HttpRequest

#: S3 refuses POST forms whose fields before the file exceed 20 KB
#: (MaxPostPreDataLengthExceededError, https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)
MAX_PRE_DATA = 20 * 1024
#: the SigV4 fields, in the order S3 names a missing one
V4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "policy")
V2_FIELDS = ("awsaccesskeyid", "signature")
MSG_MISSING = "Bucket POST must contain a field named '{}'.  If it is specified, please check the order of the fields."


def missing_field(name: str) -> InvalidArgument:
    """S3's answer to a POST form without a field it needs (the field must precede the file)."""
    return InvalidArgument(MSG_MISSING.format(name), extra={"ArgumentName": name, "ArgumentValue": ""})


def form_fields(request: HttpRequest) -> dict[str, str] | None:
    """The fields before the file of a POST form, by lower-case name (the first of a repeated
    name), or None when the request is not a well-formed multipart/form-data POST."""
    if request.method != "POST":
        return None
    boundary = formdata.boundary_of(request.header("content-type"))
    if boundary is None:
        return None
    try:
        head, _ = formdata.read_head(formdata.body_reader(request), boundary, limit=MAX_PRE_DATA)
    except formdata.FormError:
        return None                          # the S3 operation answers the form's own errors
    fields: dict[str, str] = {}
    for name, value in head.fields:
        fields.setdefault(name.lower(), value)
    return fields


def parse(request: HttpRequest):  # -> sigv4.SignedRequestInfo | None
    """The SigV4 parameters of a POST form, or None when it carries none (anonymous)."""
    from cloudkeep.auth import sigv4            # sigv4 imports this module lazily

    fields = form_fields(request)
    if fields is None:
        return None
    if not any(name in fields for name in V4_FIELDS[:4]):
        if any(name in fields for name in V2_FIELDS):
            raise InvalidRequest(sigv4.MSG_USE_SIGV4)
        return None
    for name in V4_FIELDS:
        if name not in fields:
            raise missing_field(name)
    algorithm = fields["x-amz-algorithm"]
    if algorithm != sigv4.ALGORITHM:
        raise InvalidArgument(f"Invalid algorithm: {algorithm}",
                              extra={"ArgumentName": "x-amz-algorithm", "ArgumentValue": algorithm})
    date_value = fields["x-amz-date"]
    if not sigv4._ISO_BASIC_RE.fullmatch(date_value):
        raise InvalidArgument(f"Invalid date: {date_value}",
                              extra={"ArgumentName": "x-amz-date", "ArgumentValue": date_value})
    credential = fields["x-amz-credential"]
    if len(credential.split("/")) != 5:
        raise InvalidArgument(f"Invalid credential: {credential}",
                              extra={"ArgumentName": "x-amz-credential", "ArgumentValue": credential})
    request_time = sigv4._parse_request_date(date_value)
    return sigv4.SignedRequestInfo(
        scope=sigv4._parse_credential(credential),
        signed_headers=(),
        signature=fields["x-amz-signature"],
        amz_date=date_value,
        session_token=fields.get("x-amz-security-token"),
        form="post",
        request_time=request_time,
        policy=fields["policy"],
    )
