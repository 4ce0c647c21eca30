"""STS operations: the caller's identity and temporary credentials.

https://docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html

The authorize stage has already run each operation's checks (``authz.py``: for AssumeRole the
caller's permission and the role's trust policy); these functions apply STS's own rules and
issue the credentials.

Must not: import the pipeline; hold SQL (``repository.py``) or rules (``domain.py``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from cloudkeep.auth.principal import Principal, PrincipalType
from cloudkeep.services.framework import Call, Operations, Params, Result
from cloudkeep.wire.errors import AccessDenied, InvalidParameterValue

from . import domain as D
from . import repository as repo
from .credentials import secret_context, token_context
from .errors import InvalidAuthorizationMessage, MalformedPolicyDocument, PackedPolicyTooLarge

operation = Operations()


@operation("GetCallerIdentity")
def get_caller_identity(call: Call, params: Params) -> Result:
    p = call.principal
    return {"UserId": p.principal_id, "Account": p.account_id, "Arn": p.arn}


# --- issuing credentials ---------------------------------------------------------------------


def _issue(call: Call, session: D.Session) -> dict[str, Any]:
    """Store the session with a new secret and token (sealed) and return its Credentials."""
    secret = call.ids.secret_access_key()
    token = D.new_token(call.ids.token_bytes(48))
    key = session.access_key_id
    repo.add_session(call.uow, session,
                     secret_sealed=call.sealer.seal(secret.encode(), context=secret_context(key)),
                     token_sealed=call.sealer.seal(token.encode(), context=token_context(key)))
    return D.credentials_wire(session, secret, token)


def _session_policies(call: Call, params: Params, account_id: str
                      ) -> tuple[tuple[tuple[str, str], ...] | None, list[str]]:
    """Policy (inline) and PolicyArns (managed policies of ``account_id``, the session's
    account, or AWS managed), validated: (name, document) pairs, or None when none was passed."""
    policy: str | None = params.get("Policy")
    arns = [d["arn"] for d in params.get("PolicyArns") or [] if d.get("arn")]
    if policy is None and not arns:
        return None, arns
    if len(arns) > D.MAX_POLICY_ARNS:
        raise InvalidParameterValue(f"1 validation error detected: Value at 'policyArns' failed to satisfy "
                                    f"constraint: Member must have length less than or equal to {D.MAX_POLICY_ARNS}")
    D.check_plaintext_size(policy, arns)
    out: list[tuple[str, str]] = []
    if policy is not None:
        _parse_session_policy(policy)
        out.append(("session policy", policy))
    for arn in arns:
        out.append((arn, _managed_policy_document(call, account_id, arn)))
    return tuple(out), arns


def _parse_session_policy(text: str) -> None:
    from cloudkeep.policy.model import PolicyError, PolicyKind
    from cloudkeep.policy.parse import parse_policy

    try:
        parse_policy(text, PolicyKind.SESSION)
    except PolicyError as error:
        raise MalformedPolicyDocument(error.message) from None


def _managed_policy_document(call: Call, account_id: str, arn: str) -> str:
    """The default version's document of a managed policy named in PolicyArns."""
    from cloudkeep.services.iam import repo_policies  # the IAM policies module owns their storage

    lookup = getattr(repo_policies, "managed_document", None) or getattr(repo_policies, "_managed_document")
    document = lookup(call.uow, account_id, arn, call.partition)
    if document is None:
        # AWS answers an unknown or unusable session policy ARN as an invalid parameter
        raise InvalidParameterValue(f"Policy {arn} does not exist or is not attachable.")
    return document


def _packed_size(policy: str | None, arns: list[str], tags: tuple[tuple[str, str], ...]) -> int:
    percent = D.packed_size_percent(policy, arns, tags)
    if percent > 100:
        raise PackedPolicyTooLarge(f"Packed policy consumes {percent}% of allotted space")
    return percent


