"""S3 access control lists: canned ACLs, x-amz-grant-* headers and AccessControlPolicy bodies
turned into grants; grants on the wire; grants as the policy statements that take part in
authorization.

A grant is a ``(kind, grantee, permission)`` triple: kind "account" (grantee: the account id;
the wire shows its canonical user id) or "group" (grantee: the group's URI).

ACLs take part in authorization as synthetic Allow statements beside the bucket policy (as KMS
grants do beside the key policy), with the permission mapped to actions as AWS's table does
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#acl-access-policy-permission-mapping):
a grant to an account becomes that account's root principal (its users still need their own
IAM allow); AllUsers becomes "*"; AuthenticatedUsers "*" for signed callers only; the
LogDelivery group the S3 log delivery service principal.

Must not: read or write storage (the operations and ``authz.py`` do), decide access.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import errors as X

Grant = tuple[str, str, str]
Grants = tuple[Grant, ...]

ACCOUNT = "account"
GROUP = "group"

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})
PUBLIC_GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS})

FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP = "FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP"
PERMISSIONS = (FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP)

CANNED = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
          "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write")

#: request member → permission of the x-amz-grant-* headers
GRANT_HEADERS = {"GrantFullControl": FULL_CONTROL, "GrantRead": READ, "GrantWrite": WRITE,
                 "GrantReadACP": READ_ACP, "GrantWriteACP": WRITE_ACP}

#: the regions where email grantees were accepted until October 1, 2025; since then they get
#: 405 there, and were never supported elsewhere
#: (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html, end of support notice;
#: https://repost.aws/knowledge-center/s3-bucket-acl-email-error)
EMAIL_REGIONS = frozenset({"us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2",
                           "ap-northeast-1", "eu-west-1", "sa-east-1"})


def owner_only(owner: str) -> Grants:
    return ((ACCOUNT, owner, FULL_CONTROL),)


def canned(name: str, owner: str, bucket_owner: str, *, bucket: bool) -> Grants:
    """The grants of a canned ACL (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl)."""
    grants: list[Grant] = [(ACCOUNT, owner, FULL_CONTROL)]
    if name == "public-read":
        grants.append((GROUP, ALL_USERS, READ))
    elif name == "public-read-write":
        grants += [(GROUP, ALL_USERS, READ), (GROUP, ALL_USERS, WRITE)]
    elif name == "authenticated-read":
        grants.append((GROUP, AUTHENTICATED_USERS, READ))
    elif name in ("bucket-owner-read", "bucket-owner-full-control") and not bucket and bucket_owner != owner:
        grants.append((ACCOUNT, bucket_owner, READ if name == "bucket-owner-read" else FULL_CONTROL))
    elif name == "log-delivery-write" and bucket:
        grants += [(GROUP, LOG_DELIVERY, WRITE), (GROUP, LOG_DELIVERY, READ_ACP)]
    elif name not in CANNED:
        raise X.invalid_argument("Argument format not recognized", "x-amz-acl", name)
    return tuple(grants)


_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*("([^"]*)"|[^,\s]+)\s*(,|\Z)', re.IGNORECASE)


def _email(region: str, value: str) -> Exception:
    if region in EMAIL_REGIONS:
        return X.MethodNotAllowed("The specified method is not allowed against this resource.")
    return X.UnsupportedArgument("The request contained an unsupported argument.",
                                 extra={"ArgumentName": "emailAddress", "ArgumentValue": value})


def from_headers(params: Mapping[str, Any], *, region: str, account_of: Callable[[str], str | None]) -> list[Grant]:
    """Grants named by x-amz-grant-* headers: ``id="canonical id"``, ``uri="group uri"``
    (``emailAddress=`` as AWS answers it today), comma-separated."""
    out: list[Grant] = []
    for member, permission in GRANT_HEADERS.items():
        value = params.get(member)
        if value is None:
            continue
        text, pos = str(value), 0
        while pos < len(text):
            m = _GRANTEE.match(text, pos)
            if m is None:
                raise X.invalid_argument("Argument format not recognized", _header_name(member), text)
            kind, raw = m.group(1).lower(), m.group(3) if m.group(3) is not None else m.group(2)
            out.append(_grantee(kind, raw, permission, region=region, account_of=account_of))
            pos = m.end()
    return out


_HEADER = {"GrantFullControl": "x-amz-grant-full-control", "GrantRead": "x-amz-grant-read",
           "GrantWrite": "x-amz-grant-write", "GrantReadACP": "x-amz-grant-read-acp",
           "GrantWriteACP": "x-amz-grant-write-acp"}


def _header_name(member: str) -> str:
    return _HEADER[member]


def _grantee(kind: str, value: str, permission: str, *, region: str,
             account_of: Callable[[str], str | None]) -> Grant:
    if kind == "id":
        account = account_of(value)
        if account is None:
            raise X.invalid_argument("Invalid id", "CanonicalUser/ID", value)
        return (ACCOUNT, account, permission)
    if kind == "uri":
        if value not in GROUPS:
            raise X.invalid_argument("Invalid group uri", "Group/URI", value)
        return (GROUP, value, permission)
    raise _email(region, value)


def from_body(policy: Mapping[str, Any], *, region: str, account_of: Callable[[str], str | None]) -> list[Grant]:
    """Grants of an AccessControlPolicy body; MalformedACLError for one that does not fit the
    schema (no Owner, a grant without grantee type or with an unknown permission)."""
    if not isinstance(policy.get("Owner"), Mapping) or not policy["Owner"].get("ID"):
        raise X.MalformedACLError(X.MalformedACLError.MESSAGE)
    out: list[Grant] = []
    for grant in policy.get("Grants") or []:
        grantee = grant.get("Grantee") or {}
        permission = grant.get("Permission")
        kind = grantee.get("Type")
        if permission not in PERMISSIONS or kind not in ("CanonicalUser", "Group", "AmazonCustomerByEmail"):
            raise X.MalformedACLError(X.MalformedACLError.MESSAGE)
        if kind == "CanonicalUser":
            if not grantee.get("ID"):
                raise X.invalid_argument("Invalid id", "CanonicalUser/ID", "")
            out.append(_grantee("id", grantee["ID"], permission, region=region, account_of=account_of))
        elif kind == "Group":
            out.append(_grantee("uri", grantee.get("URI") or "", permission, region=region, account_of=account_of))
        else:
            raise _email(region, grantee.get("EmailAddress") or "")
    return out


def requested(params: Mapping[str, Any]) -> bool:
    """The request sets an ACL (x-amz-acl or any x-amz-grant-* header)."""
    return params.get("ACL") is not None or any(params.get(m) is not None for m in GRANT_HEADERS)


def non_default(params: Mapping[str, Any], *, allowed: Iterable[str] = ("private",)) -> bool:
    """The request sets an ACL other than the ones a bucket with ACLs disabled accepts."""
    return (params.get("ACL") is not None and params["ACL"] not in allowed) or any(
        params.get(m) is not None for m in GRANT_HEADERS)


def grants_of(grants: Grants | None, owner: str) -> Grants:
    return grants if grants is not None else owner_only(owner)


def to_wire(grants: Grants, canonical: Callable[[str], str]) -> list[dict[str, Any]]:
    """Grants as the Grants element of GetBucketAcl/GetObjectAcl."""
    out = []
    for kind, grantee, permission in grants:
        if kind == ACCOUNT:
            out.append({"Grantee": {"Type": "CanonicalUser", "ID": canonical(grantee)}, "Permission": permission})
        else:
            out.append({"Grantee": {"Type": "Group", "URI": grantee}, "Permission": permission})
    return out


def is_public(grants: Sequence[Grant] | None) -> bool:
    """An ACL is public when it grants anything to AllUsers or AuthenticatedUsers
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status)."""
    return any(kind == GROUP and grantee in PUBLIC_GROUPS for kind, grantee, _ in grants or ())


# --- grants as policy statements ----------------------------------------------------------------------

_BUCKET_ACTIONS = {
    READ: ("s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"),
    WRITE: ("s3:PutObject", "s3:DeleteObject"),
    READ_ACP: ("s3:GetBucketAcl",),
    WRITE_ACP: ("s3:PutBucketAcl",),
}
_OBJECT_ACTIONS = {
    READ: ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent"),
    WRITE: (),
    READ_ACP: ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    WRITE_ACP: ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
}


def actions(permission: str, *, bucket: bool, grantee_is_bucket_owner: bool = False) -> tuple[str, ...]:
    table = _BUCKET_ACTIONS if bucket else _OBJECT_ACTIONS
    if permission == FULL_CONTROL:
        found = tuple(a for p in (READ, WRITE, READ_ACP, WRITE_ACP) for a in table[p])
    else:
        found = table[permission]
    if bucket and grantee_is_bucket_owner and "s3:DeleteObject" in found:
        found = (*found, "s3:DeleteObjectVersion")   # "when the grantee is the bucket owner" (the table)
    return found


def statements(grants: Iterable[Grant], *, bucket: bool, bucket_owner: str, partition: str,
               ignore_public: bool) -> list[dict[str, Any]]:
    """Allow statements equivalent to ``grants`` (Resource "*": they are attached only to the
    checks about the bucket or object they belong to)."""
    out: list[dict[str, Any]] = []
    for kind, grantee, permission in grants:
        found = actions(permission, bucket=bucket, grantee_is_bucket_owner=kind == ACCOUNT and grantee == bucket_owner)
        if not found:
            continue
        statement: dict[str, Any] = {"Effect": "Allow", "Action": list(found), "Resource": "*"}
        if kind == ACCOUNT:
            statement["Principal"] = {"AWS": f"arn:{partition}:iam::{grantee}:root"}
        elif grantee in PUBLIC_GROUPS:
            if ignore_public:
                continue
            statement["Principal"] = "*"
            if grantee == AUTHENTICATED_USERS:      # any signed caller of any account
                statement["Condition"] = {"StringNotEquals": {"aws:PrincipalType": "Anonymous"}}
        else:                                        # LogDelivery: the log delivery service
            statement["Principal"] = {"Service": "logging.s3.amazonaws.com"}
        out.append(statement)
    return out
