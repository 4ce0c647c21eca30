"""KMS grants: the grant record, its rows (the ``kms_grants`` table), grant tokens, and the
grant's part in authorization.

A grant is a third way to be allowed to use a key, beside the key policy and IAM
(https://docs.aws.amazon.com/kms/latest/developerguide/grants.html). cloudkeep hands the policy
engine each grant of a key as a synthetic Allow statement appended to the key policy
(``key_policy_with_grants``): the grantee principal as Principal, the grant operations as
``kms:<Op>`` actions, the encryption-context constraint as ``kms:EncryptionContext:`` conditions.
So grants, key policy and IAM are decided in one evaluation and explained in one ``Decision``
(a grant's statement is named ``Grant<grant-id>``), and the engine's rules apply unchanged: a
grant to a user, a session or a service allows directly (spec §3 DIRECT), a grant to a role
ARN allows that role's sessions within their permissions boundary and session policies (ROLE),
a grant to an account or to a principal of another account also needs that account's IAM
allow (§2.3).

``RetireGrant`` is decided by the grant itself, not by the key policy ("The kms:RetireGrant
permission is not effective in a key policy", grant-delete.html): ``retire_policy`` is the one
policy of that check.

Must not: decide anything (the engine does); serve the wire (ops_policy_grants.py does).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, bindparam, delete, select

from cloudkeep.storage.generations import bump as changed   # grants decide who may use the key
from cloudkeep.storage.schema import kms_grants
from cloudkeep.wire.errors import ValidationError

from . import errors as K

#: every operation a grant may allow (the model's GrantOperation enum)
GRANT_OPERATIONS = ("Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                    "ReEncryptFrom", "ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant",
                    "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
                    "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
                    "DeriveSharedSecret")

#: operations that take an encryption context: the only ones a grant constraint applies to
#: ("Grants with grant constraints can include the DescribeKey and RetireGrant operations, but
#: the constraint doesn't apply to these operations. If a grant with a grant constraint includes
#: the CreateGrant operation, the constraint requires that any grants created with the
#: CreateGrant permission have an equally strict or stricter encryption context constraint."
#: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html)
CONTEXT_OPERATIONS = frozenset({"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                                "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
                                "GenerateDataKeyPairWithoutPlaintext"})

#: operations each kind of key supports in a grant (grants.html#terms-grant-operations)
_COMMON = frozenset({"CreateGrant", "RetireGrant", "DescribeKey"})
OPERATIONS_BY_USAGE = {
    "SYMMETRIC": _COMMON | CONTEXT_OPERATIONS,
    "ENCRYPT_DECRYPT": _COMMON | {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
    "SIGN_VERIFY": _COMMON | {"Sign", "Verify", "GetPublicKey"},
    "GENERATE_VERIFY_MAC": _COMMON | {"GenerateMac", "VerifyMac"},
    "KEY_AGREEMENT": _COMMON | {"DeriveSharedSecret", "GetPublicKey"},
}

EQUALS = "EncryptionContextEquals"
SUBSET = "EncryptionContextSubset"

_KEY_ARN = re.compile(r"^arn:(?P<partition>[^:]+):kms:(?P<region>[^:]+):(?P<account>\d{12}):key/(?P<key_id>.+)$")
_TOKEN_PREFIX = b"ckgt1"


# --- the grant ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Grant:
    grant_id: str
    account_id: str                    # the key's account
    region: str
    key_id: str
    key_arn: str
    name: str | None
    grantee_principal: str
    retiring_principal: str | None
    operations: tuple[str, ...]
    #: (EQUALS or SUBSET, ((key, value), …)) or None
    constraint: tuple[str, tuple[tuple[str, str], ...]] | None
    issuing_account: str
    created_at: _dt.datetime

    def constraints_wire(self) -> dict[str, dict[str, str]] | None:
        if self.constraint is None:
            return None
        kind, pairs = self.constraint
        return {kind: dict(pairs)}

    def to_wire(self) -> dict[str, Any]:
        """A ``GrantListEntry``."""
        out: dict[str, Any] = {"KeyId": self.key_arn, "GrantId": self.grant_id,
                               "CreationDate": self.created_at,
                               "GranteePrincipal": self.grantee_principal,
                               "IssuingAccount": f"arn:aws:iam::{self.issuing_account}:root",
                               "Operations": list(self.operations)}
        if self.name is not None:
            out["Name"] = self.name
        if self.retiring_principal is not None:
            out["RetiringPrincipal"] = self.retiring_principal
        constraints = self.constraints_wire()
        if constraints is not None:
            out["Constraints"] = constraints
        return out

    def same_request(self, grantee: str, retiring: str | None, operations: Iterable[str],
                     constraint: Any) -> bool:
        """Whether a CreateGrant with this grant's name asks for exactly this grant again."""
        return (self.grantee_principal == grantee and self.retiring_principal == retiring
                and sorted(self.operations) == sorted(operations) and self.constraint == constraint)


