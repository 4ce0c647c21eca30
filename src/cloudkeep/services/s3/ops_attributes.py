"""GetObjectAttributes: an object's ETag, checksum, parts, storage class and size, without its body.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
"""

from __future__ import annotations

from cloudkeep.services.framework import Call, Params, Result

from . import errors as X
from . import sse
from . import versions as V
from .authz import LIST_BUCKET
from .common import bucket_of, operation
from .entities import ObjectVersion
from .ops_objects import checksum_fields

#: the x-amz-object-attributes values S3 knows
ATTRIBUTES = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})
MAX_PARTS = 1000


def _parts(obj: ObjectVersion, params: Params) -> Result:
    """ObjectParts of a multipart object: parts after PartNumberMarker, MaxParts of them."""
    marker = params.get("PartNumberMarker") or 0
    limit = params.get("MaxParts", MAX_PARTS)
    if limit < 0 or marker < 0:
        raise X.invalid_argument("Argument max-parts must be an integer between 0 and 2147483647",
                                 "max-parts", str(limit))
    after = [(n, p) for n, p in enumerate(obj.parts, 1) if n > marker]
    page = after[:limit]
    out: Result = {"TotalPartsCount": len(obj.parts), "PartNumberMarker": marker, "MaxParts": limit,
                   "IsTruncated": len(after) > len(page),
                   "Parts": [{"PartNumber": n, "Size": p.size,
                              **(checksum_fields(obj.checksum_algorithm, p.checksum, None)
                                 if p.checksum else {})} for n, p in page] or None}
    if out["IsTruncated"] and page:
        out["NextPartNumberMarker"] = page[-1][0]
    return out


@operation("GetObjectAttributes")
def get_object_attributes(call: Call, params: Params) -> Result:
    wanted = set(params.get("ObjectAttributes") or ())
    unknown = sorted(wanted - ATTRIBUTES)
    if unknown or not wanted:
        raise X.invalid_argument("Invalid attribute name specified.", "x-amz-object-attributes",
                                 ",".join(unknown))
    bucket = bucket_of(call, params["Bucket"])
    key = params["Key"]
    customer = sse.customer_key(params, secure=call.secure, read=True)
    try:
        obj = V.read_target(call, bucket, key, params.get("VersionId"))
    except V.Missing as missing:
        raise V.missing_error(call, bucket, key, missing.marker, LIST_BUCKET) from None
    sse.check_readable(obj.protection, customer)
    out: Result = {"LastModified": obj.last_modified}
    version = V.version_header(bucket, obj)
    if version is not None:
        out["VersionId"] = version
    if "ETag" in wanted and obj.etag:
        out["ETag"] = obj.etag.strip('"')          # without quotes, unlike every other ETag
    if "Checksum" in wanted and obj.checksum_algorithm and obj.checksum_value:
        out["Checksum"] = checksum_fields(obj.checksum_algorithm, obj.checksum_value, obj.checksum_type)
    if "ObjectSize" in wanted:
        out["ObjectSize"] = obj.size
    if "StorageClass" in wanted:
        out["StorageClass"] = obj.storage_class
    if "ObjectParts" in wanted and obj.multipart:
        out["ObjectParts"] = _parts(obj, params)
    return out
