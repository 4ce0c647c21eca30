"""Listing edge cases found by Ceph's s3-tests, against the real server: which ListObjects fields
encoding-type=url encodes, and a version listing that goes on while its pages are deleted.

AWS pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html (EncodingType),
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
"""

from __future__ import annotations

from s3_support import bucket_name, fails, raw, s3


def test_list_objects_v1_returns_the_prefix_as_sent_even_url_encoded(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    for key in ("foo/bar", "foo/baz", "quux"):
        client.put_object(Bucket=name, Key=key, Body=b"x")
    listed = client.list_objects(Bucket=name, Prefix="\n")         # boto3 asks for encoding-type=url
    assert listed["Prefix"] == "\n" and "Contents" not in listed
    assert client.list_objects_v2(Bucket=name, Prefix="\n")["Prefix"] == "\n"   # v2 encodes, botocore decodes
    status, _headers, body = raw(cloudkeep_account, "GET", f"/{name}", query="encoding-type=url&prefix=a%20b")
    assert status == 200 and b"<Prefix>a b</Prefix>" in body                    # v1: as sent


def test_a_version_listing_goes_on_when_its_marker_version_was_deleted(cloudkeep_account):
    client = s3(cloudkeep_account)
    name = bucket_name()
    client.create_bucket(Bucket=name)
    keys = [f"k{i}" for i in range(5)]
    for key in keys:
        client.put_object(Bucket=name, Key=key, Body=b"x")
    seen: list[str] = []
    page = client.list_object_versions(Bucket=name, MaxKeys=2)
    while True:
        for version in page.get("Versions", []):
            seen.append(version["Key"])
            client.delete_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])
        if not page["IsTruncated"]:
            break
        assert page["NextVersionIdMarker"] == "null"
        page = client.list_object_versions(Bucket=name, MaxKeys=2, KeyMarker=page["NextKeyMarker"],
                                           VersionIdMarker=page["NextVersionIdMarker"])
    assert seen == keys
    code, _message, status = fails(client.list_object_versions, Bucket=name, KeyMarker="k1",
                                   VersionIdMarker="not a version id!")
    assert (code, status) == ("InvalidArgument", 400)
