"""Properties of the policy engine on generated inputs (hypothesis): small random policy sets over
a small vocabulary of actions, resources, principals and conditions.

- the engine agrees with the naive reference model (tests/policy_reference.py) on every input;
- an explicit deny always wins (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html);
- no policy at all allows nobody but the root user in its own account (default deny);
- statement order, policy order and duplicate statements never change the outcome
  ("order is irrelevant", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
- adding a permissions boundary, session policies or an SCP level never turns a deny into an allow
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html,
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html).
  Session policies are exempt for federated users: without one they get nothing, with one they
  may be allowed (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session).
"""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as s

from cloudkeep.policy.evaluate import evaluate
from cloudkeep.policy.model import (
    ApplicablePolicies,
    AuthzRequest,
    ConditionClause,
    Effect,
    Outcome,
    Policy,
    PolicyKind,
    PolicyRef,
    PrincipalKind,
    PrincipalSpec,
    RequestPrincipal,
    Statement,
)

from policy_reference import reference_evaluate

A, B = "111122223333", "444455556666"
ROLE = f"arn:aws:iam::{A}:role/Worker"
BOB = f"arn:aws:iam::{A}:user/bob"
SESSION_ARN = f"arn:aws:sts::{A}:assumed-role/Worker/s1"
FED_ARN = f"arn:aws:sts::{A}:federated-user/fed"
ALICE = f"arn:aws:iam::{B}:user/alice"

