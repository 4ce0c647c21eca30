"""The CloudTrail event record: what the pipeline knows about one call → AWS's record format.

Owns: ``EventContext`` (a value the pipeline fills in) and ``build_event`` (the record,
field for field as CloudTrail writes it, in CloudTrail's field order).
Record contents: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
userIdentity: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html

- ``eventVersion`` is "1.11", the current version of the record format (record contents page).
- ``errorCode``/``errorMessage`` appear only on failed calls, after ``userAgent``.
- ``requestParameters`` is null when the request had none; ``responseElements`` is null on
  failures and on read-only calls, except the STS calls that issue credentials (AssumeRole,
  GetSessionToken, …), whose records keep them (without the secret key).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html#stscloudtrailexample
- ``sessionCredentialFromConsole`` is the string "true", present only when true.
- ``eventTime`` is UTC to the second: ``2026-11-29T23:42:18Z``.

Must not: redact (the caller passes values already through ``audit.redact``); do I/O; copy
values it was given (it only places them).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Final, Mapping, Sequence

from cloudkeep.auth.principal import Principal, PrincipalType

EVENT_VERSION: Final = "1.11"
UTC = _dt.timezone.utc

# Read-only STS calls whose records still carry responseElements (the issued credentials,
# secret left out), see the module docstring.
_KEEP_RESPONSE_WHEN_READ_ONLY: Final[frozenset[tuple[str, str]]] = frozenset({
    ("sts.amazonaws.com", "AssumeRole"),
    ("sts.amazonaws.com", "AssumeRoleWithSAML"),
    ("sts.amazonaws.com", "AssumeRoleWithWebIdentity"),
    ("sts.amazonaws.com", "AssumeRoot"),
    ("sts.amazonaws.com", "GetFederationToken"),
    ("sts.amazonaws.com", "GetSessionToken"),
})

# The userIdentity of an unauthenticated (anonymous) request, as S3 records them.
_ANONYMOUS_IDENTITY: Final = {"type": "AWSAccount", "principalId": "",
                              "accountId": "ANONYMOUS_PRINCIPAL"}
_TEMPORARY_ISSUERS: Final = (PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER)


@dataclass(slots=True)
class EventContext:
    """Everything the pipeline knows about one call, for its CloudTrail record. Made once per
    call and never changed. Not frozen: a frozen dataclass sets each of its 25 fields through
    ``object.__setattr__`` and took 2.9 µs to make, a plain one 0.6 µs (one per recorded call)."""

    event_id: str
    request_id: str
    event_time: _dt.datetime
    event_source: str                      # e.g. "iam.amazonaws.com"
    event_name: str                        # the operation, e.g. "CreateUser"
    aws_region: str
    source_ip: str
    user_agent: str
    principal: Principal | None            # None: authentication failed before a principal was known
    recipient_account_id: str
    read_only: bool
    management_event: bool
    request_parameters: object | None      # already redacted
    response_elements: object | None       # already redacted
    error_code: str | None
    error_message: str | None
    session_credential_from_console: bool = False
    tls_details: Mapping[str, str] | None = None
    additional_event_data: Mapping[str, Any] | None = None
    # The access key a failed authentication named (only used when principal is None).
    access_key_id: str | None = None
    # userIdentity.sessionContext for temporary credentials (sessionIssuer, attributes, …).
    session_context: Mapping[str, Any] | None = None
    resources: Sequence[Mapping[str, str]] | None = None
    shared_event_id: str | None = None
    # The AWS service that made this call on the principal's behalf (e.g. "s3.amazonaws.com"):
    # CloudTrail writes it as userIdentity.invokedBy and as the source address and user agent.
    # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
    invoked_by: str | None = None


def event_time_text(value: _dt.datetime) -> str:
    """CloudTrail's ``eventTime``: ``2026-11-29T23:42:18Z`` (UTC, whole seconds; naive means UTC)."""
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    # formatted by hand: half the cost of astimezone + strftime, on every record
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z")


