"""STS's entities and rules, pure: temporary-credential sessions (role sessions, federated
users, GetSessionToken sessions), their durations, names, ARNs, session tags and the packed size
of session policies and tags.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html

Must not: do I/O; import the pipeline.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from cloudkeep.auth.principal import Principal, PrincipalType
from cloudkeep.wire.errors import ValidationError

# --- durations (seconds) -----------------------------------------------------------------------

MIN_DURATION = 900
#: AssumeRole without DurationSeconds: one hour
ROLE_DEFAULT_DURATION = 3600
#: "role chaining limits your … session to a maximum of one hour"
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles.html#iam-term-role-chaining
CHAINED_MAX_DURATION = 3600
#: GetSessionToken / GetFederationToken: default 12 h, maximum 36 h; the root user: 1 h at most
#: (a longer request is cut to one hour, not refused)
TOKEN_DEFAULT_DURATION = 43200
ROOT_MAX_DURATION = 3600

#: Session tags: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_know
MAX_SESSION_TAGS = 50
MAX_POLICY_ARNS = 10
#: "The plaintext that you use for both inline and managed session policies can't exceed 2,048
#: characters." (AssumeRole, Policy)
MAX_SESSION_POLICY_CHARS = 2048
#: The packed (compressed) form of session policies, ARNs and tags has its own limit; AWS does
#: not publish it. cloudkeep packs with zlib and allows this many bytes (derived, not AWS's).
PACKED_LIMIT_BYTES = 2048

CHAINING_MESSAGE = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
MAX_SESSION_MESSAGE = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
#: AWS's answer for a serial number that is not an MFA device of the caller (no MFA devices exist yet)
MFA_UNKNOWN_DEVICE = ("MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA "
                      "serial number is valid and associated with this user.")
MFA_INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
ROOT_CANNOT_ASSUME = "Roles may not be assumed by root accounts."


def is_temporary(principal: Principal) -> bool:
    """Credentials from STS (any session), as opposed to long-term access keys."""
    return principal.expires_at is not None or principal.session_token is not None


def role_session_duration(requested: int | None, *, max_session_duration: int, chained: bool) -> int:
    """AssumeRole's DurationSeconds: 900 (the model enforces it) up to the role's maximum; one
    hour at most when a session assumes the role (role chaining)."""
    duration = ROLE_DEFAULT_DURATION if requested is None else int(requested)
    if chained and duration > CHAINED_MAX_DURATION:
        raise ValidationError(CHAINING_MESSAGE)
    if duration > max_session_duration:
        raise ValidationError(MAX_SESSION_MESSAGE)
    return duration


def token_duration(requested: int | None, *, root: bool) -> int:
    """GetSessionToken / GetFederationToken: 12 h by default; the root user's sessions last one
    hour at most (a longer request is shortened, not refused)."""
    duration = TOKEN_DEFAULT_DURATION if requested is None else int(requested)
    return min(duration, ROOT_MAX_DURATION) if root else duration


# --- names and ARNs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleRef:
    """What a RoleArn names: the account, the path and the role's name."""

    account_id: str
    path: str
    name: str


def parse_role_arn(arn: str, partition: str) -> RoleRef | None:
    """``arn:<partition>:iam::<12 digits>:role/<path/>name``, else None."""
    head = f"arn:{partition}:iam::"
    if not arn.startswith(head):
        return None
    account, sep, resource = arn[len(head):].partition(":")
    if not sep or len(account) != 12 or not account.isdigit() or not resource.startswith("role/"):
        return None
    path_and_name = resource[len("role"):]
    path, _, name = path_and_name.rpartition("/")
    if not name:
        return None
    return RoleRef(account_id=account, path=path + "/", name=name)


def assumed_role_arn(partition: str, account_id: str, role_name: str, session_name: str) -> str:
    return f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{session_name}"