def normalize_constraint(raw: Mapping[str, Any] | None) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """The request's ``Constraints`` as (kind, sorted pairs), or None when absent. Exactly one
    kind is allowed; an empty structure is no constraint."""
    if not raw:
        return None
    kinds = [k for k in (EQUALS, SUBSET) if raw.get(k) is not None]
    if not kinds:
        return None
    if len(kinds) > 1:
        raise ValidationError("Only one of EncryptionContextEquals and EncryptionContextSubset "
                              "can be specified.")
    kind = kinds[0]
    pairs = tuple(sorted((str(k), str(v)) for k, v in dict(raw[kind]).items()))
    return kind, pairs


def key_arn_parts(arn: str) -> tuple[str, str, str]:
    """(account, region, key id) of a key ARN."""
    m = _KEY_ARN.match(arn)
    if m is None:
        raise K.InvalidArnException(f"Invalid arn {arn}")
    return m["account"], m["region"], m["key_id"]


# --- grant tokens ---------------------------------------------------------------------------
# A grant token names the key and the grant; it is opaque and unique per CreateGrant call
# (API_CreateGrant: "the returned grant token is unique with every CreateGrant request, even
# when a duplicate GrantId is returned"). It is sealed under the master key, so a token this
# server did not issue is refused (InvalidGrantTokenException) rather than parsed.


def issue_token(sealer: Any, grant: Grant, nonce: bytes) -> str:
    payload = json.dumps({"k": grant.key_arn, "g": grant.grant_id, "n": nonce.hex()},
                         separators=(",", ":")).encode()
    return base64.b64encode(_TOKEN_PREFIX + sealer.seal(payload, context=b"kms-grant-token")).decode()


def read_token(sealer: Any, token: str) -> tuple[str, str]:
    """(key ARN, grant id) of a grant token this server issued."""
    try:
        raw = base64.b64decode(token, validate=True)
        if not raw.startswith(_TOKEN_PREFIX):
            raise ValueError("not a cloudkeep grant token")
        data = json.loads(sealer.open(raw[len(_TOKEN_PREFIX):], context=b"kms-grant-token"))
        return str(data["k"]), str(data["g"])
    except Exception:  # noqa: BLE001 - any defect of a token makes it invalid
        raise K.InvalidGrantTokenException("Grant token is not valid") from None


def check_tokens(sealer: Any, tokens: Iterable[str] | None) -> None:
    """Every grant token a request passes must be one this server issued."""
    for token in tokens or ():
        read_token(sealer, token)


# --- rows -----------------------------------------------------------------------------------


def _from_row(row: Any) -> Grant:
    constraint = None
    if row.constraints:
        data = json.loads(row.constraints)
        constraint = (data["kind"], tuple((str(k), str(v)) for k, v in data["pairs"]))
    return Grant(grant_id=row.grant_id, account_id=row.account_id, region=row.region, key_id=row.key_id,
                 key_arn=row.key_arn, name=row.name, grantee_principal=row.grantee_principal,
                 retiring_principal=row.retiring_principal, operations=tuple(json.loads(row.operations)),
                 constraint=constraint, issuing_account=row.issuing_account, created_at=row.created_at)


def add_grant(uow: Any, grant: Grant) -> None:
    changed(uow, grant.account_id)
    constraints = (json.dumps({"kind": grant.constraint[0], "pairs": [list(p) for p in grant.constraint[1]]})
                   if grant.constraint is not None else None)
    uow.execute(kms_grants.insert().values(
        grant_id=grant.grant_id, account_id=grant.account_id, region=grant.region, key_id=grant.key_id,
        key_arn=grant.key_arn, name=grant.name, grantee_principal=grant.grantee_principal,
        retiring_principal=grant.retiring_principal, operations=json.dumps(list(grant.operations)),
        constraints=constraints, issuing_account=grant.issuing_account, created_at=grant.created_at))


