"""S3 payload modes over HTTP and HTTPS, from real clients: boto3 and the AWS CLI upload objects
that read back intact when the request authenticates, and are refused (403, nothing written)
when it does not.

Over HTTPS boto3 sends PutObject as aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER with a
trailing checksum; the signed chunk mode (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, used by the Java
and Go SDKs) is built here by hand, chunk signatures and all, from AWS's documented algorithm:
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudkeep.auth import checksums
from cloudkeep.testing.server import CloudkeepServer, client_for, free_port


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    port = free_port()
    server = CloudkeepServer(data_dir=tmp_path_factory.mktemp("s3tls") / "data",
                             extra_args=["--tls", "--https-port", str(port)])
    with server:
        yield server, port, str(server.data_dir / "tls" / "ca.pem")


def _https_s3(account, port, ca, secret=None, **config):
    return client_for(f"https://localhost:{port}", "s3", account.access_key_id,
                      secret or account.secret_access_key, verify=ca,
                      config=Config(retries={"max_attempts": 1}, **config))


def _status(exc: ClientError) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _bucket(client, account) -> str:
    """The account's bucket (bucket names are global across the server's accounts)."""
    name = f"bucket-{account.account_id}"
    client.create_bucket(Bucket=name)
    return name


def _stored(client, bucket: str, key: str) -> bytes | None:
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchKey"
        return None


@pytest.mark.parametrize("algorithm", [None, "CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"])
def test_boto3_over_https_sends_a_trailer_checksum_and_is_authenticated(tls, algorithm):
    server, port, ca = tls
    account = server.create_account()
    s3 = _https_s3(account, port, ca)
    bucket = _bucket(s3, account)
    seen = {}
    s3.meta.events.register("before-send.s3.PutObject",
                            lambda request, **kw: seen.update(sha=request.headers.get("x-amz-content-sha256")))
    kwargs = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    body = os.urandom(70_000)
    s3.put_object(Bucket=bucket, Key="k", Body=body, **kwargs)
    sha = seen["sha"]
    assert (sha.decode() if isinstance(sha, bytes) else sha) == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got[f"Checksum{algorithm or 'CRC32'}"] == checksums.compute(algorithm or "CRC32", body)


def test_boto3_over_https_with_a_wrong_secret_is_refused(tls):
    server, port, ca = tls
    account = server.create_account()
    bucket = _bucket(_https_s3(account, port, ca), account)
    with pytest.raises(ClientError) as exc:
        _https_s3(account, port, ca, secret="v" * 40).put_object(Bucket=bucket, Key="k", Body=b"x")
    assert _status(exc) == 403
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert _stored(_https_s3(account, port, ca), bucket, "k") is None


def test_boto3_over_https_signed_payload_and_unsigned_payload(tls):
    server, port, ca = tls
    account = server.create_account()
    bucket = _bucket(_https_s3(account, port, ca), account)
    for index, config in enumerate(({"s3": {"payload_signing_enabled": True}},
                                    {"request_checksum_calculation": "when_required"})):
        _https_s3(account, port, ca, **config).put_object(Bucket=bucket, Key=f"k{index}", Body=b"abc")
        assert _stored(_https_s3(account, port, ca), bucket, f"k{index}") == b"abc"


def test_presigned_url_over_https(tls):
    import ssl
    import urllib.request
    server, port, ca = tls
    account = server.create_account()
    client = _https_s3(account, port, ca)
    bucket = _bucket(client, account)
    client.put_object(Bucket=bucket, Key="k", Body=b"presigned")
    url = _https_s3(account, port, ca, signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    context = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url, context=context, timeout=30) as response:
        assert response.status == 200 and response.read() == b"presigned"


# --- STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signed chunk by chunk ------------------------------------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _signed_chunked_put(endpoint: str, account, path: str, payload: bytes, *, chunk: int = 65536,
                        forge: int | None = None, secure_context=None) -> tuple[int, bytes]:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    sizes = [len(payload[i:i + chunk]) for i in range(0, len(payload), chunk)] + [0]
    encoded_length = sum(len(f"{s:x}") + len(";chunk-signature=") + 64 + 2 + s + 2 for s in sizes)
    headers = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "x-amz-decoded-content-length": str(len(payload)), "Content-Encoding": "aws-chunked",
               "Content-Length": str(encoded_length)}
    class StreamingAuth(S3SigV4Auth):
        def payload(self, request):  # the seed signature covers the streaming marker, not a hash
            return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

    req = AWSRequest(method="PUT", url=endpoint + path, headers=headers)
    StreamingAuth(Credentials(account.access_key_id, account.secret_access_key), "s3", "us-east-1").add_auth(req)
    auth = req.headers["Authorization"]
    seed = auth.rsplit("Signature=", 1)[1]
    amz_date = req.headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + account.secret_access_key).encode(), amz_date[:8]), "us-east-1"),
                      "s3"), "aws4_request")
    previous, body = seed, b""
    empty = hashlib.sha256(b"").hexdigest()
    for index, size in enumerate(sizes):
        data = payload[index * chunk:index * chunk + size]
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty,
                             hashlib.sha256(data).hexdigest()])
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if forge == index:
            signature = "0" * 64
        body += f"{size:x};chunk-signature={signature}\r\n".encode() + data + b"\r\n"
        previous = signature
    assert len(body) == encoded_length
    parts = urlsplit(endpoint)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30, context=secure_context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("PUT", path, body=body, headers=dict(req.headers.items()))
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_signed_chunks_over_http_are_verified(cloudkeep_account):
    client = cloudkeep_account.client("s3")
    bucket = _bucket(client, cloudkeep_account)
    payload = os.urandom(150_000)
    status, body = _signed_chunked_put(cloudkeep_account.endpoint, cloudkeep_account, f"/{bucket}/k", payload,
                                       forge=1)
    assert status == 403 and b"SignatureDoesNotMatch" in body
    assert _stored(client, bucket, "k") is None
    status, _ = _signed_chunked_put(cloudkeep_account.endpoint, cloudkeep_account, f"/{bucket}/k", payload)
    assert status == 200
    assert _stored(client, bucket, "k") == payload


def test_signed_chunks_over_https_are_verified(tls):
    import ssl
    server, port, ca = tls
    account = server.create_account()
    client = _https_s3(account, port, ca)
    bucket = _bucket(client, account)
    context = ssl.create_default_context(cafile=ca)
    status, _ = _signed_chunked_put(f"https://localhost:{port}", account, f"/{bucket}/k", b"z" * 100_000,
                                    forge=0, secure_context=context)
    assert status == 403
    assert _stored(client, bucket, "k") is None
    status, _ = _signed_chunked_put(f"https://localhost:{port}", account, f"/{bucket}/k", b"z" * 100_000,
                                    secure_context=context)
    assert status == 200
    assert _stored(client, bucket, "k") == b"z" * 100_000


def test_large_signed_chunked_upload_is_spooled_and_verified(cloudkeep_account):
    client = cloudkeep_account.client("s3")
    bucket = _bucket(client, cloudkeep_account)
    payload = b"q" * (18 * 1024 * 1024)      # past the adapter's in-memory size
    status, _ = _signed_chunked_put(cloudkeep_account.endpoint, cloudkeep_account, f"/{bucket}/big", payload,
                                    chunk=1024 * 1024, forge=17)
    assert status == 403
    assert _stored(client, bucket, "big") is None
    status, _ = _signed_chunked_put(cloudkeep_account.endpoint, cloudkeep_account, f"/{bucket}/big", payload,
                                    chunk=1024 * 1024)
    assert status == 200
    assert _stored(client, bucket, "big") == payload


# --- the AWS CLI ------------------------------------------------------------------------------------

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is installed with the test extras")
def test_aws_cli_reaches_s3_over_http_and_https(tls, tmp_path):
    server, port, ca = tls
    account = server.create_account()
    bucket = _bucket(_https_s3(account, port, ca), account)
    body = tmp_path / "body.bin"
    body.write_bytes(b"c" * 100_000)
    env = {**os.environ, **account.env, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    for index, (endpoint, extra) in enumerate(((server.endpoint, []), (f"https://localhost:{port}", ["--ca-bundle", ca]))):
        key = f"k{index}"
        out = subprocess.run([AWS, "s3api", "put-object", "--bucket", bucket, "--key", key, "--body", str(body),
                              "--endpoint-url", endpoint, *extra], env=env, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0 and json.loads(out.stdout)["ETag"], out.stderr
        assert _stored(_https_s3(account, port, ca), bucket, key) == b"c" * 100_000
        bad = {**env, "AWS_SECRET_ACCESS_KEY": "n" * 40}
        out = subprocess.run([AWS, "s3api", "put-object", "--bucket", bucket, "--key", "refused", "--body", str(body),
                              "--endpoint-url", endpoint, *extra], env=bad, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode != 0 and "SignatureDoesNotMatch" in out.stderr, out.stderr
        assert _stored(_https_s3(account, port, ca), bucket, "refused") is None
