"""A pytest plugin the s3-tests runner loads for its diagnostics (never for a result): every
bucket the suite creates gets S3 defaults the suite was written for, so that its tests reach
the machinery they are about rather than S3's current defaults. What it changes is chosen by
``CLOUDKEEP_S3TESTS_DEFAULTS`` (comma-separated), set by the runner's flags:

- ``acl`` (``--legacy-defaults``): S3's defaults from before April 2023 — Object Ownership
  ``ObjectWriter`` (ACLs enabled) and no Block Public Access settings
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-faq.html). A
  ``CreateBucket`` without ``ObjectOwnership`` is sent with ``ObjectWriter`` and without its ACL,
  the new bucket's Block Public Access configuration is deleted, and the ACL the suite asked for
  (canned or grants) is then set with ``PutBucketAcl`` (S3 today refuses a public ACL at
  creation, since a new bucket blocks public ACLs until its settings are changed).
- ``sse-c`` (``--unblock-sse-c``): SSE-C allowed, as before S3 blocked it on new buckets in 2026:
  the new bucket's default encryption is set again (SSE-S3) with ``BlockedEncryptionTypes``
  ``NONE`` (https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html).

It wraps botocore's ``BaseClient._make_api_call``; nothing else the suite sends or checks changes.
"""

from __future__ import annotations

import os
from typing import Any


def pytest_configure(config: Any) -> None:
    from botocore.client import BaseClient

    wanted = {w.strip() for w in os.environ.get("CLOUDKEEP_S3TESTS_DEFAULTS", "acl").split(",") if w.strip()}
    original = BaseClient._make_api_call
    if getattr(original, "_cloudkeep_legacy", False):
        return

    def make_api_call(self: Any, operation_name: str, api_params: dict) -> Any:
        if operation_name != "CreateBucket":
            return original(self, operation_name, api_params)
        name = api_params["Bucket"]
        if "acl" in wanted and api_params.get("ObjectOwnership") is None:
            acl = {k: v for k, v in api_params.items() if k == "ACL" or k.startswith("Grant")}
            plain = {k: v for k, v in api_params.items() if k not in acl}
            result = original(self, operation_name, {**plain, "ObjectOwnership": "ObjectWriter"})
            original(self, "DeletePublicAccessBlock", {"Bucket": name})
            if acl:
                original(self, "PutBucketAcl", {"Bucket": name, **acl})
        else:
            result = original(self, operation_name, api_params)
        if "sse-c" in wanted:
            original(self, "PutBucketEncryption", {"Bucket": name, "ServerSideEncryptionConfiguration": {"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                 "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]}})
        return result

    make_api_call._cloudkeep_legacy = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
