"""GetObjectAttributes against the real server: ETag without quotes, size, storage class, the
parts of a multipart object page by page, checksums, versions, and who may ask.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
"""

from __future__ import annotations

from s3_support import bucket_name, fails, s3, user

ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
MIB = 1024 * 1024


def test_a_single_part_object(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    etag = client.put_object(Bucket=name, Key="obj", Body=b"foo", ChecksumAlgorithm="SHA256")["ETag"]
    got = client.get_object_attributes(Bucket=name, Key="obj", ObjectAttributes=ALL)
    assert got["ETag"] == etag.strip('"') and got["ObjectSize"] == 3 and got["StorageClass"] == "STANDARD"
    assert got["Checksum"]["ChecksumSHA256"] == "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
    assert "ObjectParts" not in got and "VersionId" not in got and "DeleteMarker" not in got
    only_size = client.get_object_attributes(Bucket=name, Key="obj", ObjectAttributes=["ObjectSize"])
    assert only_size["ObjectSize"] == 3 and "ETag" not in only_size


def test_the_parts_of_a_multipart_object_page_by_page(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    upload = client.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    sizes = [5 * MIB, 5 * MIB, 5 * MIB, MIB]
    parts = [{"PartNumber": n, "ETag": client.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=n,
                                                          Body=b"x" * size)["ETag"]}
             for n, size in enumerate(sizes, 1)]
    etag = client.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload,
                                            MultipartUpload={"Parts": parts})["ETag"]
    got = client.get_object_attributes(Bucket=name, Key="mp", ObjectAttributes=ALL, MaxParts=2,
                                       PartNumberMarker=1)
    assert got["ETag"] == etag.strip('"') and got["ObjectSize"] == sum(sizes)
    op = got["ObjectParts"]
    assert (op["TotalPartsCount"], op["PartNumberMarker"], op["MaxParts"], op["IsTruncated"]) == (4, 1, 2, True)
    assert op["NextPartNumberMarker"] == 3
    assert [(p["PartNumber"], p["Size"]) for p in op["Parts"]] == [(2, 5 * MIB), (3, 5 * MIB)]
    rest = client.get_object_attributes(Bucket=name, Key="mp", ObjectAttributes=["ObjectParts"],
                                        PartNumberMarker=3)["ObjectParts"]
    assert rest["IsTruncated"] is False and [p["PartNumber"] for p in rest["Parts"]] == [4]


def test_versions_missing_keys_and_who_may_ask(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    first = client.put_object(Bucket=name, Key="v", Body=b"one")["VersionId"]
    client.put_object(Bucket=name, Key="v", Body=b"three")
    old = client.get_object_attributes(Bucket=name, Key="v", VersionId=first, ObjectAttributes=["ObjectSize"])
    assert old["ObjectSize"] == 3 and old["VersionId"] == first
    assert fails(client.get_object_attributes, Bucket=name, Key="nope", ObjectAttributes=["ETag"])[2] == 404
    _, plain = user(cloudkeep_account, "reader-without-attributes",
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"})
    code, _message, status = fails(plain().get_object_attributes, Bucket=name, Key="v", ObjectAttributes=["ETag"])
    assert (code, status) == ("AccessDenied", 403)
    _, allowed = user(cloudkeep_account, "reader-with-attributes",
                      {"Effect": "Allow", "Action": "s3:GetObjectAttributes", "Resource": f"arn:aws:s3:::{name}/*"})
    assert allowed().get_object_attributes(Bucket=name, Key="v", ObjectAttributes=["ObjectSize"])["ObjectSize"] == 5


def test_a_part_read_answers_the_parts_checksum_and_the_objects_checksum_type(cloudkeep_account):
    """GetObject with partNumber and checksum mode on (boto3 turns it on for GetObject): the part's
    own checksum, with the object's ChecksumType (Ceph's s3-tests multipart_checksum_3parts_helper)."""
    import base64
    import hashlib

    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    upload = client.create_multipart_upload(Bucket=name, Key="mp", ChecksumAlgorithm="SHA256",
                                            ChecksumType="COMPOSITE")["UploadId"]
    bodies = [b"a" * (5 * MIB), b"b" * MIB]
    sums = [base64.b64encode(hashlib.sha256(b).digest()).decode() for b in bodies]
    parts = []
    for number, (body, digest) in enumerate(zip(bodies, sums), 1):
        sent = client.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=number, Body=body,
                                  ChecksumSHA256=digest)
        parts.append({"PartNumber": number, "ETag": sent["ETag"], "ChecksumSHA256": sent["ChecksumSHA256"]})
    done = client.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload,
                                            MultipartUpload={"Parts": parts})
    assert done["ChecksumType"] == "COMPOSITE"
    for number, digest in enumerate(sums, 1):
        got = client.get_object(Bucket=name, Key="mp", PartNumber=number, ChecksumMode="ENABLED")
        assert (got["ChecksumSHA256"], got["ChecksumType"]) == (digest, "COMPOSITE")
        assert got["PartsCount"] == 2
    whole = client.head_object(Bucket=name, Key="mp", ChecksumMode="ENABLED")
    assert whole["ChecksumSHA256"] == done["ChecksumSHA256"] and whole["ChecksumType"] == "COMPOSITE"