def _verified_mfa(call: Call, params: Params) -> bool:
    """SerialNumber + TokenCode checked against the caller's enabled MFA device (IAM's
    ``verify_mfa``, at the domain clock); False when neither is given, AccessDenied when wrong."""
    from cloudkeep.services.iam.ops_account import MfaCheck, verify_mfa

    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if serial is None and code is None:
        return False
    if serial is None or code is None:
        raise AccessDenied(D.MFA_INVALID_CODE)
    p = call.principal
    if D.is_temporary(p) or p.type not in (PrincipalType.ROOT, PrincipalType.IAM_USER):
        raise AccessDenied(D.MFA_UNKNOWN_DEVICE)   # only users and the root user have MFA devices
    result = verify_mfa(call.uow, call.sealer, p.account_id, serial, code, call.clock.now(),
                        user_name=None if p.is_root else p.user_name)
    if result is MfaCheck.NO_DEVICE:
        raise AccessDenied(D.MFA_UNKNOWN_DEVICE)
    if result is not MfaCheck.OK:
        raise AccessDenied(D.MFA_INVALID_CODE)
    return True


def _window(call: Call, seconds: int) -> tuple[_dt.datetime, _dt.datetime]:
    now = call.clock.now().replace(microsecond=0)
    return now, now + _dt.timedelta(seconds=seconds)


# --- AssumeRole --------------------------------------------------------------------------------


def _not_authorized(principal: Principal, role_arn: str) -> AccessDenied:
    return AccessDenied(f"User: {principal.arn} is not authorized to perform: sts:AssumeRole on resource: "
                        f"{role_arn}")


def _caller_transitive(call: Call) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    p = call.principal
    if p.type is not PrincipalType.ASSUMED_ROLE or not p.access_key_id:
        return (), ()
    return p.session_tags, repo.transitive_of(call.uow, p.access_key_id)


@operation("AssumeRole")
def assume_role(call: Call, params: Params) -> Result:
    from cloudkeep.services.iam.repo_groups_roles import record_role_use, role_row

    caller = call.principal
    if caller.is_root:
        # AWS refuses the root user (long-term keys or its GetSessionToken session)
        raise AccessDenied(D.ROOT_CANNOT_ASSUME)
    role_arn = params["RoleArn"]
    ref = D.parse_role_arn(role_arn, call.partition)
    role = role_row(call.uow, ref.account_id, ref.name) if ref is not None else None
    if role is None or role.path != ref.path:  # type: ignore[union-attr]
        raise _not_authorized(caller, role_arn)
    mfa = _verified_mfa(call, params)
    chained = D.is_temporary(caller)
    duration = D.role_session_duration(params.get("DurationSeconds"),
                                       max_session_duration=role.max_session_duration, chained=chained)
    policies, arns = _session_policies(call, params, role.account_id)
    inherited, inherited_keys = _caller_transitive(call)
    tags, transitive = D.session_tags(inherited, inherited_keys, params.get("Tags") or [],
                                      params.get("TransitiveTagKeys") or [])
    packed = _packed_size(params.get("Policy"), arns, tuple(tags))
    name = params["RoleSessionName"]
    issued, expires = _window(call, duration)
    session = D.Session(
        access_key_id=call.ids.access_key_id(temporary=True), account_id=role.account_id,
        principal_type=PrincipalType.ASSUMED_ROLE,
        arn=D.assumed_role_arn(call.partition, role.account_id, role.role_name, name),
        principal_id=f"{role.role_id}:{name}", issued_at=issued, expires_at=expires,
        parent_arn=role.arn, parent_id=role.role_id, session_name=name, session_policies=policies,
        session_tags=tags, transitive_tag_keys=transitive,
        # a source identity, once set, stays with every session chained from it
        source_identity=caller.source_identity or params.get("SourceIdentity"),
        mfa_authenticated=mfa or bool(chained and caller.mfa_authenticated),
        mfa_authenticated_at=issued if mfa else (
            caller.mfa_authenticated_at if chained and caller.mfa_authenticated else None))
    credentials = _issue(call, session)
    record_role_use(call.uow, role.account_id, role.role_name, issued, call.region)
    out: Result = {"Credentials": credentials,
                   "AssumedRoleUser": {"AssumedRoleId": session.principal_id, "Arn": session.arn}}
    if policies is not None or tags:
        out["PackedPolicySize"] = packed
    if session.source_identity:
        out["SourceIdentity"] = session.source_identity
    return out