_GRANTS_OF_KEY = (select(kms_grants).where(and_(
    kms_grants.c.account_id == bindparam("account_id"), kms_grants.c.region == bindparam("region"),
    kms_grants.c.key_id == bindparam("key_id"))).order_by(kms_grants.c.created_at, kms_grants.c.grant_id))


def grants_of_key(uow: Any, key_arn: str) -> list[Grant]:
    """The key's grants, oldest first."""
    account, region, key_id = key_arn_parts(key_arn)
    rows = uow.execute(_GRANTS_OF_KEY, {"account_id": account, "region": region, "key_id": key_id}).all()
    return [_from_row(r) for r in rows]


def find_grant(uow: Any, key_arn: str, grant_id: str) -> Grant | None:
    account, region, key_id = key_arn_parts(key_arn)
    row = uow.execute(select(kms_grants).where(and_(
        kms_grants.c.grant_id == grant_id, kms_grants.c.account_id == account,
        kms_grants.c.region == region, kms_grants.c.key_id == key_id))).first()
    return _from_row(row) if row is not None else None


def retirable_grants(uow: Any, region: str, retiring_principal: str) -> list[Grant]:
    rows = uow.execute(select(kms_grants).where(and_(
        kms_grants.c.region == region, kms_grants.c.retiring_principal == retiring_principal))
        .order_by(kms_grants.c.created_at, kms_grants.c.grant_id)).all()
    return [_from_row(r) for r in rows]


def delete_grant(uow: Any, grant: Grant) -> None:
    changed(uow, grant.account_id)
    uow.execute(delete(kms_grants).where(kms_grants.c.grant_id == grant.grant_id))


def delete_grants_of_key(uow: Any, key_arn: str) -> None:
    """For the key's final deletion: its grants go with it."""
    account, region, key_id = key_arn_parts(key_arn)
    changed(uow, account)
    uow.execute(delete(kms_grants).where(and_(
        kms_grants.c.account_id == account, kms_grants.c.region == region, kms_grants.c.key_id == key_id)))


# --- grants as policy statements ------------------------------------------------------------


def principal_element(principal: str) -> dict[str, str]:
    """A grant principal as a policy Principal: an AWS ARN (or account id), or a service."""
    if principal.startswith("arn:") or re.fullmatch(r"\d{12}", principal):
        return {"AWS": principal}
    return {"Service": principal}


