"""S3 POST Object (browser-based uploads) end to end: forms built as browsers build them
(multipart/form-data, the file last) and sent with http.client, their fields and policy made by
boto3's ``generate_presigned_post`` (SigV4) or by hand.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html (fields, answers),
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html (policy),
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html (signature),
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (error codes).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.config import Config

from cloudkeep.testing.server import client_for
from s3_support import bucket_name, fails, policy, s3, user

def form(fields: list[tuple[str, str]], file: tuple[str, bytes] | None = ("hello.txt", b"hello"),
         after: list[tuple[str, str]] = ()) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser writes it: the fields, then the file part."""
    boundary = f"----WebKitFormBoundary{uuid.uuid4().hex[:16]}"
    out = bytearray()
    for name, value in fields:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n').encode()
        out += value.encode() + b"\r\n"
    if file is not None:
        filename, data = file
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode()
        out += data + b"\r\n"
    for name, value in after:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n').encode()
        out += value.encode() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def post(url: str, body: bytes, content_type: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("POST", parts.path or "/", body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    data = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, headers, data


def error_of(data: bytes) -> tuple[str, str]:
    root = ET.fromstring(data)
    return root.findtext("Code") or "", root.findtext("Message") or ""


def v4(client):
    """The same credentials as a client that signs forms with SigV4 (boto3's default for
    us-east-1 POST policies is still Signature Version 2)."""
    creds = client._request_signer._credentials
    return client_for(client.meta.endpoint_url, "s3", creds.access_key, creds.secret_key,
                      config=Config(signature_version="s3v4", retries={"max_attempts": 1}))


def presigned(client, bucket: str, key: str, **kw) -> tuple[str, list[tuple[str, str]]]:
    made = v4(client).generate_presigned_post(bucket, key, **kw)
    return made["url"], list(made["fields"].items())


def upload(url: str, fields: list[tuple[str, str]], data: bytes = b"hello", filename: str = "hello.txt",
           after: list[tuple[str, str]] = ()) -> tuple[int, dict[str, str], bytes]:
    body, content_type = form(fields, (filename, data), after)
    return post(url, body, content_type)


def missing(client, bucket: str, key: str) -> None:
    assert fails(client.head_object, Bucket=bucket, Key=key)[2] == 404


@pytest.fixture
def owned(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name("post")
    client.create_bucket(Bucket=name)
    return cloudkeep_account, client, name


# --- uploads --------------------------------------------------------------------------------------------


def test_a_presigned_post_uploads_the_file_and_answers_204_with_etag_and_location(owned):
    _, client, name = owned
    url, fields = presigned(client, name, "docs/a.txt")
    status, headers, data = upload(url, fields, b"hello form")
    assert (status, data) == (204, b"")
    assert headers["etag"] == '"%s"' % hashlib.md5(b"hello form").hexdigest()
    assert headers["location"].endswith(f"/{name}/docs%2Fa.txt")   # S3 encodes the key's slashes
    got = client.get_object(Bucket=name, Key="docs/a.txt")
    assert got["Body"].read() == b"hello form"
    assert got["ServerSideEncryption"] == "AES256"          # the bucket's default encryption


def test_success_action_status_201_answers_a_post_response_document_and_200_an_empty_body(owned):
    _, client, name = owned
    url, fields = presigned(client, name, "k201", Fields={"success_action_status": "201"},
                            Conditions=[{"success_action_status": "201"}])
    status, headers, data = upload(url, fields)
    assert status == 201
    root = ET.fromstring(data)                  # S3 writes this document without its namespace
    assert root.tag == "PostResponse"
    assert root.findtext("Bucket") == name and root.findtext("Key") == "k201"
    assert root.findtext("ETag") == headers["etag"]
    assert root.findtext("Location").endswith(f"/{name}/k201")
    url, fields = presigned(client, name, "k200", Fields={"success_action_status": "200"},
                            Conditions=[{"success_action_status": "200"}])
    assert upload(url, fields)[0::2] == (200, b"")
    url, fields = presigned(client, name, "k404", Fields={"success_action_status": "404"},
                            Conditions=[{"success_action_status": "404"}])
    assert upload(url, fields)[0] == 204                    # any other value: the default


def test_success_action_redirect_answers_303_with_bucket_key_and_etag(owned):
    _, client, name = owned
    target = "https://example.com/done?from=form"
    url, fields = presigned(client, name, "r.txt", Fields={"success_action_redirect": target},
                            Conditions=[{"success_action_redirect": target}])
    status, headers, _ = upload(url, fields, b"redirected")
    assert status == 303
    location = urlsplit(headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "example.com", "/done")
    query = parse_qs(location.query)
    assert query == {"from": ["form"], "bucket": [name], "key": ["r.txt"],
                     "etag": ['"%s"' % hashlib.md5(b"redirected").hexdigest()]}


def test_the_key_may_name_the_files_own_name_and_fields_set_headers_metadata_and_tags(owned):
    _, client, name = owned
    tagging = "<Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag></TagSet></Tagging>"
    url, fields = presigned(
        client, name, "uploads/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-origin": "browser", "tagging": tagging,
                "Cache-Control": "max-age=60"},
        Conditions=[["starts-with", "$Content-Type", "text/"], {"x-amz-meta-origin": "browser"},
                    {"tagging": tagging}, ["eq", "$Cache-Control", "max-age=60"]])
    status, _, _ = upload(url, fields, b"photo", filename="C:\\Users\\me\\cat.txt")
    assert status == 204
    head = client.head_object(Bucket=name, Key="uploads/cat.txt")
    assert (head["ContentType"], head["Metadata"], head["CacheControl"]) == ("text/plain", {"origin": "browser"},
                                                                             "max-age=60")
    assert client.get_object_tagging(Bucket=name, Key="uploads/cat.txt")["TagSet"] == [
        {"Key": "team", "Value": "blue"}]


def test_fields_after_the_file_are_ignored_and_a_large_file_streams_through(owned):
    _, client, name = owned
    url, fields = presigned(client, name, "big.bin")
    data = (b"0123456789abcdef\r\n--" * 1_200_000)[:20 * 1024 * 1024 + 7]    # spooled to disk by the server
    status, headers, _ = upload(url, fields, data, after=[("x-amz-meta-late", "ignored")])
    assert status == 204
    assert headers["etag"] == '"%s"' % hashlib.md5(data).hexdigest()
    got = client.get_object(Bucket=name, Key="big.bin")
    assert got["Body"].read() == data and got["Metadata"] == {}


# --- the policy ------------------------------------------------------------------------------------------


def test_a_failed_condition_is_access_denied_and_stores_nothing(owned):
    _, client, name = owned
    url, fields = presigned(client, name, "user/eric/a", Conditions=[["starts-with", "$key", "user/eric/"]])
    fields = [(k, "user/other/a" if k == "key" else v) for k, v in fields]
    status, _, data = upload(url, fields)
    assert status == 403
    code, message = error_of(data)
    assert code == "AccessDenied"
    # boto3 puts the key's own condition first; either way S3 names the one that failed
    assert message.startswith("Invalid according to Policy: Policy Condition failed: ")
    assert "user/" in message
    missing(client, name, "user/other/a")


def test_a_field_the_policy_does_not_name_is_an_extra_input_field(owned):
    _, client, name = owned
    url, fields = presigned(client, name, "x")
    status, _, data = upload(url, fields + [("x-amz-meta-sneaky", "1")])
    assert status == 403
    assert error_of(data) == ("AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky")
    # x-ignore- fields need no condition
    assert upload(url, fields + [("x-ignore-note", "anything")])[0] == 204


def test_an_expired_policy_is_refused(owned):
    _, client, name = owned
    url, fields = presigned(client, name, "late", ExpiresIn=-60)
    status, _, data = upload(url, fields)
    assert status == 403
    assert error_of(data) == ("AccessDenied", "Invalid according to Policy: Policy expired.")
    missing(client, name, "late")


def test_content_length_range_bounds_the_file_before_anything_is_stored(owned):
    _, client, name = owned
    url, fields = presigned(client, name, "sized", Conditions=[["content-length-range", 3, 10]])
    status, _, data = upload(url, fields, b"x" * 11)
    assert (status, error_of(data)[0]) == (400, "EntityTooLarge")
    assert ET.fromstring(data).findtext("MaxSizeAllowed") == "10"
    status, _, data = upload(url, fields, b"xy")
    assert (status, error_of(data)[0]) == (400, "EntityTooSmall")
    assert ET.fromstring(data).findtext("MinSizeAllowed") == "3"
    missing(client, name, "sized")
    assert upload(url, fields, b"just ten!!")[0] == 204


def test_a_policy_that_is_not_a_policy_document_is_invalid_policy_document(owned):
    account, client, name = owned
    now = dt.datetime.now(dt.timezone.utc)
    date, stamp = now.strftime("%Y%m%d"), now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{account.access_key_id}/{date}/us-east-1/s3/aws4_request"
    for document, detail in (({"conditions": []}, "Policy missing expiration."),
                             ({"expiration": "2099-01-01T00:00:00Z"}, "Policy missing conditions.")):
        encoded = base64.b64encode(json.dumps(document).encode()).decode()
        key = b"AWS4" + account.secret_access_key.encode()
        for part in (date, "us-east-1", "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest()
        fields = [("key", "k"), ("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential),
                  ("x-amz-date", stamp), ("policy", encoded), ("x-amz-signature", signature)]
        status, _, data = upload(f"{account.endpoint}/{name}", fields)
        assert (status, error_of(data)) == (400, ("InvalidPolicyDocument", f"Invalid Policy: {detail}"))


# --- authentication and authorization ---------------------------------------------------------------------


def test_a_tampered_policy_or_signature_is_signature_does_not_match(owned):
    _, client, name = owned
    url, fields = presigned(client, name, "t")
    forged = [(k, v[:-4] + ("0000" if not v.endswith("0000") else "1111") if k == "x-amz-signature" else v)
              for k, v in fields]
    status, _, data = upload(url, forged)
    assert (status, error_of(data)[0]) == (403, "SignatureDoesNotMatch")
    _, other_fields = presigned(client, name, "other")
    swapped = [(k, dict(other_fields)["policy"] if k == "policy" else v) for k, v in fields]
    assert upload(url, swapped)[0] == 403
    missing(client, name, "t")


def test_the_form_is_authorized_as_the_signing_user(owned):
    account, _, name = owned
    _, make = user(account, "uploader", {"Effect": "Allow", "Action": "s3:PutObject",
                                         "Resource": f"arn:aws:s3:::{name}/incoming/*"})
    url, fields = presigned(make(), name, "incoming/ok.txt")
    assert upload(url, fields)[0] == 204
    url, fields = presigned(make(), name, "elsewhere/no.txt")
    status, _, data = upload(url, fields)
    assert status == 403
    code, message = error_of(data)
    assert code == "AccessDenied" and "s3:PutObject" in message and f"{name}/elsewhere/no.txt" in message


def test_anonymous_forms_need_a_bucket_that_lets_anyone_write(owned):
    account, client, name = owned
    body, content_type = form([("key", "anon.txt")], ("a.txt", b"anonymous"))
    status, _, data = post(f"{account.endpoint}/{name}", body, content_type)
    assert (status, error_of(data)[0]) == (403, "AccessDenied")
    client.delete_public_access_block(Bucket=name)
    client.put_bucket_policy(Bucket=name, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*"}))
    body, content_type = form([("key", "anon.txt")], ("a.txt", b"anonymous"))
    assert post(f"{account.endpoint}/{name}", body, content_type)[0] == 204
    assert client.get_object(Bucket=name, Key="anon.txt")["Body"].read() == b"anonymous"


# --- malformed forms ---------------------------------------------------------------------------------------


def test_forms_without_a_key_or_a_file_or_not_a_form_are_refused(owned):
    account, _, name = owned
    url = f"{account.endpoint}/{name}"
    body, content_type = form([("acl", "private")])
    status, _, data = post(url, body, content_type)
    assert (status, error_of(data)[0]) == (400, "InvalidArgument")
    assert ET.fromstring(data).findtext("ArgumentName") == "key"
    body, content_type = form([("key", "k")], file=None)
    status, _, data = post(url, body, content_type)
    assert (status, error_of(data)) == (400, ("IncorrectNumberOfFilesInPostRequest",
                                              "POST requires exactly one file upload per request."))
    status, _, data = post(url, b"key=k", "text/plain")
    assert (status, error_of(data)[0]) == (412, "PreconditionFailed")
    signed_url, fields = presigned(s3(account), name, "cut")
    body, content_type = form(fields, ("cut.bin", b"z" * 1000))
    status, _, data = post(signed_url, body[:-30], content_type)     # cut short: no closing boundary
    assert (status, error_of(data)[0]) == (400, "MalformedPOSTRequest")
    missing(s3(account), name, "cut")
    body, content_type = form([("key", "k"), ("x-ignore-pad", "p" * 30_000)])
    status, _, data = post(url, body, content_type)
    assert (status, error_of(data)[0]) == (400, "MaxPostPreDataLengthExceededError")


def test_signature_version_2_forms_are_refused(owned):
    account, _, name = owned
    body, content_type = form([("key", "k"), ("AWSAccessKeyId", account.access_key_id), ("policy", "e30="),
                               ("signature", "c2ln")])
    status, _, data = post(f"{account.endpoint}/{name}", body, content_type)
    assert (status, error_of(data)[0]) == (400, "InvalidRequest")


def test_form_fields_are_the_requests_condition_keys_and_ask_for_sse_kms(owned):
    account, client, name = owned
    _, make = user(account, "acl-bound", {
        "Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}}},
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"})
    url, fields = presigned(make(), name, "plain.txt")
    status, _, data = upload(url, fields)                 # no acl field: the condition fails
    assert (status, error_of(data)[0]) == (403, "AccessDenied")
    url, fields = presigned(make(), name, "kms.txt",
                            Fields={"acl": "private", "x-amz-server-side-encryption": "aws:kms"},
                            Conditions=[{"acl": "private"}, {"x-amz-server-side-encryption": "aws:kms"}])
    status, headers, _ = upload(url, fields, b"secret")
    assert status == 204 and headers["x-amz-server-side-encryption"] == "aws:kms"
    got = client.get_object(Bucket=name, Key="kms.txt")
    assert got["ServerSideEncryption"] == "aws:kms" and got["Body"].read() == b"secret"


def test_a_form_upload_is_s3_auth_type_post(owned):
    """s3:authType is POST for a browser form upload, REST-HEADER for a signed request
    (https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html)."""
    account, _, name = owned
    _, make = user(account, "forms-only", {
        "Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {"s3:authType": "POST", "s3:signatureversion": "AWS4-HMAC-SHA256"}}})
    url, fields = presigned(make(), name, "by-form.txt")
    assert upload(url, fields)[0] == 204
    assert fails(make().put_object, Bucket=name, Key="by-put.txt", Body=b"x")[0] == "AccessDenied"


def test_the_policy_expiration_is_judged_by_the_real_time_not_the_domain_clock(tmp_path):
    """A POST policy's expiration is the client's wall-clock deadline, like a presigned URL's: a
    server whose domain clock was moved on (test hooks) still takes a form that has not expired."""
    from cloudkeep.testing.server import CloudkeepServer

    with CloudkeepServer(data_dir=tmp_path / "data") as server:
        client = s3(server.create_account())
        name = bucket_name("post")
        client.create_bucket(Bucket=name)
        server.advance(3 * 3600)                       # past the form's one-hour expiration
        url, fields = presigned(client, name, "on-time", ExpiresIn=3600)
        assert upload(url, fields)[0] == 204
        assert client.get_object(Bucket=name, Key="on-time")["Body"].read() == b"hello"
