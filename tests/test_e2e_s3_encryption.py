"""S3 encryption at rest beyond SSE-S3, end to end with boto3 over HTTP and HTTPS: default bucket
encryption, SSE-KMS through KMS (kms:ViaService, denied kms:Decrypt, disabled and deleted keys,
the aws/s3 AWS managed key, S3 Bucket Keys), SSE-C (HTTPS only, blocked on new buckets, wrong or
missing keys, copies), bucket policies that require encryption or HTTPS, and what lands on disk.

Pages: https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html,
https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudkeep.testing.server import CloudkeepServer, client_for, free_port
from tests.s3_support import bucket_name, err, fails, policy, user

REGION = "us-east-1"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    port = free_port()
    server = CloudkeepServer(data_dir=tmp_path_factory.mktemp("s3sse") / "data",
                             extra_args=["--tls", "--https-port", str(port)])
    with server:
        yield server, port, str(server.data_dir / "tls" / "ca.pem")


class Env:
    def __init__(self, server, port, ca):
        self.server = server
        self.account = server.create_account()
        self.port, self.ca = port, ca

    def http(self, service="s3"):
        return self.account.client(service, config=Config(retries={"max_attempts": 1}))

    def https(self, service="s3", key_id=None, secret=None):
        return client_for(f"https://localhost:{self.port}", service, key_id or self.account.access_key_id,
                          secret or self.account.secret_access_key, verify=self.ca, region=REGION,
                          config=Config(retries={"max_attempts": 1}))

    def bucket(self, **encryption):
        name = bucket_name("sse")
        client = self.http()
        client.create_bucket(Bucket=name)
        if encryption:
            client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [encryption]})
        return name


@pytest.fixture
def env(tls):
    return Env(*tls)


def _kms_key(env, policy_doc=None):
    kms = env.http("kms")
    kwargs = {"Policy": policy_doc} if policy_doc else {}
    return kms.create_key(**kwargs)["KeyMetadata"]["Arn"]


def _ssec(key: bytes, prefix="SSECustomer"):
    return {f"{prefix}Algorithm": "AES256", f"{prefix}Key": key}


# --- default encryption ------------------------------------------------------------------------------


def test_new_bucket_encrypts_with_sse_s3_and_blocks_sse_c(env):
    name = env.bucket()
    client = env.http()
    rule = client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert rule["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    assert client.put_object(Bucket=name, Key="k", Body=b"x")["ServerSideEncryption"] == "AES256"
    assert client.head_object(Bucket=name, Key="k")["ServerSideEncryption"] == "AES256"


def test_bucket_default_sse_kms_with_bucket_key(env):
    arn = _kms_key(env)
    name = env.bucket(ApplyServerSideEncryptionByDefault={"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": arn},
                      BucketKeyEnabled=True)
    client = env.http()
    rule = client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": arn}
    assert rule["BucketKeyEnabled"] is True
    out = client.put_object(Bucket=name, Key="k", Body=b"hello kms")
    assert (out["ServerSideEncryption"], out["SSEKMSKeyId"], out["BucketKeyEnabled"]) == ("aws:kms", arn, True)
    got = client.get_object(Bucket=name, Key="k")
    assert got["Body"].read() == b"hello kms"
    assert (got["ServerSideEncryption"], got["SSEKMSKeyId"], got["BucketKeyEnabled"]) == ("aws:kms", arn, True)
    # an explicit SSE-S3 request still wins over the bucket default
    assert client.put_object(Bucket=name, Key="s3", Body=b"x", ServerSideEncryption="AES256")[
        "ServerSideEncryption"] == "AES256"
    client.delete_bucket_encryption(Bucket=name)
    rule = client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_kms_master_key_id_needs_aws_kms(env):
    name = env.bucket()
    code, _, status = fails(env.http().put_bucket_encryption, Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}]})
    assert (code, status) == ("InvalidArgument", 400)


# --- SSE-KMS -----------------------------------------------------------------------------------------


def test_sse_kms_put_get_head_copy_and_multipart(env):
    arn = _kms_key(env)
    name = env.bucket()
    client = env.http()
    context = base64.b64encode(json.dumps({"team": "blue"}).encode()).decode()
    out = client.put_object(Bucket=name, Key="k", Body=b"secret", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn,
                            SSEKMSEncryptionContext=context)
    assert (out["ServerSideEncryption"], out["SSEKMSKeyId"]) == ("aws:kms", arn)
    assert "BucketKeyEnabled" not in out
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"secret"
    assert client.head_object(Bucket=name, Key="k")["SSEKMSKeyId"] == arn
    copied = client.copy_object(Bucket=name, Key="c", CopySource={"Bucket": name, "Key": "k"})
    assert copied["ServerSideEncryption"] == "AES256"       # the destination bucket's default
    assert client.get_object(Bucket=name, Key="c")["Body"].read() == b"secret"
    upload = client.create_multipart_upload(Bucket=name, Key="m", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    assert upload["SSEKMSKeyId"] == arn
    part = client.upload_part(Bucket=name, Key="m", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 10)
    assert part["SSEKMSKeyId"] == arn
    done = client.complete_multipart_upload(Bucket=name, Key="m", UploadId=upload["UploadId"],
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert done["ServerSideEncryption"] == "aws:kms"
    assert client.get_object(Bucket=name, Key="m")["Body"].read() == b"p" * 10


def test_sse_kms_without_key_id_uses_the_aws_managed_aws_s3_key(env):
    name = env.bucket()
    client = env.http()
    out = client.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    kms = env.http("kms")
    meta = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert out["SSEKMSKeyId"] == meta["Arn"]
    assert meta["KeyManager"] == "AWS"
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"x"
    # the key policy lets the account use aws/s3 only through S3 (kms:ViaService)
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"direct")
    assert err(exc)[0] == "AccessDeniedException"
    # one key per account and region, reused
    assert client.put_object(Bucket=name, Key="k2", Body=b"y", ServerSideEncryption="aws:kms")[
        "SSEKMSKeyId"] == meta["Arn"]


def test_key_policy_with_kms_via_service_allows_through_s3_only(env):
    acct = env.account.account_id
    user_arn, make = user(env.account, f"u{uuid.uuid4().hex[:8]}",
                          {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    arn = _kms_key(env, policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}}))
    name = env.bucket()
    s3 = make()
    s3.put_object(Bucket=name, Key="k", Body=b"via s3", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"via s3"
    with pytest.raises(ClientError) as exc:
        make("kms").generate_data_key(KeyId=arn, KeySpec="AES_256")
    assert err(exc)[0] == "AccessDeniedException"


def test_denied_kms_decrypt_makes_the_object_unreadable(env):
    arn = _kms_key(env)
    _, make = user(env.account, f"u{uuid.uuid4().hex[:8]}",
                   {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                   {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": arn})
    name = env.bucket()
    s3 = make()
    s3.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    code, message, status = fails(s3.get_object, Bucket=name, Key="k")
    assert (code, status) == ("AccessDenied", 403)
    assert "kms:Decrypt" in message
    # without kms:GenerateDataKey the write is refused and nothing is stored
    _, other = user(env.account, f"v{uuid.uuid4().hex[:8]}", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    code, message, status = fails(other().put_object, Bucket=name, Key="n", Body=b"x",
                                  ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    assert (code, status) == ("AccessDenied", 403) and "kms:GenerateDataKey" in message
    assert fails(env.http().head_object, Bucket=name, Key="n")[2] == 404


def test_disabled_and_deleted_keys_make_objects_unreadable(env):
    arn = _kms_key(env)
    name = env.bucket()
    client, kms = env.http(), env.http("kms")
    client.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    kms.disable_key(KeyId=arn)
    code, message, status = fails(client.get_object, Bucket=name, Key="k")
    assert (code, status) == ("KMS.DisabledException", 400)
    assert message == f"{arn} is disabled."
    assert fails(client.put_object, Bucket=name, Key="k2", Body=b"x", ServerSideEncryption="aws:kms",
                 SSEKMSKeyId=arn)[0] == "KMS.DisabledException"
    client.head_object(Bucket=name, Key="k")          # HEAD needs no key
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    code, message, status = fails(client.get_object, Bucket=name, Key="k")
    assert (code, status) == ("KMS.KMSInvalidStateException", 400)
    assert message == f"{arn} is pending deletion."
    kms.cancel_key_deletion(KeyId=arn)
    kms.enable_key(KeyId=arn)
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"x"


def test_unknown_kms_key_and_kms_headers_without_aws_kms(env):
    name = env.bucket()
    client = env.http()
    code, _, status = fails(client.put_object, Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                            SSEKMSKeyId="alias/none-such")
    assert (code, status) == ("KMS.NotFoundException", 400)
    code, _, status = fails(client.put_object, Bucket=name, Key="k", Body=b"x", SSEKMSKeyId="alias/none-such")
    assert (code, status) == ("InvalidArgument", 400)


def test_bucket_key_context_is_the_bucket_arn(env):
    """With S3 Bucket Keys the encryption context is the bucket ARN: a key policy pinned to it allows."""
    acct = env.account.account_id
    name = bucket_name("sse")
    user_arn, make = user(env.account, f"u{uuid.uuid4().hex[:8]}",
                          {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    arn = _kms_key(env, policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{name}"}}}))
    env.http().create_bucket(Bucket=name)
    s3 = make()
    s3.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn,
                  BucketKeyEnabled=True)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"x"
    code, _, _ = fails(s3.put_object, Bucket=name, Key="k2", Body=b"x", ServerSideEncryption="aws:kms",
                       SSEKMSKeyId=arn)            # object ARN context: not allowed by the key policy
    assert code == "AccessDenied"


# --- SSE-C -------------------------------------------------------------------------------------------


def _unblocked(env):
    return env.bucket(ApplyServerSideEncryptionByDefault={"SSEAlgorithm": "AES256"},
                      BlockedEncryptionTypes={"EncryptionType": ["NONE"]})


def test_sse_c_over_https_round_trip_and_wrong_or_missing_key(env):
    name = _unblocked(env)
    client = env.https()
    key, other = os.urandom(32), os.urandom(32)
    out = client.put_object(Bucket=name, Key="k", Body=b"customer data", **_ssec(key))
    assert out["SSECustomerAlgorithm"] == "AES256"
    assert out["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(key).digest()).decode()
    assert "ServerSideEncryption" not in out
    got = client.get_object(Bucket=name, Key="k", **_ssec(key))
    assert got["Body"].read() == b"customer data"
    assert got["SSECustomerKeyMD5"] == out["SSECustomerKeyMD5"]
    assert client.head_object(Bucket=name, Key="k", **_ssec(key))["SSECustomerAlgorithm"] == "AES256"
    code, message, status = fails(client.get_object, Bucket=name, Key="k")
    assert (code, status) == ("InvalidRequest", 400)
    assert message == ("The object was stored using a form of Server Side Encryption. The correct parameters must "
                       "be provided to retrieve the object.")
    assert fails(client.get_object, Bucket=name, Key="k", **_ssec(other))[:3:2] == ("AccessDenied", 403)
    assert fails(client.head_object, Bucket=name, Key="k")[2] == 400
    client.put_object(Bucket=name, Key="plain", Body=b"x")
    code, message, _ = fails(client.get_object, Bucket=name, Key="plain", **_ssec(key))
    assert (code, message) == ("InvalidRequest", "The encryption parameters are not applicable to this object.")


def test_sse_c_over_plain_http_is_refused(env):
    name = _unblocked(env)
    code, message, status = fails(env.http().put_object, Bucket=name, Key="k", Body=b"x", **_ssec(os.urandom(32)))
    assert (code, status) == ("InvalidRequest", 400)
    assert message == ("Requests specifying Server Side Encryption with Customer provided keys must be made over a "
                       "secure connection.")
    assert fails(env.http().head_object, Bucket=name, Key="k")[2] == 404


def test_sse_c_is_blocked_on_new_buckets(env):
    name = env.bucket()
    code, _, status = fails(env.https().put_object, Bucket=name, Key="k", Body=b"x", **_ssec(os.urandom(32)))
    assert (code, status) == ("AccessDenied", 403)


def test_sse_c_md5_mismatch_is_invalid_argument(env):
    name = _unblocked(env)
    client = env.https()
    def wrong_md5(params, **_):
        params["headers"]["x-amz-server-side-encryption-customer-key-MD5"] = "AAAAAAAAAAAAAAAAAAAAAA=="
    client.meta.events.register("before-call.s3.PutObject", wrong_md5)
    code, message, status = fails(client.put_object, Bucket=name, Key="k", Body=b"x", **_ssec(os.urandom(32)))
    assert (code, status) == ("InvalidArgument", 400)
    assert message == "The calculated MD5 hash of the key did not match the hash that was provided."


def test_copy_with_sse_c_source_and_destination(env):
    name = _unblocked(env)
    client = env.https()
    key, key2 = os.urandom(32), os.urandom(32)
    client.put_object(Bucket=name, Key="src", Body=b"copy me", **_ssec(key))
    # without the source's key the copy cannot read it
    assert fails(client.copy_object, Bucket=name, Key="d0", CopySource={"Bucket": name, "Key": "src"})[2] == 400
    out = client.copy_object(Bucket=name, Key="d1", CopySource={"Bucket": name, "Key": "src"},
                             **_ssec(key, "CopySourceSSECustomer"))
    assert out["ServerSideEncryption"] == "AES256"
    assert client.get_object(Bucket=name, Key="d1")["Body"].read() == b"copy me"
    client.copy_object(Bucket=name, Key="d2", CopySource={"Bucket": name, "Key": "src"},
                       **_ssec(key, "CopySourceSSECustomer"), **_ssec(key2))
    assert client.get_object(Bucket=name, Key="d2", **_ssec(key2))["Body"].read() == b"copy me"
    assert fails(client.get_object, Bucket=name, Key="d2", **_ssec(key))[2] == 403


# --- bucket policies requiring encryption ------------------------------------------------------------


def test_bucket_policy_denies_put_without_aws_kms(env):
    name = env.bucket()
    _, make = user(env.account, f"u{uuid.uuid4().hex[:8]}", {"Effect": "Allow", "Action": ["s3:*", "kms:*"],
                                                             "Resource": "*"})
    arn = _kms_key(env)
    env.http().put_bucket_policy(Bucket=name, Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
         "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": arn}}}))
    s3 = make()
    assert fails(s3.put_object, Bucket=name, Key="k", Body=b"x")[:3:2] == ("AccessDenied", 403)
    assert fails(s3.put_object, Bucket=name, Key="k", Body=b"x", ServerSideEncryption="AES256")[0] == "AccessDenied"
    other = _kms_key(env)
    assert fails(s3.put_object, Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                 SSEKMSKeyId=other)[0] == "AccessDenied"
    s3.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)


def test_bucket_policy_denies_requests_without_https(env):
    name = env.bucket()
    env.http().put_object(Bucket=name, Key="k", Body=b"x")
    env.http().put_bucket_policy(Bucket=name, Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    assert fails(env.http().get_object, Bucket=name, Key="k")[:3:2] == ("AccessDenied", 403)
    assert env.https().get_object(Bucket=name, Key="k")["Body"].read() == b"x"


# --- on disk -----------------------------------------------------------------------------------------


def test_no_plaintext_or_customer_key_on_disk(env, tls):
    server = tls[0]
    marker = b"PLAINTEXT-MARKER-" + uuid.uuid4().hex.encode()
    customer = os.urandom(32)
    name = _unblocked(env)
    client = env.https()
    client.put_object(Bucket=name, Key="kms", Body=marker * 100, ServerSideEncryption="aws:kms")
    client.put_object(Bucket=name, Key="ssec", Body=marker * 100, **_ssec(customer))
    client.put_object(Bucket=name, Key="s3", Body=marker * 100)
    needles = (marker, customer, base64.b64encode(customer))
    for root, _, files in os.walk(server.data_dir):
        for file in files:
            path = os.path.join(root, file)
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            for needle in needles:
                assert needle not in data, path


def test_get_and_head_refuse_the_sse_header(env):
    """"x-amz-server-side-encryption header is not supported for this operation." (400)."""
    name = env.bucket()
    client = env.http()
    client.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms")

    def add(params, **_):
        params["headers"]["x-amz-server-side-encryption"] = "aws:kms"
    client.meta.events.register("before-call.s3.GetObject", add)
    client.meta.events.register("before-call.s3.HeadObject", add)
    code, message, status = fails(client.get_object, Bucket=name, Key="k")
    assert (code, status) == ("InvalidArgument", 400)
    assert message == "x-amz-server-side-encryption header is not supported for this operation."
    assert fails(client.head_object, Bucket=name, Key="k")[2] == 400


def test_sse_c_multipart_upload_needs_the_key_on_every_part(env):
    name = _unblocked(env)
    client = env.https()
    key = os.urandom(32)
    upload = client.create_multipart_upload(Bucket=name, Key="m", **_ssec(key))
    assert upload["SSECustomerAlgorithm"] == "AES256"
    code, _, status = fails(client.upload_part, Bucket=name, Key="m", UploadId=upload["UploadId"], PartNumber=1,
                            Body=b"a" * 10)
    assert (code, status) == ("InvalidRequest", 400)
    assert fails(client.upload_part, Bucket=name, Key="m", UploadId=upload["UploadId"], PartNumber=1,
                 Body=b"a" * 10, **_ssec(os.urandom(32)))[2] == 403
    part = client.upload_part(Bucket=name, Key="m", UploadId=upload["UploadId"], PartNumber=1, Body=b"a" * 10,
                              **_ssec(key))
    client.complete_multipart_upload(Bucket=name, Key="m", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert client.get_object(Bucket=name, Key="m", **_ssec(key))["Body"].read() == b"a" * 10
    assert fails(client.get_object, Bucket=name, Key="m")[2] == 400


def test_the_aws_managed_key_cannot_be_disabled_by_the_account(env):
    """The aws/s3 key policy gives the account only Describe*, Get*, List* directly."""
    env.http().put_object(Bucket=env.bucket(), Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    kms = env.http("kms")
    with pytest.raises(ClientError) as exc:
        kms.disable_key(KeyId=kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"])
    assert err(exc)[0] == "AccessDeniedException"
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert "alias/aws/s3" in aliases


def test_etag_is_the_md5_only_for_sse_s3(env):
    """RESTCommonResponseHeaders.html: SSE-C and SSE-KMS objects have ETags that are not an MD5
    digest of their data; Content-MD5 is still checked against the data."""
    name = _unblocked(env)
    client = env.https()
    body = b"etag body"
    md5 = f'"{hashlib.md5(body).hexdigest()}"'
    assert client.put_object(Bucket=name, Key="s3", Body=body)["ETag"] == md5
    kms_etag = client.put_object(Bucket=name, Key="kms", Body=body, ServerSideEncryption="aws:kms")["ETag"]
    ssec_etag = client.put_object(Bucket=name, Key="c", Body=body, **_ssec(os.urandom(32)))["ETag"]
    assert md5 not in (kms_etag, ssec_etag) and len(kms_etag) == len(ssec_etag) == len(md5)
    assert client.head_object(Bucket=name, Key="kms")["ETag"] == kms_etag
    client.put_object(Bucket=name, Key="kms", Body=body, ServerSideEncryption="aws:kms",
                      ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())


def test_sse_c_reads_need_no_key_md5_and_a_short_key_is_a_wrong_key(env):
    """On a GET the key MD5 may be left out (200) and a key of the wrong length is 403, while a
    PUT needs the MD5 and answers a short key with 400 (behaviour recorded against AWS by an S3
    compliance suite's SSE-C tests)."""
    name = _unblocked(env)
    client = env.https()
    key = os.urandom(32)
    client.put_object(Bucket=name, Key="k", Body=b"x", **_ssec(key))

    def drop_md5(params, **_):
        params["headers"].pop("x-amz-server-side-encryption-customer-key-MD5", None)
    client.meta.events.register("before-call.s3.GetObject", drop_md5)
    client.meta.events.register("before-call.s3.PutObject", drop_md5)
    assert client.get_object(Bucket=name, Key="k", **_ssec(key))["Body"].read() == b"x"
    assert fails(client.put_object, Bucket=name, Key="k2", Body=b"x", **_ssec(key))[:3:2] == ("InvalidArgument", 400)
    assert fails(client.get_object, Bucket=name, Key="k", **_ssec(b"short"))[:3:2] == ("AccessDenied", 403)
    assert fails(client.put_object, Bucket=name, Key="k2", Body=b"x", **_ssec(b"short"))[2] == 400


def test_a_deleted_key_leaves_the_object_unreadable(env):
    """Once the key's deletion date has passed, KMS no longer has it: the GET answers KMS's
    NotFoundException as S3 passes it on (400 KMS.NotFoundException)."""
    arn = _kms_key(env)
    name = env.bucket()
    client, kms = env.http(), env.http("kms")
    client.put_object(Bucket=name, Key="k", Body=b"gone", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    env.server.advance(8 * 86400)
    code, message, status = fails(client.get_object, Bucket=name, Key="k")
    assert (code, status) == ("KMS.NotFoundException", 400)
    assert arn in message
    client.head_object(Bucket=name, Key="k")        # the object is still there, its key is not