def _grantee(grant: Grant, variables: bool) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The Principal element (and the Condition that narrows it) for a grant's grantee.

    A grantee of the key's own account is named as it is (spec §3: a user or session ARN is a
    DIRECT grant, a role ARN a ROLE grant). A grantee of another account is named through its
    account, narrowed to the grantee by ``aws:PrincipalArn`` (a session: by its role and
    ``aws:userid`` ``*:<session>``): an account principal is a delegation, so the grantee's
    own account must allow the call in IAM as well (spec §2.3), whatever the request's
    resource account is taken to be."""
    grantee = grant.grantee_principal
    element = principal_element(grantee)
    parts = grantee.split(":", 5)
    if "AWS" not in element or len(parts) < 6 or parts[4] == grant.account_id or parts[5] == "root":
        return element, {}
    account, resource = parts[4], parts[5]
    if parts[2] == "sts" and resource.startswith("assumed-role/") and resource.count("/") >= 2:
        _, role, session = resource.split("/", 2)
        return ({"AWS": f"arn:aws:iam::{account}:root"},
                {"ArnLike": {"aws:PrincipalArn": [f"arn:aws:iam::{account}:role/{role}",
                                                  f"arn:aws:iam::{account}:role/*/{role}"]},
                 "StringLike": {"aws:userid": f"*:{_literal(session, variables)}"}})
    return {"AWS": f"arn:aws:iam::{account}:root"}, {"ArnEquals": {"aws:PrincipalArn": grantee}}


def _literal(value: str, variables: bool) -> str:
    """A condition value that is matched literally: under Version 2012-10-17 a ``$`` could start
    a policy variable, so it is written ``${$}`` (spec §6)."""
    return value.replace("$", "${$}") if variables else value


def constraint_condition(constraint: tuple[str, tuple[tuple[str, str], ...]],
                         variables: bool) -> dict[str, dict[str, Any]]:
    """The Condition block that admits exactly the requests a constraint admits.

    Subset: every pair present (``StringEquals`` on ``kms:EncryptionContext:<k>``). Equals: the
    same, and no other key (``ForAllValues:StringEqualsIgnoreCase`` on
    ``kms:EncryptionContextKeys``: "in a grant constraint, the key in each key-value pair is not
    case sensitive, but the value is case sensitive", API_GrantConstraints.html). An empty
    Equals admits only requests without an encryption context."""
    kind, pairs = constraint
    condition: dict[str, dict[str, Any]] = {}
    if pairs:
        condition["StringEquals"] = {f"kms:EncryptionContext:{k}": _literal(v, variables) for k, v in pairs}
    if kind == EQUALS:
        if pairs:
            condition["ForAllValues:StringEqualsIgnoreCase"] = {
                "kms:EncryptionContextKeys": [_literal(k, variables) for k, _ in pairs]}
        else:
            condition["Null"] = {"kms:EncryptionContextKeys": "true"}
    return condition


def grant_statements(grant: Grant, *, variables: bool = True) -> list[dict[str, Any]]:
    """The Allow statements one grant adds to its key's policy. RetireGrant is left out: who
    may retire a grant is decided by ``retire_policy``, never by the key policy."""
    ops = [op for op in grant.operations if op != "RetireGrant"]
    if not ops:
        return []
    principal, narrowing = _grantee(grant, variables)
    sid = f"Grant{grant.grant_id}"
    if grant.constraint is None:
        return [_with_condition({"Sid": sid, "Effect": "Allow", "Principal": principal,
                                 "Action": [f"kms:{op}" for op in ops], "Resource": "*"}, narrowing)]
    kind = grant.constraint[0]
    constrained = [op for op in ops if op in CONTEXT_OPERATIONS]
    free = [op for op in ops if op not in CONTEXT_OPERATIONS and op != "CreateGrant"]
    out: list[dict[str, Any]] = []
    if constrained:
        out.append({"Sid": sid, "Effect": "Allow", "Principal": principal,
                    "Action": [f"kms:{op}" for op in constrained], "Resource": "*",
                    "Condition": constraint_condition(grant.constraint, variables)})
    if "CreateGrant" in ops:
        # a constrained grantee may only create grants at least as strict: the new grant's
        # constraint is the request's kms:EncryptionContext (authz_grants.py supplies it)
        condition = constraint_condition(grant.constraint, variables)
        if kind == EQUALS:
            condition["StringEquals"] = {**condition.get("StringEquals", {}), "kms:GrantConstraintType": EQUALS}
        out.append({"Sid": f"{sid}CreateGrant", "Effect": "Allow", "Principal": principal,
                    "Action": ["kms:CreateGrant"], "Resource": "*", "Condition": condition})
    if free:
        out.append({"Sid": f"{sid}Unconstrained", "Effect": "Allow", "Principal": principal,
                    "Action": [f"kms:{op}" for op in free], "Resource": "*"})
    return [_with_condition(statement, narrowing) for statement in out]


def _with_condition(statement: dict[str, Any], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The statement with ``extra`` operators added to its Condition (operators are ANDed)."""
    if not extra:
        return statement
    condition = dict(statement.get("Condition", {}))
    for operator, keys in extra.items():
        condition[operator] = {**condition.get(operator, {}), **keys}
    return {**statement, "Condition": condition}


def _statements(document: Mapping[str, Any]) -> list[Any]:
    statements = document.get("Statement", [])
    return list(statements) if isinstance(statements, list) else [statements]


def policy_with_grants(policy_text: str, grants: Iterable[Grant]) -> str:
    """A key policy document with one Allow statement per grant appended."""
    grants = list(grants)
    if not grants:
        return policy_text
    document = json.loads(policy_text)
    variables = document.get("Version") == "2012-10-17"
    statements = _statements(document)
    for grant in grants:
        statements.extend(grant_statements(grant, variables=variables))
    document["Statement"] = statements
    return json.dumps(document, separators=(",", ":"))


def key_policy_with_grants(uow: Any, key: Any) -> str:
    """The key policy as the engine sees it: the stored policy plus the key's grants."""
    return policy_with_grants(key.policy, grants_of_key(uow, key.arn))


def retire_policy(grant: Grant) -> str:
    """The policy that decides RetireGrant for one grant (grant-delete.html): its retiring
    principal, its grantee if the grant includes RetireGrant, and the key's account (a
    delegation: the root user, and IAM principals of the account that IAM allows)."""
    principals = [f"arn:aws:iam::{grant.account_id}:root"]
    for p in (grant.retiring_principal,
              grant.grantee_principal if "RetireGrant" in grant.operations else None):
        if p is not None and p not in principals:
            principals.append(p)
    aws = [p for p in principals if principal_element(p).get("AWS")]
    services = [p for p in principals if not principal_element(p).get("AWS")]
    principal: dict[str, Any] = {"AWS": aws}
    if services:
        principal["Service"] = services
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": f"Retire{grant.grant_id}", "Effect": "Allow", "Principal": principal,
        "Action": "kms:RetireGrant", "Resource": "*"}]}, separators=(",", ":"))


