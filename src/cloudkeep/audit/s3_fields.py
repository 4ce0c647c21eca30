"""The parts of a CloudTrail record that S3 writes in its own way.

Owns, for events of ``s3.amazonaws.com``:

- ``request_parameters``: S3 does not log its API's members (the model's shape) but the request
  as it came: ``bucketName``, ``Host`` (the Host header), ``key`` for an object, and each query
  string parameter under its own name (``acl``: ``""``, ``list-type``: ``"2"``, ``versionId``…),
  as in S3's example records. Signature parameters of a presigned URL (``X-Amz-*``) are left
  out: they are credentials, not request parameters.
- ``resources``: the object named (``AWS::S3::Object``) and its bucket (``AWS::S3::Bucket``,
  with the bucket owner's ``accountId``).
- ``response_elements``: null, except the headers a write answers that the records show
  (``x-amz-server-side-encryption``, ``x-amz-version-id``, the SSE-KMS key id).
- ``additional_event_data``: ``SignatureVersion`` and ``AuthenticationMethod`` (``AuthHeader``,
  or ``QueryString`` for a presigned URL) for a signed request, ``CipherSuite`` over TLS,
  ``bytesTransferredIn`` (the body as the client meant it: the decoded length of an
  aws-chunked upload), ``x-amz-id-2`` (the response's extended request id) and, for a read that
  returns an object body, ``bytesTransferredOut``.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html

Must not: do I/O; log a secret (SSE-C keys travel in headers, which are never copied here).
"""

from __future__ import annotations

from typing import Any, Final, Mapping

EVENT_SOURCE: Final = "s3.amazonaws.com"

# Response members S3's records show for a write, under their header names.
_RESPONSE_HEADERS: Final = (("ServerSideEncryption", "x-amz-server-side-encryption"),
                            ("SSEKMSKeyId", "x-amz-server-side-encryption-aws-kms-key-id"),
                            ("BucketKeyEnabled", "x-amz-server-side-encryption-bucket-key-enabled"),
                            ("VersionId", "x-amz-version-id"))


def request_parameters(params: Mapping[str, Any] | None, host: str,
                       query: list[tuple[str, str]]) -> dict[str, Any] | None:
    """S3's requestParameters: bucket, Host, key, then the query string's parameters."""
    out: dict[str, Any] = {}
    params = params or {}
    bucket = params.get("Bucket")
    if isinstance(bucket, str) and bucket:
        out["bucketName"] = bucket
    if host:
        out["Host"] = host
    for name, value in query:
        if name.lower().startswith("x-amz-") or name in out:
            continue
        out[name] = value
    key = params.get("Key")
    if isinstance(key, str) and key:
        out["key"] = key
    return out or None


def resources(params: Mapping[str, Any] | None, owner: str | None, partition: str = "aws"
              ) -> list[dict[str, str]] | None:
    """S3's ``resources``: the object (``AWS::S3::Object``, no account) when the request names a
    key, then the bucket (``AWS::S3::Bucket``) with its owner's account when known."""
    params = params or {}
    bucket = params.get("Bucket")
    if not isinstance(bucket, str) or not bucket:
        return None
    out: list[dict[str, str]] = []
    key = params.get("Key")
    if isinstance(key, str) and key:
        out.append({"type": "AWS::S3::Object", "ARN": f"arn:{partition}:s3:::{bucket}/{key}"})
    entry = {"accountId": owner} if owner else {}
    out.append({**entry, "type": "AWS::S3::Bucket", "ARN": f"arn:{partition}:s3:::{bucket}"})
    return out


def response_elements(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The write's response headers S3's records keep, or None."""
    if not result:
        return None
    out = {header: value for member, header in _RESPONSE_HEADERS
           if (value := result.get(member)) is not None and not isinstance(value, (bytes, bytearray))}
    return out or None


def additional_event_data(*, signed_form: str | None, cipher_suite: str | None, bytes_in: int,
                          host_id: str, bytes_out: int | None) -> dict[str, Any]:
    """S3's additionalEventData, in the order S3's records list it. ``signed_form`` is None for
    an anonymous request, else "header", "query" (presigned URL) or "post" (browser form)."""
    out: dict[str, Any] = {}
    if signed_form is not None:
        out["SignatureVersion"] = "SigV4"
    if cipher_suite:
        out["CipherSuite"] = cipher_suite
    out["bytesTransferredIn"] = bytes_in
    if signed_form is not None:
        out["AuthenticationMethod"] = "QueryString" if signed_form == "query" else "AuthHeader"
    out["x-amz-id-2"] = host_id
    if bytes_out is not None:
        out["bytesTransferredOut"] = bytes_out
    return out
