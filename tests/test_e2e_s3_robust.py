"""S3 robustness end to end against the real server: a Signature Version 2 Authorization header,
and a CompleteMultipartUpload whose part list names a part number twice.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authenticating-requests.html
(S3 accepts only AWS4-HMAC-SHA256 in new regions; a SigV2 header is answered 400 InvalidRequest
"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
the wording of S3's answer as clients quote it), and
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html (InvalidPartOrder:
the parts list must be in ascending order by part number).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
from email.utils import formatdate
from urllib.parse import urlsplit

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudkeep.testing.server import client_for
from s3_support import bucket_name, fails, s3

MSG_USE_SIGV4 = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."


def _send(endpoint: str, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _sigv2_header(account, string_to_sign: str) -> str:
    mac = hmac.new(account.secret_access_key.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return f"AWS {account.access_key_id}:{base64.b64encode(mac).decode()}"


def test_s3_sigv2_authorization_header_is_invalid_request(cloudkeep_account):
    name = bucket_name()
    s3(cloudkeep_account).create_bucket(Bucket=name)
    date = formatdate(usegmt=True)
    auth = _sigv2_header(cloudkeep_account, f"GET\n\n\n{date}\n/{name}/")
    status, body = _send(cloudkeep_account.endpoint, "GET", f"/{name}/", {"Date": date, "Authorization": auth})
    assert status == 400, body
    assert b"<Code>InvalidRequest</Code>" in body
    assert f"<Message>{MSG_USE_SIGV4}</Message>".encode() in body


def test_s3_sigv2_header_on_an_object_put_writes_nothing(cloudkeep_account):
    name = bucket_name()
    client = s3(cloudkeep_account)
    client.create_bucket(Bucket=name)
    date = formatdate(usegmt=True)
    auth = _sigv2_header(cloudkeep_account, f"PUT\n\napplication/octet-stream\n{date}\n/{name}/k")
    status, body = _send(cloudkeep_account.endpoint, "PUT", f"/{name}/k",
                         {"Date": date, "Authorization": auth, "Content-Type": "application/octet-stream"},
                         b"never stored")
    assert status == 400 and b"<Code>InvalidRequest</Code>" in body
    assert client.list_objects_v2(Bucket=name)["KeyCount"] == 0


def test_boto3_with_the_sigv2_signer_gets_invalid_request(cloudkeep_account):
    legacy = client_for(cloudkeep_account.endpoint, "s3", cloudkeep_account.access_key_id,
                        cloudkeep_account.secret_access_key,
                        config=Config(signature_version="s3", retries={"max_attempts": 1}))
    code, message, status = fails(legacy.list_buckets)
    assert (code, message, status) == ("InvalidRequest", MSG_USE_SIGV4, 400)


def test_sigv2_header_on_a_query_service_stays_incomplete_signature(cloudkeep_account):
    body = b"Action=ListUsers&Version=2010-05-08"
    date = formatdate(usegmt=True)
    status, answer = _send(cloudkeep_account.endpoint, "POST", "/", {
        "Date": date, "Authorization": _sigv2_header(cloudkeep_account, f"POST\n\n\n{date}\n/"),
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, body)
    assert status == 400, answer
    assert b"<Code>IncompleteSignature</Code>" in answer
    assert b"Unsupported AWS 'algorithm': 'AWS'." in answer


# --- CompleteMultipartUpload with a part number listed twice


@pytest.fixture
def upload(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    upload_id = client.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    return client, name, upload_id


def test_part_number_listed_twice_with_the_same_etag_is_invalid_part_order(upload):
    client, name, upload_id = upload
    etag = client.upload_part(Bucket=name, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"one")["ETag"]
    parts = [{"PartNumber": 1, "ETag": etag}, {"PartNumber": 1, "ETag": etag}]
    code, message, status = fails(client.complete_multipart_upload, Bucket=name, Key="mp", UploadId=upload_id,
                                  MultipartUpload={"Parts": parts})
    assert (code, status) == ("InvalidPartOrder", 400)
    assert message == "The list of parts was not in ascending order. Parts must be ordered by part number."
    # nothing was completed: the upload is still there, the key is not
    assert [p["PartNumber"] for p in client.list_parts(Bucket=name, Key="mp", UploadId=upload_id)["Parts"]] == [1]
    with pytest.raises(ClientError) as missing:
        client.head_object(Bucket=name, Key="mp")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_resent_part_listed_stale_then_current_is_invalid_part_order(upload):
    # s3-tests' test_multipart_resend_first_finishes_last: part 1 written twice; the list names the
    # overwritten upload's ETag, then the current one. The order check comes before any ETag check.
    client, name, upload_id = upload
    stale = client.upload_part(Bucket=name, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"A" * 8)["ETag"]
    current = client.upload_part(Bucket=name, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"C" * 8)["ETag"]
    assert stale != current
    code, _message, status = fails(client.complete_multipart_upload, Bucket=name, Key="mp", UploadId=upload_id,
                                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": stale},
                                                              {"PartNumber": 1, "ETag": current}]})
    assert (code, status) == ("InvalidPartOrder", 400)
    # the current part alone completes, with the current body
    client.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload_id,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": current}]})
    assert client.get_object(Bucket=name, Key="mp")["Body"].read() == b"C" * 8


def test_unknown_etag_in_an_ordered_list_is_still_invalid_part(upload):
    client, name, upload_id = upload
    client.upload_part(Bucket=name, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"one")
    code, _message, status = fails(client.complete_multipart_upload, Bucket=name, Key="mp", UploadId=upload_id,
                                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"' + "f" * 32 + '"'}]})
    assert (code, status) == ("InvalidPart", 400)


def test_invalid_part_order_is_found_even_after_a_part_that_does_not_exist(upload):
    # part 2 was never uploaded (InvalidPart if looked up), yet the list's order is judged first
    client, name, upload_id = upload
    etag = client.upload_part(Bucket=name, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"one")["ETag"]
    code, _message, status = fails(client.complete_multipart_upload, Bucket=name, Key="mp", UploadId=upload_id,
                                   MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etag},
                                                              {"PartNumber": 1, "ETag": etag}]})
    assert (code, status) == ("InvalidPartOrder", 400)