# --- the key policy lockout safety check ----------------------------------------------------

LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."
#: IAM is taken to allow: an account delegation in the key policy counts as allowing
_IAM_ALLOWS = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


def _caller(caller: Any, account_id: str, parent_arn: str | None) -> Any:
    """The caller as the engine's RequestPrincipal (from a Principal, or from its ARN)."""
    from cloudkeep.policy.model import PrincipalKind, RequestPrincipal

    arn = getattr(caller, "arn", caller)
    parent = getattr(caller, "parent_arn", None) or parent_arn
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    if resource == "root":
        kind = PrincipalKind.ROOT
    elif resource.startswith("assumed-role/"):
        kind = PrincipalKind.ASSUMED_ROLE
        if parent is None:
            parent = f"arn:aws:iam::{account_id}:role/{resource.split('/')[1]}"
    elif resource.startswith("federated-user/"):
        kind = PrincipalKind.FEDERATED_USER
    else:
        kind = PrincipalKind.USER
    return RequestPrincipal(kind=kind, arn=arn, account=account_id, parent_arn=parent)


def check_lockout(caller_principal_arn: Any, account_id: str, policy_text: str, *,
                  key_arn: str | None = None, parent_arn: str | None = None) -> None:
    """PutKeyPolicy's (and CreateKey's) lockout safety check: the new policy must let the caller
    make a later PutKeyPolicy call, or MalformedPolicyDocumentException "The new key policy will
    not allow you to update the key policy in the future." (API_PutKeyPolicy, Policy: "The key
    policy must allow the calling principal to make a subsequent PutKeyPolicy request on the KMS
    key"; key-policy-default.html#prevent-unmanageable-key).

    Decided by the policy engine with the caller as principal, this policy as the only (and
    mandatory, spec §2.2) resource policy, and IAM assumed to allow: so a statement for the
    caller, for the caller's role, or an account delegation (``arn:aws:iam::<acct>:root``)
    passes; a policy that names nobody the caller is, or denies the caller, does not.
    ``caller_principal_arn`` is the caller's ARN or its ``Principal``; ``key_arn`` the key's
    ARN (CreateKey knows it before storing the key); without it the resource is ``*``."""
    from cloudkeep.policy.evaluate import evaluate
    from cloudkeep.policy.model import (ApplicablePolicies, AuthzRequest, PolicyError, PolicyKind,
                                        PolicyRef)
    from cloudkeep.policy.parse import parse_policy

    try:
        policy = parse_policy(policy_text, PolicyKind.RESOURCE)
    except PolicyError as error:
        raise K.MalformedPolicyDocumentException(error.message) from None
    principal = _caller(caller_principal_arn, account_id, parent_arn)
    principal_arn = principal.parent_arn if principal.kind.value == "assumed-role" else principal.arn
    context = {"aws:principalarn": (principal_arn,), "aws:principalaccount": (account_id,),
               "aws:resourceaccount": (account_id,), "kms:calleraccount": (account_id,),
               "kms:bypasspolicylockoutsafetycheck": ("false",)}
    request = AuthzRequest(principal=principal, action="kms:PutKeyPolicy", resource=key_arn or "*",
                           resource_account=account_id, context=context)
    policies = ApplicablePolicies(
        identity=(PolicyRef("IAM (assumed to allow)", parse_policy(_IAM_ALLOWS, PolicyKind.IDENTITY)),),
        resource=PolicyRef("key policy", policy), resource_policy_required=True)
    if not evaluate(request, policies).allowed:
        raise K.MalformedPolicyDocumentException(LOCKOUT_MESSAGE)