def session_context_of(principal: Principal) -> dict[str, Any] | None:
    """``userIdentity.sessionContext`` of a caller with temporary credentials, else None.

    - role sessions: ``sessionIssuer`` is the role (type "Role", its AROA… id, ARN, account and
      name as ``userName``); federated users (GetFederationToken): the IAM user who asked for
      the token (type "IAMUser"), or the root user (type "Root");
    - a user's or root's own session (GetSessionToken): ``sessionIssuer`` is ``{}``;
    - ``webIdFederationData`` is ``{}`` unless the session came from a web identity provider;
    - ``attributes``: ``creationDate`` (when the credentials were issued, ISO 8601 UTC) and
      ``mfaAuthenticated`` ("true"/"false", strings);
    - ``sourceIdentity`` when the session carries one.
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html
    """
    if principal.token_issued_at is None:
        return None      # long-term credentials: no session
    issuer: dict[str, Any] = {}
    if principal.type in _TEMPORARY_ISSUERS and principal.parent_arn:
        parent = principal.parent_arn
        if principal.type is PrincipalType.ASSUMED_ROLE:
            issuer = {"type": "Role", "principalId": principal.parent_id or "", "arn": parent,
                      "accountId": principal.account_id, "userName": parent.rsplit("/", 1)[-1]}
        elif parent.endswith(":root"):
            issuer = {"type": "Root", "principalId": principal.parent_id or principal.account_id,
                      "arn": parent, "accountId": principal.account_id}
        else:
            issuer = {"type": "IAMUser", "principalId": principal.parent_id or "", "arn": parent,
                      "accountId": principal.account_id, "userName": parent.rsplit("/", 1)[-1]}
    context: dict[str, Any] = {
        "sessionIssuer": issuer,
        "webIdFederationData": {},
        "attributes": {"creationDate": event_time_text(principal.token_issued_at),
                       "mfaAuthenticated": "true" if principal.mfa_authenticated else "false"},
    }
    if principal.source_identity:
        context["sourceIdentity"] = principal.source_identity
    return context


def cross_account_identity(principal: Principal) -> dict[str, Any]:
    """``userIdentity`` in the copy of an event delivered to the account that owns the resource
    when the caller belongs to another account: type "AWSAccount", the caller's principal id and
    account only (its ARN, key and session stay in the caller's own copy). An anonymous caller
    keeps its anonymous identity.
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
    """
    if principal.type is PrincipalType.ANONYMOUS:
        return dict(_ANONYMOUS_IDENTITY)
    return {"type": "AWSAccount", "principalId": principal.principal_id,
            "accountId": principal.account_id}


