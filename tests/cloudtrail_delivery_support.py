"""Helpers of the trail, delivery and validation tests: a bucket whose policy lets CloudTrail
write (AWS's "Amazon S3 bucket policy for CloudTrail"), trail ARNs, and reading delivered files.
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html"""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

CLOUDTRAIL = {"Service": "cloudtrail.amazonaws.com"}


def trail_arn(account_id: str, name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:cloudtrail:{region}:{account_id}:trail/{name}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def cloudtrail_bucket_policy(bucket: str, account_id: str, trail: str | None = None, *, prefix: str = "",
                             region: str = "us-east-1", org_id: str | None = None) -> str:
    """AWS's documented bucket policy for a trail (aws:SourceArn when ``trail`` is given)."""
    source = {"aws:SourceArn": trail_arn(account_id, trail, region)} if trail else {}
    root = f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}AWSLogs"
    resources = [f"{root}/{account_id}/*"] + ([f"{root}/{org_id}/*"] if org_id else [])
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": CLOUDTRAIL, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{bucket}", **({"Condition": {"StringEquals": source}} if source else {})},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": CLOUDTRAIL, "Action": "s3:PutObject",
         "Resource": resources,
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}}},
    ]})


def trail_bucket(account: Any, trail: str | None = None, **kwargs: Any) -> str:
    """A new bucket of the account with CloudTrail's bucket policy."""
    s3 = account.client("s3")
    bucket = unique("trail")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=cloudtrail_bucket_policy(bucket, account.account_id, trail, **kwargs))
    return bucket


def error_of(fn: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return exc.value.response["Error"]["Code"], exc.value.response["Error"].get("Message", "")


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    out: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def records(s3: Any, bucket: str, prefix: str = "") -> list[dict]:
    """Every record of every log file (not digests) under ``prefix``."""
    out: list[dict] = []
    for key in keys(s3, bucket, prefix):
        if "/CloudTrail/" in key:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            out += json.loads(gzip.decompress(body))["Records"]
    return out


def deliver(server: Any, *, digests: bool = False) -> dict:
    """Writes the server's audit queue and delivers every trail's pending events now (test hook)."""
    out = server._post("/_cloudkeep/test/cloudtrail/deliver", {"digests": digests})
    assert out["delivered"], out
    return out


def logging_trail(account: Any, name: str, *, selectors: dict | None = None, **kwargs: Any) -> tuple[str, str]:
    """(bucket, trail ARN) of a new trail that is logging (with ``selectors``, the arguments of
    PutEventSelectors, put before it starts: the delivery worker may deliver at any moment)."""
    ct = account.client("cloudtrail")
    org_id = kwargs.pop("org_id", None)
    bucket = trail_bucket(account, name, prefix=kwargs.get("S3KeyPrefix", ""), org_id=org_id)
    arn = ct.create_trail(Name=name, S3BucketName=bucket, **kwargs)["TrailARN"]
    if selectors is not None:
        ct.put_event_selectors(TrailName=name, **selectors)
    ct.start_logging(Name=name)
    return bucket, arn


#: a trail's selectors that log every S3 object-level call, and no management event
ALL_S3_DATA = {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False,
                                   "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]}


def record_data_events(server: Any) -> Any:
    """A new account of ``server`` with a logging trail that selects every S3 data event: from
    then on the server records data events (it records none while no logging trail selects
    them, as CloudTrail logs data events only for trails configured for them)."""
    account = server.create_account()
    logging_trail(account, unique("data-events")[:40], selectors=ALL_S3_DATA)
    return account
