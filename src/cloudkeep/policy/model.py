"""The IAM policy language as typed values: the AST every policy is parsed into once, and the
inputs and answer of an evaluation. See ../shared/spec/iam-evaluation.md (the specification the
engine follows) — section numbers below refer to it.

The package is pure: standard library only, no I/O. ``parse.py`` turns JSON text into a
``Policy`` (validating the grammar of its kind); ``match.py`` and ``conditions.py`` decide whether
one statement applies to a request; ``evaluate.py`` runs the decision procedure (§2) and returns a
``Decision`` that says which statements decided it.

Must not: import anything outside the standard library; do I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping


class PolicyKind(enum.Enum):
    IDENTITY = "identity"              # user/group/role inline and managed policies
    RESOURCE = "resource"              # bucket policies, key policies, …
    TRUST = "trust"                    # a role's assume-role policy (a resource policy of the role)
    BOUNDARY = "permissions boundary"
    SESSION = "session"                # passed to AssumeRole*/GetFederationToken
    SCP = "service control policy"
    RCP = "resource control policy"


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A parsed ``Principal``/``NotPrincipal`` value (§3). ``"*"`` and ``{"AWS": "*"}`` set
    ``anyone``. AWS account ids are kept as written; matching treats ``"123456789012"`` and
    ``arn:aws:iam::123456789012:root`` alike."""

    anyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConditionClause:
    """One ``Operator: {Key: values}`` pair of a Condition block (§5). A block is the AND of its
    clauses; the values of one clause are OR'ed (NOR for negated operators)."""

    operator: str                      # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base: str                          # the operator without qualifier and IfExists, e.g. "StringLike"
    qualifier: str | None              # "ForAllValues" | "ForAnyValue" | None
    if_exists: bool
    key: str                           # as written, e.g. "aws:ResourceTag/Owner"
    values: tuple[str, ...]            # JSON strings, numbers and booleans as text ("true")

    @property
    def key_lower(self) -> str:
        return self.key.lower()


@dataclass(frozen=True, slots=True)
class Statement:
    index: int                         # position in its policy, 0-based
    effect: Effect
    sid: str | None = None
    actions: tuple[str, ...] | None = None         # exactly one of actions / not_actions
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None       # at most one of resources / not_resources
    not_resources: tuple[str, ...] | None = None   # (both None: resource policies, the resource itself)
    principal: PrincipalSpec | None = None
    not_principal: PrincipalSpec | None = None
    conditions: tuple[ConditionClause, ...] = ()


VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"


@dataclass(frozen=True, slots=True)
class Policy:
    kind: PolicyKind
    version: str                       # VERSION_2012 or VERSION_2008 (absent: 2008-10-17)
    statements: tuple[Statement, ...]
    id: str | None = None

    @property
    def variables_enabled(self) -> bool:
        """Policy variables are only substituted under 2012-10-17 (§6)."""
        return self.version == VERSION_2012


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy as an evaluation sees it, with the name its explanations use (a managed policy's
    ARN, ``user/alice/inline-name``, ``bucket policy``…)."""

    name: str
    policy: Policy

    @property
    def kind(self) -> PolicyKind:
        return self.policy.kind


class PrincipalKind(enum.Enum):
    ROOT = "root"
    USER = "user"
    ASSUMED_ROLE = "assumed-role"      # a role session
    FEDERATED_USER = "federated-user"  # a GetFederationToken session
    SERVICE = "service"                # an AWS service principal, e.g. cloudtrail.amazonaws.com
    ANONYMOUS = "anonymous"


class GrantKind(enum.Enum):
    """How a resource policy's Principal matched the caller (§3, same-account rules)."""

    DIRECT = "direct"                  # the user, the session ARN, "*", a service: not limited by
                                       # identity, boundary or session policies
    ROLE = "role"                      # the role ARN of a role session: limited by boundary and session
    PARENT_USER = "parent-user"        # the user of a federated session: limited by boundary and session
    ACCOUNT = "account"                # the account (id or :root): delegation, identity policy required


@dataclass(frozen=True, slots=True)
class RequestPrincipal:
    kind: PrincipalKind
    arn: str                           # user ARN, session ARN, root ARN, service name; "*" anonymous
    account: str | None                # None for service principals and anonymous callers
    parent_arn: str | None = None      # role ARN (with path) of a role session; the user of a
                                       # federated-user session


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    principal: RequestPrincipal
    action: str                        # "s3:GetObject"
    resource: str                      # an ARN, or "*" for actions without resource types
    resource_account: str | None       # the account that owns the resource (None: unknown/none)
    #: condition keys, LOWER-CASED names, to their values (a single-valued key is a 1-tuple;
    #: multivalued keys such as aws:TagKeys may have any number of values)
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: keys that are multivalued in this request (so ${var} refuses them, §6)
    multivalued: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ApplicablePolicies:
    identity: tuple[PolicyRef, ...] = ()
    resource: PolicyRef | None = None
    boundary: PolicyRef | None = None
    #: None: no session policy was passed; a tuple (possibly empty for a federated user
    #: without any) when the principal is a session created with session policies
    session: tuple[PolicyRef, ...] | None = None
    #: one tuple per level, organization root → OUs → account; () when no SCPs apply
    #: (standalone account, the management account, service-linked roles)
    scps: tuple[tuple[PolicyRef, ...], ...] = ()
    #: one tuple per level down to the resource's account; () when no RCPs apply
    rcps: tuple[tuple[PolicyRef, ...], ...] = ()
    #: §2.2: role trust policies and KMS key policies must themselves allow the principal
    resource_policy_required: bool = False


class Outcome(enum.Enum):
    ALLOW = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True, slots=True)
class StatementRef:
    kind: PolicyKind
    policy_name: str
    index: int                         # statement position, 0-based
    sid: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    #: the statements that decided it: the matching Deny statements of an explicit deny, the
    #: Allow statements that together allowed it; empty for an implicit deny
    deciding: tuple[StatementRef, ...] = ()
    #: explicit deny: the kind of policy that denied; implicit deny: the layer that lacked an
    #: allow (IDENTITY, BOUNDARY, SESSION, SCP, RCP, RESOURCE); None when allowed
    denied_by: PolicyKind | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW


class PolicyError(ValueError):
    """A policy document that breaks the grammar of its kind or a quota; the message is AWS's
    MalformedPolicyDocument (or LimitExceeded) text. ``code`` says which."""

    def __init__(self, message: str, code: str = "MalformedPolicyDocument") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
