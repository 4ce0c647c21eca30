"""A pytest plugin the s3-tests runner loads with ``--legacy-defaults`` (a diagnostic, not a
result): every bucket the suite creates gets S3's defaults from before April 2023, which the
suite was written for — Object Ownership ``ObjectWriter`` (ACLs enabled) and no Block Public
Access settings — so that the ACL and policy tests exercise the ACL and policy machinery rather
than AWS's current defaults (https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-faq.html).

It wraps botocore's ``BaseClient._make_api_call``: a ``CreateBucket`` without
``ObjectOwnership`` is sent with ``ObjectWriter``, and a bucket so created has its Block Public
Access configuration deleted right after. Nothing else the suite sends or checks changes.

Must not: be loaded for a result row (the runner's default run never loads it).
"""

from __future__ import annotations

from typing import Any


def pytest_configure(config: Any) -> None:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    if getattr(original, "_cloudkeep_legacy", False):
        return

    def make_api_call(self: Any, operation_name: str, api_params: dict) -> Any:
        if operation_name != "CreateBucket" or api_params.get("ObjectOwnership") is not None:
            return original(self, operation_name, api_params)
        result = original(self, operation_name, {**api_params, "ObjectOwnership": "ObjectWriter"})
        original(self, "DeletePublicAccessBlock", {"Bucket": api_params["Bucket"]})
        return result

    make_api_call._cloudkeep_legacy = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