def federated_user_arn(partition: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:sts::{account_id}:federated-user/{name}"


# --- session tags -------------------------------------------------------------------------------


def session_tags(inherited: Sequence[tuple[str, str]], inherited_transitive: Sequence[str],
                 tags: Sequence[Mapping[str, str]], transitive_keys: Sequence[str]
                 ) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The new session's tags and transitive keys: the caller session's transitive tags, then
    the request's Tags; TransitiveTagKeys must name tags of this request. Tag keys are
    case-insensitive: a duplicate is refused. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html"""
    carried = [(k, v) for k, v in inherited if k.lower() in {t.lower() for t in inherited_transitive}]
    requested = [(t["Key"], t["Value"]) for t in tags]
    lowered = [k.lower() for k, _ in requested]
    if len(set(lowered)) != len(lowered):
        raise ValidationError("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    clash = {k.lower() for k, _ in carried} & set(lowered)
    if clash:
        # derived: an inherited transitive tag cannot be overridden in a chained session
        raise ValidationError("One or more session tags conflict with transitive session tags of the "
                              "caller's session.")
    for key in transitive_keys:
        if key.lower() not in lowered:
            raise ValidationError(f"Transitive tag key {key} is not among the session tags of this request.")
    merged = tuple(carried + requested)
    if len(merged) > MAX_SESSION_TAGS:
        raise ValidationError(f"1 validation error detected: Value at 'tags' failed to satisfy constraint: "
                              f"Member must have length less than or equal to {MAX_SESSION_TAGS}")
    transitive = tuple(dict.fromkeys([k for k, _ in carried] + list(transitive_keys)))
    return merged, transitive


def packed_size_percent(policy: str | None, policy_arns: Sequence[str],
                        tags: Sequence[tuple[str, str]]) -> int:
    """How full the packed form of the session policies and tags is, in percent (AWS's
    PackedPolicySize); above 100 the request is refused (PackedPolicyTooLarge)."""
    parts = []
    if policy:
        try:
            parts.append(json.dumps(json.loads(policy), separators=(",", ":")))
        except ValueError:
            parts.append(policy)
    parts.extend(policy_arns)
    parts.extend(f"{k}={v}" for k, v in tags)
    if not parts:
        return 0
    packed = zlib.compress("\x00".join(parts).encode("utf-8"), 9)
    return math.ceil(len(packed) * 100 / PACKED_LIMIT_BYTES)


def check_plaintext_size(policy: str | None, policy_arns: Sequence[str]) -> None:
    size = len(policy or "") + sum(len(a) for a in policy_arns)
    if size > MAX_SESSION_POLICY_CHARS:
        raise ValidationError("1 validation error detected: Value at 'policy' failed to satisfy constraint: "
                              f"Member must have length less than or equal to {MAX_SESSION_POLICY_CHARS}")


# --- the session -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    """One set of temporary credentials and who they stand for."""

    access_key_id: str
    account_id: str
    principal_type: PrincipalType
    arn: str                                  # the session's ARN (GetSessionToken: the user's)
    principal_id: str                         # AROA…:name, <acct>:<name>, the user id, the account id
    issued_at: _dt.datetime
    expires_at: _dt.datetime
    user_name: str | None = None              # GetSessionToken of an IAM user
    parent_arn: str | None = None
    parent_id: str | None = None
    session_name: str | None = None
    session_policies: tuple[tuple[str, str], ...] | None = None
    session_tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    mfa_authenticated: bool = False
    mfa_authenticated_at: _dt.datetime | None = None

    def principal(self, session_token: str | None = None, partition: str = "aws") -> Principal:
        return Principal(type=self.principal_type, account_id=self.account_id, arn=self.arn,
                         principal_id=self.principal_id, access_key_id=self.access_key_id,
                         user_name=self.user_name, session_token=session_token, partition=partition,
                         parent_arn=self.parent_arn, parent_id=self.parent_id, session_name=self.session_name,
                         session_policies=self.session_policies, session_tags=self.session_tags,
                         source_identity=self.source_identity, mfa_authenticated=self.mfa_authenticated,
                         mfa_authenticated_at=self.mfa_authenticated_at, token_issued_at=self.issued_at,
                         expires_at=self.expires_at)


def new_token(random_bytes: bytes) -> str:
    """A session token: opaque, base64 text of random bytes (stored sealed, never logged)."""
    return base64.b64encode(random_bytes).decode()


def credentials_wire(session: Session, secret: str, token: str) -> dict[str, Any]:
    return {"AccessKeyId": session.access_key_id, "SecretAccessKey": secret, "SessionToken": token,
            "Expiration": session.expires_at}


# --- GetAccessKeyInfo --------------------------------------------------------------------------


def account_encoded_in(access_key_id: str) -> str | None:
    """The account id AWS encodes in the key id (characters 5–12, base32, bits 7–46 of the first
    six bytes), as AWS's GetAccessKeyInfo answers for keys it does not look up; None when the
    id cannot be decoded. (Format documented by AWS security researchers; AWS itself documents
    only that the answer is the key's account.)"""
    body = access_key_id[4:].upper()
    if len(body) < 16:
        return None
    try:
        raw = base64.b32decode(body[:16])
    except (binascii.Error, ValueError):
        return None
    value = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f"{value:012d}"[-12:]