PRINCIPALS = [
    RequestPrincipal(PrincipalKind.USER, BOB, A),
    RequestPrincipal(PrincipalKind.USER, ALICE, B),
    RequestPrincipal(PrincipalKind.ROOT, f"arn:aws:iam::{A}:root", A),
    RequestPrincipal(PrincipalKind.ASSUMED_ROLE, SESSION_ARN, A, parent_arn=ROLE),
    RequestPrincipal(PrincipalKind.ASSUMED_ROLE, f"arn:aws:sts::{B}:assumed-role/Ext/x", B,
                     parent_arn=f"arn:aws:iam::{B}:role/Ext"),
    RequestPrincipal(PrincipalKind.FEDERATED_USER, FED_ARN, A, parent_arn=BOB),
    RequestPrincipal(PrincipalKind.ANONYMOUS, "*", None),
    RequestPrincipal(PrincipalKind.SERVICE, "cloudtrail.amazonaws.com", None),
]
ACTIONS = ["s3:GetObject", "s3:PutObject", "kms:Decrypt", "sts:AssumeRole"]
ACTION_PATTERNS = ["s3:GetObject", "s3:*", "*", "S3:get*", "kms:*", "sts:AssumeRole", "s3:Put?bject", "ec2:*"]
RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:s3:::b/bob", "*"]
RESOURCE_PATTERNS = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", "arn:aws:s3:::c/*", "arn:aws:s3:::b/${aws:username}"]
PRINCIPAL_SPECS = [
    PrincipalSpec(anyone=True), PrincipalSpec(aws=(BOB,)), PrincipalSpec(aws=(A,)),
    PrincipalSpec(aws=(f"arn:aws:iam::{A}:root",)), PrincipalSpec(aws=(ROLE,)), PrincipalSpec(aws=(SESSION_ARN,)),
    PrincipalSpec(aws=(FED_ARN,)), PrincipalSpec(aws=(B,)), PrincipalSpec(aws=(ALICE, BOB)),
    PrincipalSpec(service=("cloudtrail.amazonaws.com",)),
]
NOT_PRINCIPAL_SPECS = [PrincipalSpec(aws=(BOB, A)), PrincipalSpec(aws=(SESSION_ARN, ROLE, A)), PrincipalSpec(aws=(B,))]


def _clause(op: str, key: str, *values: str) -> ConditionClause:
    if_exists = op.endswith("IfExists")
    return ConditionClause(op, op[:-8] if if_exists else op, None, if_exists, key, values)


CLAUSES = [
    _clause("StringEquals", "aws:RequestedRegion", "eu-west-1"),
    _clause("StringNotEquals", "aws:RequestedRegion", "eu-west-1"),
    _clause("StringNotEqualsIfExists", "aws:RequestedRegion", "us-east-1"),
    _clause("Bool", "aws:SecureTransport", "true"),
    _clause("StringLike", "aws:username", "b*"),
    _clause("Null", "aws:username", "true"),
]


@s.composite
def statements(draw, kind: PolicyKind, index: int) -> Statement:
    effect = draw(s.sampled_from(Effect))
    patterns = tuple(draw(s.lists(s.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2)))
    not_action = draw(s.booleans()) and draw(s.booleans())
    scoped = kind in (PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP)
    res_choice = draw(s.sampled_from(["res", "notres", "none"] if scoped else ["res", "res", "notres"]))
    resources = tuple(draw(s.lists(s.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2)))
    principal = not_principal = None
    if kind is PolicyKind.RCP:
        principal = PrincipalSpec(anyone=True)
    elif scoped:
        if effect is Effect.DENY and kind is PolicyKind.RESOURCE and draw(s.integers(0, 3)) == 0:
            not_principal = draw(s.sampled_from(NOT_PRINCIPAL_SPECS))
        else:
            principal = draw(s.sampled_from(PRINCIPAL_SPECS))
    conditions = tuple(draw(s.lists(s.sampled_from(CLAUSES), max_size=2)))
    return Statement(index=index, effect=effect, sid=f"S{index}",
                     actions=None if not_action else patterns, not_actions=patterns if not_action else None,
                     resources=resources if res_choice == "res" else None,
                     not_resources=resources if res_choice == "notres" else None,
                     principal=principal, not_principal=not_principal, conditions=conditions)


@s.composite
def policies_of(draw, kind: PolicyKind, name: str) -> PolicyRef:
    n = draw(s.integers(0 if kind is not PolicyKind.RCP else 1, 3))
    stmts = tuple(draw(statements(kind, i)) for i in range(n))
    version = draw(s.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17"]))
    return PolicyRef(name, Policy(kind, version, stmts))


def _several(kind: PolicyKind, prefix: str, max_size: int):
    return s.integers(0, max_size).flatmap(
        lambda n: s.tuples(*(policies_of(kind, f"{prefix}{i}") for i in range(n))))


@s.composite
def applicable(draw) -> ApplicablePolicies:
    resource_kind = draw(s.sampled_from([PolicyKind.RESOURCE, PolicyKind.TRUST]))
    return ApplicablePolicies(
        identity=draw(_several(PolicyKind.IDENTITY, "id", 3)),
        resource=draw(s.none() | policies_of(resource_kind, "resource")),
        boundary=draw(s.none() | policies_of(PolicyKind.BOUNDARY, "boundary")),
        session=draw(s.none() | _several(PolicyKind.SESSION, "session", 2)),
        scps=draw(s.lists(_several(PolicyKind.SCP, "scp", 2), max_size=3).map(tuple)),
        rcps=draw(s.lists(_several(PolicyKind.RCP, "rcp", 1), max_size=2).map(tuple)),
        resource_policy_required=draw(s.booleans()),
    )


@s.composite
def requests(draw) -> AuthzRequest:
    principal = draw(s.sampled_from(PRINCIPALS))
    context: dict[str, tuple[str, ...]] = {"aws:securetransport": (draw(s.sampled_from(["true", "false"])),)}
    region = draw(s.sampled_from([None, "eu-west-1", "us-east-1"]))
    if region:
        context["aws:requestedregion"] = (region,)
    if principal.kind is PrincipalKind.USER:
        context["aws:username"] = (principal.arn.rsplit("/", 1)[1],)
    return AuthzRequest(principal, draw(s.sampled_from(ACTIONS)), draw(s.sampled_from(RESOURCES)),
                        draw(s.sampled_from([A, B, None])), context)


def _shuffled(draw, ref: PolicyRef) -> PolicyRef:
    stmts = list(ref.policy.statements)
    stmts += draw(s.lists(s.sampled_from(stmts), max_size=2)) if stmts else []
    stmts = draw(s.permutations(stmts))
    return dataclasses.replace(ref, policy=dataclasses.replace(ref.policy, statements=tuple(stmts)))


@s.composite
def reordered(draw, p: ApplicablePolicies) -> ApplicablePolicies:
    def many(refs):
        return tuple(draw(s.permutations([_shuffled(draw, r) for r in refs])))
    return ApplicablePolicies(
        identity=many(p.identity),
        resource=_shuffled(draw, p.resource) if p.resource else None,
        boundary=_shuffled(draw, p.boundary) if p.boundary else None,
        session=many(p.session) if p.session is not None else None,
        scps=tuple(many(level) for level in p.scps),
        rcps=tuple(many(level) for level in p.rcps),
        resource_policy_required=p.resource_policy_required,
    )


@given(requests(), applicable())
def test_engine_agrees_with_the_reference_model(request, policies):
    assert evaluate(request, policies) == reference_evaluate(request, policies)
    assert evaluate(request, policies) == reference_evaluate(request, policies)   # cached index path


DENY_ALL = Statement(index=0, effect=Effect.DENY, actions=("*",), resources=("*",), principal=None)


@given(requests(), applicable(), s.sampled_from(["identity", "scp", "resource", "boundary"]))
def test_an_explicit_deny_always_wins(request, policies, where):
    resource_side_only = request.principal.kind in (PrincipalKind.ANONYMOUS, PrincipalKind.SERVICE)
    if resource_side_only:
        where = "resource"
    if where == "identity":
        deny = PolicyRef("deny", Policy(PolicyKind.IDENTITY, "2012-10-17", (DENY_ALL,)))
        changed = dataclasses.replace(policies, identity=policies.identity + (deny,))
    elif where == "scp":
        deny = PolicyRef("deny", Policy(PolicyKind.SCP, "2012-10-17", (DENY_ALL,)))
        changed = dataclasses.replace(policies, scps=policies.scps + ((deny,),))
    elif where == "boundary":
        base = policies.boundary.policy.statements if policies.boundary else ()
        stmt = dataclasses.replace(DENY_ALL, index=len(base))
        changed = dataclasses.replace(policies, boundary=PolicyRef(
            "boundary", Policy(PolicyKind.BOUNDARY, "2012-10-17", base + (stmt,))))
    else:
        base = policies.resource.policy.statements if policies.resource else ()
        stmt = dataclasses.replace(DENY_ALL, index=len(base), principal=PrincipalSpec(anyone=True))
        changed = dataclasses.replace(policies, resource=PolicyRef(
            "resource", Policy(PolicyKind.RESOURCE, "2012-10-17", base + (stmt,))))
    decision = evaluate(request, changed)
    assert decision.outcome is Outcome.EXPLICIT_DENY
    assert decision.deciding and decision.denied_by is decision.deciding[0].kind


@given(requests())
def test_without_any_policy_only_the_root_user_in_its_account_is_allowed(request):
    decision = evaluate(request, ApplicablePolicies())
    own_account = request.resource_account in (None, request.principal.account)
    assert decision.allowed is (request.principal.kind is PrincipalKind.ROOT and own_account)
    if not decision.allowed:
        assert decision.outcome is Outcome.IMPLICIT_DENY and decision.denied_by is not None


@given(s.data(), requests(), applicable())
def test_statement_and_policy_order_and_duplicates_never_change_the_outcome(data, request, policies):
    before = evaluate(request, policies)
    after = evaluate(request, data.draw(reordered(policies)))
    assert (after.outcome, after.denied_by) == (before.outcome, before.denied_by)


@given(requests(), applicable(), policies_of(PolicyKind.BOUNDARY, "added"))
def test_adding_a_boundary_never_turns_a_deny_into_an_allow(request, policies, boundary):
    if policies.boundary is None and not evaluate(request, policies).allowed:
        assert not evaluate(request, dataclasses.replace(policies, boundary=boundary)).allowed


@given(requests(), applicable(), _several(PolicyKind.SESSION, "added", 2))
def test_adding_session_policies_never_turns_a_deny_into_an_allow(request, policies, session):
    if request.principal.kind is PrincipalKind.FEDERATED_USER or policies.session is not None:
        return
    if not evaluate(request, policies).allowed:
        assert not evaluate(request, dataclasses.replace(policies, session=session)).allowed


@given(requests(), applicable(), _several(PolicyKind.SCP, "added", 2))
def test_adding_an_scp_level_never_turns_a_deny_into_an_allow(request, policies, level):
    if not evaluate(request, policies).allowed:
        assert not evaluate(request, dataclasses.replace(policies, scps=policies.scps + (level,))).allowed
