"""S3 POST Object: a browser form upload (multipart/form-data) to ``POST /{bucket}``.

The form's fields are PutObject's headers (``post_form.py``); the upload itself is PutObject's,
so encryption, ACLs and Object Ownership, checksums, versioning and the orphan-blob clean-up are
the same. The pipeline authenticated the form's policy signature as the signing user
(``auth/post_policy.py``) and the authorize stage asked s3:PutObject on the form's key
(``authz.py``); here the policy's expiration and conditions are applied and the answer built.

Answer (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html):
``success_action_redirect`` (or the older ``redirect``) that is a URL: 303 to it with
``bucket``, ``key`` and ``etag`` added to its query; else ``success_action_status`` 200 (empty),
201 (a ``PostResponse`` document: Location, Bucket, Key, ETag) or 204, the default and the
answer to any other value. ``ETag``, ``Location`` and ``x-amz-version-id`` headers carry the same.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from cloudkeep.auth.post_policy import missing_field
from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.storage.clock import wall_now
from cloudkeep.wire.http import STATUS_KEY

from . import ops_objects
from . import post_form as F
from .common import operation

_STATUSES = {"200": 200, "201": 201, "204": 204}
#: PutObject's answer members that POST Object also answers (as headers)
_ECHOED = ("VersionId", "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "SSECustomerAlgorithm",
           "SSECustomerKeyMD5")


def _location(params: Params, secure: bool, bucket: str, key: str) -> str:
    host = params.get("Host") or "localhost"
    scheme = "https" if secure else "http"
    path = quote(key, safe="~")       # S3 encodes the key's slashes too ("uploads%2Fphoto.jpg")
    if host.split(":", 1)[0].startswith(bucket + "."):      # virtual-host style
        return f"{scheme}://{host}/{path}"
    return f"{scheme}://{host}/{quote(bucket, safe='')}/{path}"


def _redirect(target: str | None, bucket: str, key: str, etag: str) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None                          # not a URL: S3 answers by success_action_status
    query = urlencode({"bucket": bucket, "key": key, "etag": etag})
    return parts._replace(query=f"{parts.query}&{query}" if parts.query else query).geturl()


@operation("PostObject")
def post_object(call: Call, params: Params) -> Result:
    bucket = params["Bucket"]
    form, file = F.read(params)
    if form.get("policy") is not None and call.principal.type is PrincipalType.ANONYMOUS:
        # a policy is only meaningful signed (the pipeline found no signature fields)
        raise missing_field("x-amz-signature")
    # the policy's expiration is the client's wall-clock deadline, like a presigned URL's: checked
    # against the real time (as SigV4's expiry and skew are), not the domain clock tests move
    size = F.check_policy(form, bucket, wall_now())
    members: dict[str, Any] = F.put_members(form)
    key = members["Key"]
    put = {**members, "Bucket": bucket, "Body": F.SizedFile(file, size)}
    written = ops_objects.put_object(call, put)
    etag = written["ETag"]
    location = _location(params, call.secure, bucket, key)
    out: Result = {"ETag": etag, "Location": location,
                   **{m: written[m] for m in _ECHOED if written.get(m) is not None}}
    redirect = _redirect(form.get("success_action_redirect") or form.get("redirect"), bucket, key, etag)
    if redirect is not None:
        out["Location"] = redirect
        out[STATUS_KEY] = 303
        return out
    status = _STATUSES.get((form.get("success_action_status") or "").strip(), 204)
    out[STATUS_KEY] = status
    if status == 201:
        out["PostResponse"] = {"Location": location, "Bucket": bucket, "Key": key, "ETag": etag}
    return out