def user_identity(principal: Principal | None, *, account_id: str = "",
                  access_key_id: str | None = None,
                  session_context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``userIdentity`` element for a principal (see the userIdentity page)."""
    if principal is None:
        # Authentication failed: CloudTrail's "Unknown" type — the identity could not be determined.
        out: dict[str, Any] = {"type": "Unknown", "principalId": "", "accountId": account_id}
        if access_key_id:
            out["accessKeyId"] = access_key_id
        return out
    kind = principal.type
    if kind is PrincipalType.ANONYMOUS:
        return dict(_ANONYMOUS_IDENTITY)
    if kind is PrincipalType.AWS_SERVICE:
        return {"type": "AWSService", "invokedBy": principal.principal_id}
    if kind is PrincipalType.WEB_IDENTITY:
        out = {"type": "WebIdentityUser", "principalId": principal.principal_id}
        if principal.user_name:
            out["userName"] = principal.user_name
        return out
    out = {"type": kind.value, "principalId": principal.principal_id, "arn": principal.arn,
           "accountId": principal.account_id}
    if principal.access_key_id is not None:
        out["accessKeyId"] = principal.access_key_id
    if kind is PrincipalType.IAM_USER and principal.user_name:
        out["userName"] = principal.user_name
    if session_context is None:
        session_context = session_context_of(principal)
    if session_context is not None:
        out["sessionContext"] = session_context
    return out


def keeps_response(event_source: str, event_name: str, read_only: bool) -> bool:
    """Whether a successful call's record carries responseElements: a write's does; a read's
    does not, except the STS calls that issue credentials (see the module docstring)."""
    return not read_only or (event_source, event_name) in _KEEP_RESPONSE_WHEN_READ_ONLY


def build_event(ctx: EventContext) -> dict[str, Any]:
    """The CloudTrail record of one API call (a JSON-ready dict, in CloudTrail's field order)."""
    failed = ctx.error_code is not None
    event: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(ctx.principal, account_id=ctx.recipient_account_id,
                                      access_key_id=ctx.access_key_id,
                                      session_context=ctx.session_context),
        "eventTime": event_time_text(ctx.event_time),
        "eventSource": ctx.event_source,
        "eventName": ctx.event_name,
        "awsRegion": ctx.aws_region,
        "sourceIPAddress": ctx.invoked_by or ctx.source_ip,
        "userAgent": ctx.invoked_by or ctx.user_agent,
    }
    if ctx.invoked_by:
        event["userIdentity"]["invokedBy"] = ctx.invoked_by
    if failed:
        event["errorCode"] = ctx.error_code
        if ctx.error_message is not None:
            event["errorMessage"] = ctx.error_message
    keep_response = not failed and keeps_response(ctx.event_source, ctx.event_name, ctx.read_only)
    event["requestParameters"] = ctx.request_parameters if ctx.request_parameters else None
    event["responseElements"] = (ctx.response_elements if keep_response and ctx.response_elements
                                 else None)
    if ctx.additional_event_data:
        event["additionalEventData"] = ctx.additional_event_data
    event["requestID"] = ctx.request_id
    event["eventID"] = ctx.event_id
    event["readOnly"] = ctx.read_only
    if ctx.resources:
        event["resources"] = ctx.resources
    event["eventType"] = "AwsApiCall"
    event["managementEvent"] = ctx.management_event
    event["recipientAccountId"] = ctx.recipient_account_id
    if ctx.shared_event_id:
        event["sharedEventID"] = ctx.shared_event_id
    event["eventCategory"] = "Management" if ctx.management_event else "Data"
    if ctx.tls_details:
        event["tlsDetails"] = ctx.tls_details
    if ctx.session_credential_from_console:
        event["sessionCredentialFromConsole"] = "true"
    return event


# The identity, source address and user agent of an event a service makes on its own
# (AwsServiceEvent), as AWS's example records write them.
AWS_INTERNAL: Final = "AWS Internal"


def build_service_event(*, event_id: str, event_time: _dt.datetime, event_source: str, event_name: str,
                        aws_region: str, account_id: str, resources: Sequence[Mapping[str, str]] | None = None,
                        response_elements: Mapping[str, Any] | None = None,
                        service_event_details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The record of an event a service makes by itself, not through an API request (e.g. KMS
    rotating a key or deleting it when its waiting period ends): ``eventType`` "AwsServiceEvent",
    ``userIdentity`` the account and ``invokedBy`` "AWS Internal", no request id.
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/non-api-aws-service-events.html
    https://docs.aws.amazon.com/kms/latest/developerguide/ct-rotatekey.html
    https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html
    """
    event: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": {"accountId": account_id, "invokedBy": AWS_INTERNAL},
        "eventTime": event_time_text(event_time),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": aws_region,
        "sourceIPAddress": AWS_INTERNAL,
        "userAgent": AWS_INTERNAL,
        "requestParameters": None,
        "responseElements": dict(response_elements) if response_elements else None,
        "eventID": event_id,
        "readOnly": False,
    }
    if resources:
        event["resources"] = [dict(r) for r in resources]
    event["eventType"] = "AwsServiceEvent"
    event["managementEvent"] = True
    event["recipientAccountId"] = account_id
    if service_event_details:
        event["serviceEventDetails"] = dict(service_event_details)
    event["eventCategory"] = "Management"
    return event
