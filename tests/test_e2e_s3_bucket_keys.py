"""S3 Bucket Keys end to end: with a Bucket Key, S3 asks KMS for a bucket-level key once per
requester and period and makes every object's data key from it, so the account's CloudTrail
shows one GenerateDataKey for many PUTs and one Decrypt for many GETs (under the bucket ARN as
encryption context); without one, each object costs a KMS call. Another principal gets its own
bucket-level key, so KMS authorizes it too; the period ends on the domain clock.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html
"""

from __future__ import annotations

import json
import uuid

from botocore.config import Config

from s3_support import bucket_name, fails, user


def _kms_calls(server, account, name: str, bucket: str) -> int:
    """KMS calls of this operation recorded in the account's event history for this bucket."""
    server.flush()
    trail = account.client("cloudtrail")
    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
    count = 0
    for page in pages:
        for event in page["Events"]:
            record = json.loads(event["CloudTrailEvent"])
            context = (record.get("requestParameters") or {}).get("encryptionContext") or {}
            if record["eventSource"] == "kms.amazonaws.com" and bucket in context.get("aws:s3:arn", ""):
                count += 1
    return count


def _setup(account, *, bucket_key: bool):
    s3 = account.client("s3", config=Config(retries={"max_attempts": 1}))
    key = account.client("kms").create_key()["KeyMetadata"]["Arn"]
    name = bucket_name("bk")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
        "BucketKeyEnabled": bucket_key}]})
    return s3, key, name


def test_a_bucket_key_makes_one_kms_call_for_many_objects(cloudkeep_server):
    account = cloudkeep_server.create_account()
    s3, key, name = _setup(account, bucket_key=True)
    for i in range(5):
        out = s3.put_object(Bucket=name, Key=f"k{i}", Body=f"body {i}".encode())
        assert (out["ServerSideEncryption"], out["SSEKMSKeyId"], out["BucketKeyEnabled"]) == ("aws:kms", key, True)
    assert _kms_calls(cloudkeep_server, account, "GenerateDataKey", name) == 1
    for i in range(5):
        assert s3.get_object(Bucket=name, Key=f"k{i}")["Body"].read() == f"body {i}".encode()
    # the writer already holds the bucket-level key: reads need no Decrypt within the period
    assert _kms_calls(cloudkeep_server, account, "Decrypt", name) == 0
    cloudkeep_server.advance(301)                 # the period is over: KMS decides again
    assert s3.get_object(Bucket=name, Key="k0")["Body"].read() == b"body 0"
    assert s3.get_object(Bucket=name, Key="k1")["Body"].read() == b"body 1"
    assert _kms_calls(cloudkeep_server, account, "Decrypt", name) == 1
    s3.put_object(Bucket=name, Key="later", Body=b"x")
    assert _kms_calls(cloudkeep_server, account, "GenerateDataKey", name) == 2
    # copies and multipart uploads under the bucket key
    s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "k2"})
    assert s3.get_object(Bucket=name, Key="copy")["Body"].read() == b"body 2"
    upload = s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=b"part one")
    s3.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    got = s3.get_object(Bucket=name, Key="mp")
    assert got["Body"].read() == b"part one" and got["BucketKeyEnabled"] is True


def test_without_a_bucket_key_every_object_calls_kms(cloudkeep_server):
    account = cloudkeep_server.create_account()
    s3, _, name = _setup(account, bucket_key=False)
    for i in range(3):
        s3.put_object(Bucket=name, Key=f"k{i}", Body=b"x")
    for i in range(3):
        s3.get_object(Bucket=name, Key=f"k{i}")["Body"].read()
    assert _kms_calls(cloudkeep_server, account, "GenerateDataKey", name) == 3
    assert _kms_calls(cloudkeep_server, account, "Decrypt", name) == 3


def test_each_principal_gets_its_own_bucket_key_and_kms_authorizes_it(cloudkeep_server):
    account = cloudkeep_server.create_account()
    s3, key, name = _setup(account, bucket_key=True)
    s3.put_object(Bucket=name, Key="by-root", Body=b"root's")
    reader_arn, make = user(account, f"r{uuid.uuid4().hex[:8]}",
                            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    reader = make()
    # no KMS permission: the reader's first use of the bucket key goes to KMS, which refuses
    code, _, status = fails(reader.get_object, Bucket=name, Key="by-root")
    assert (code, status) == ("AccessDenied", 403)
    account.client("iam").put_user_policy(UserName=reader_arn.rsplit("/", 1)[-1], PolicyName="kms",
                                          PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                                              "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                              "Resource": key}]}))
    assert reader.get_object(Bucket=name, Key="by-root")["Body"].read() == b"root's"
    reader.put_object(Bucket=name, Key="by-reader", Body=b"reader's")
    assert s3.get_object(Bucket=name, Key="by-reader")["Body"].read() == b"reader's"
    assert _kms_calls(cloudkeep_server, account, "GenerateDataKey", name) == 2     # one per principal