# --- GetSessionToken / GetFederationToken ------------------------------------------------------


def _long_term_caller(call: Call, operation_name: str) -> Principal:
    p = call.principal
    if D.is_temporary(p):
        raise AccessDenied(f"Cannot call {operation_name} with session credentials")
    if p.type not in (PrincipalType.ROOT, PrincipalType.IAM_USER):  # pragma: no cover - no other long-term keys
        raise AccessDenied(f"Cannot call {operation_name} with these credentials")
    return p


@operation("GetSessionToken")
def get_session_token(call: Call, params: Params) -> Result:
    p = _long_term_caller(call, "GetSessionToken")
    mfa = _verified_mfa(call, params)
    duration = D.token_duration(params.get("DurationSeconds"), root=p.is_root)
    issued, expires = _window(call, duration)
    session = D.Session(
        access_key_id=call.ids.access_key_id(temporary=True), account_id=p.account_id,
        principal_type=p.type, arn=p.arn, principal_id=p.principal_id, user_name=p.user_name,
        issued_at=issued, expires_at=expires, mfa_authenticated=mfa, mfa_authenticated_at=issued if mfa else None)
    return {"Credentials": _issue(call, session)}


@operation("GetFederationToken")
def get_federation_token(call: Call, params: Params) -> Result:
    p = _long_term_caller(call, "GetFederationToken")
    duration = D.token_duration(params.get("DurationSeconds"), root=p.is_root)
    policies, arns = _session_policies(call, params, p.account_id)
    tags, _ = D.session_tags((), (), params.get("Tags") or [], ())
    packed = _packed_size(params.get("Policy"), arns, tags)
    name = params["Name"]
    issued, expires = _window(call, duration)
    session = D.Session(
        access_key_id=call.ids.access_key_id(temporary=True), account_id=p.account_id,
        principal_type=PrincipalType.FEDERATED_USER,
        arn=D.federated_user_arn(call.partition, p.account_id, name),
        principal_id=f"{p.account_id}:{name}", issued_at=issued, expires_at=expires,
        parent_arn=p.arn, parent_id=p.principal_id, session_name=name, session_policies=policies,
        session_tags=tags, mfa_authenticated=False)
    out: Result = {"Credentials": _issue(call, session),
                   "FederatedUser": {"FederatedUserId": session.principal_id, "Arn": session.arn}}
    if policies is not None or tags:
        out["PackedPolicySize"] = packed
    return out


# --- GetAccessKeyInfo / DecodeAuthorizationMessage ---------------------------------------------


@operation("GetAccessKeyInfo")
def get_access_key_info(call: Call, params: Params) -> Result:
    """The account of any access key id: looked up when cloudkeep issued it, else the account
    AWS's key format encodes in it."""
    key = params["AccessKeyId"]
    account = repo.key_account(call.uow, key) or D.account_encoded_in(key)
    if account is None:
        raise InvalidParameterValue(f"The access key ID {key} is not valid.")   # derived message
    return {"Account": account}


@operation("DecodeAuthorizationMessage")
def decode_authorization_message(call: Call, params: Params) -> Result:
    """cloudkeep does not encode authorization failure messages yet, so no message is one it
    can decode: AWS answers such a message with InvalidAuthorizationMessageException."""
    raise InvalidAuthorizationMessage("The message is invalid or has expired.")   # derived message
