"""Scenario tests of the decision procedure (spec §2, §3, §7, §8) and of the AccessDenied texts.

AWS pages checked (IAM User Guide unless said otherwise):
- EVAL  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- DENY  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
- BASIC https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
- XACCT https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
- BOUND https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
- SESS  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
- PRIN  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
- NOTP  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
- SCP   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
- RCP   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
- KMS   https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
- VARS  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
- MSG   https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
"""

from __future__ import annotations

import json

import pytest

from cloudkeep.policy.evaluate import evaluate
from cloudkeep.policy.explain import access_denied_message
from cloudkeep.policy.model import (
    ApplicablePolicies,
    AuthzRequest,
    Decision,
    Outcome,
    PolicyKind,
    PolicyRef,
    PrincipalKind,
    RequestPrincipal,
    StatementRef,
)
from cloudkeep.policy.parse import parse_policy

from policy_reference import reference_evaluate

A = "111122223333"
B = "444455556666"

BOB = RequestPrincipal(PrincipalKind.USER, f"arn:aws:iam::{A}:user/bob", A)
ALICE_B = RequestPrincipal(PrincipalKind.USER, f"arn:aws:iam::{B}:user/alice", B)
ROOT = RequestPrincipal(PrincipalKind.ROOT, f"arn:aws:iam::{A}:root", A)
ROLE_ARN = f"arn:aws:iam::{A}:role/app/Worker"
SESSION = RequestPrincipal(PrincipalKind.ASSUMED_ROLE, f"arn:aws:sts::{A}:assumed-role/Worker/s1", A,
                           parent_arn=ROLE_ARN)
FED = RequestPrincipal(PrincipalKind.FEDERATED_USER, f"arn:aws:sts::{A}:federated-user/fed", A,
                       parent_arn=BOB.arn)
ANON = RequestPrincipal(PrincipalKind.ANONYMOUS, "*", None)
TRAIL = RequestPrincipal(PrincipalKind.SERVICE, "cloudtrail.amazonaws.com", None)

OBJ = "arn:aws:s3:::b/k"
GET = "s3:GetObject"


def st(effect: str = "Allow", action="s3:GetObject", resource="*", **extra) -> dict:
    out = {"Effect": effect, "Action": action}
    if resource is not None:
        out["Resource"] = resource
    out.update(extra)
    return out


def pol(kind: PolicyKind, *statements: dict, name: str | None = None, version: str = "2012-10-17") -> PolicyRef:
    doc = {"Version": version, "Statement": list(statements)}
    return PolicyRef(name or f"{kind.name.lower()}-policy", parse_policy(json.dumps(doc), kind))


def ident(*s, name=None):
    return pol(PolicyKind.IDENTITY, *s, name=name)


def res(*s, kind=PolicyKind.RESOURCE):
    return pol(kind, *s, name="bucket policy" if kind is PolicyKind.RESOURCE else "trust policy")


def req(principal=BOB, action=GET, resource=OBJ, account=A, **context) -> AuthzRequest:
    ctx = {k.lower(): (v if isinstance(v, tuple) else (v,)) for k, v in context.items()}
    return AuthzRequest(principal, action, resource, account, ctx)


FULL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def scp(*s, name="scp"):
    return pol(PolicyKind.SCP, *s, name=name)


def rcp_full():
    return pol(PolicyKind.RCP, {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
               name="RCPFullAWSAccess")


def decide(request: AuthzRequest, policies: ApplicablePolicies) -> Decision:
    """The engine's decision, checked against the naive reference on every scenario."""
    got = evaluate(request, policies)
    assert got == reference_evaluate(request, policies)
    return got


def implicit(d: Decision, layer: PolicyKind) -> None:
    assert (d.outcome, d.denied_by, d.deciding) == (Outcome.IMPLICIT_DENY, layer, ())


def explicit(d: Decision, layer: PolicyKind) -> None:
    assert (d.outcome, d.denied_by) == (Outcome.EXPLICIT_DENY, layer)
    assert d.deciding and d.deciding[0].kind is layer


# --- §2.1 same account: default deny, explicit deny --------------------------------------------


def test_no_policy_means_implicit_deny_by_identity():  # EVAL: "By default, all requests are implicitly denied"
    implicit(decide(req(), ApplicablePolicies()), PolicyKind.IDENTITY)


def test_identity_allow_allows_and_names_its_statement():  # BASIC
    d = decide(req(), ApplicablePolicies(identity=(ident(st(Sid="Read", resource="arn:aws:s3:::b/*"), name="p1"),)))
    assert d.allowed
    assert d.deciding == (StatementRef(PolicyKind.IDENTITY, "p1", 0, "Read"),)


def test_identity_allow_for_another_action_or_resource_does_not_allow():  # BASIC
    p = ident(st(action="s3:PutObject"), st(resource="arn:aws:s3:::other/*"))
    implicit(decide(req(), ApplicablePolicies(identity=(p,))), PolicyKind.IDENTITY)


def test_explicit_deny_in_identity_policy_overrides_allow_in_another_policy():  # DENY
    d = decide(req(), ApplicablePolicies(identity=(ident(st(), name="allow"), ident(st("Deny", Sid="No"), name="deny"))))
    explicit(d, PolicyKind.IDENTITY)
    assert d.deciding == (StatementRef(PolicyKind.IDENTITY, "deny", 0, "No"),)


def test_explicit_deny_applies_to_the_root_user():  # EVAL: root has full access, but an explicit deny still applies
    d = decide(req(ROOT), ApplicablePolicies(resource=res(st("Deny", Principal="*", resource=OBJ))))
    explicit(d, PolicyKind.RESOURCE)


def test_root_user_needs_no_identity_policy():  # EVAL
    d = decide(req(ROOT), ApplicablePolicies())
    assert d.allowed and d.deciding == ()


def test_explicit_deny_in_resource_policy_overrides_a_direct_user_grant():  # DENY
    bucket = res(st(Principal={"AWS": BOB.arn}, resource=OBJ),
                 st("Deny", Principal={"AWS": BOB.arn}, resource="arn:aws:s3:::b/*"))
    explicit(decide(req(), ApplicablePolicies(resource=bucket)), PolicyKind.RESOURCE)


def test_resource_deny_for_another_principal_does_not_apply():  # PRIN
    bucket = res(st(Principal={"AWS": BOB.arn}), st("Deny", Principal={"AWS": f"arn:aws:iam::{A}:user/eve"}))
    assert decide(req(), ApplicablePolicies(resource=bucket)).allowed


def test_explicit_denies_from_several_layers_are_all_listed_scp_first():  # MSG: one type is reported
    d = decide(req(), ApplicablePolicies(identity=(ident(st("Deny")),), scps=((scp(FULL, st("Deny")),),)))
    assert d.denied_by is PolicyKind.SCP
    assert [r.kind for r in d.deciding] == [PolicyKind.SCP, PolicyKind.IDENTITY]


def test_conditions_decide_whether_a_statement_applies():  # BASIC
    p = ident(st(Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    assert decide(req(**{"aws:RequestedRegion": "eu-west-1"}), ApplicablePolicies(identity=(p,))).allowed
    implicit(decide(req(**{"aws:RequestedRegion": "us-east-1"}), ApplicablePolicies(identity=(p,))),
             PolicyKind.IDENTITY)


def test_policy_variables_are_substituted_only_under_2012_10_17():  # VARS
    body = st(resource="arn:aws:s3:::b/${aws:username}/*")
    request = req(resource="arn:aws:s3:::b/bob/x", **{"aws:username": "bob"})
    assert decide(request, ApplicablePolicies(identity=(ident(body),))).allowed
    old = pol(PolicyKind.IDENTITY, body, version="2008-10-17")
    implicit(decide(request, ApplicablePolicies(identity=(old,))), PolicyKind.IDENTITY)


# --- §8 SCPs and RCPs --------------------------------------------------------------------------


def test_scp_deny_list_denies_even_the_root_user():  # SCP: SCPs affect the root user of member accounts
    levels = ((scp(FULL, name="root-full"),), (scp(FULL, st("Deny"), name="ou-deny"),), (scp(FULL),))
    d = decide(req(ROOT), ApplicablePolicies(scps=levels))
    explicit(d, PolicyKind.SCP)
    assert d.deciding == (StatementRef(PolicyKind.SCP, "ou-deny", 1, None),)


def test_scp_allow_list_with_a_level_lacking_allow_is_implicit_deny():  # SCP: every level must allow
    levels = ((scp(FULL),), (scp(st(action="ec2:*")),), (scp(st()),))
    implicit(decide(req(), ApplicablePolicies(identity=(ident(st()),), scps=levels)), PolicyKind.SCP)
    implicit(decide(req(ROOT), ApplicablePolicies(scps=levels)), PolicyKind.SCP)


def test_scp_allow_list_with_every_level_allowing_allows():  # SCP
    levels = ((scp(FULL, name="r"),), (scp(st(action="s3:*"), name="ou"),), (scp(st(), name="acct"),))
    d = decide(req(), ApplicablePolicies(identity=(ident(st(), name="id"),), scps=levels))
    assert d.allowed
    assert [r.policy_name for r in d.deciding] == ["r", "ou", "acct", "id"]


def test_empty_scp_level_denies():  # SCP: a level with no Allow blocks everything below it
    implicit(decide(req(), ApplicablePolicies(identity=(ident(st()),), scps=((scp(FULL),), ()))), PolicyKind.SCP)


def test_scp_allow_grants_nothing_by_itself():  # SCP: SCPs never grant permissions
    implicit(decide(req(), ApplicablePolicies(scps=((scp(FULL),),))), PolicyKind.IDENTITY)


def test_scp_chain_also_limits_a_same_account_direct_grant():  # SCP: SCPs limit the account's principals
    bucket = res(st(Principal={"AWS": BOB.arn}))
    implicit(decide(req(), ApplicablePolicies(resource=bucket, scps=((scp(st(action="ec2:*")),),))), PolicyKind.SCP)


def test_rcp_deny_applies_to_callers_outside_the_organization():  # RCP
    rcp_deny = pol(PolicyKind.RCP, st("Deny", Principal="*",
                                      Condition={"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}),
                   name="deny-outsiders")
    bucket = res(st(Principal={"AWS": B}))
    policies = ApplicablePolicies(identity=(ident(st()),), resource=bucket, rcps=((rcp_full(), rcp_deny),))
    explicit(decide(req(ALICE_B), policies), PolicyKind.RCP)
    assert decide(req(ALICE_B, **{"aws:PrincipalOrgID": "o-1"}), policies).allowed


def test_rcp_level_without_allow_is_implicit_deny_by_rcp():  # RCP: every level needs an Allow
    implicit(decide(req(), ApplicablePolicies(identity=(ident(st()),), rcps=((rcp_full(),), ()))), PolicyKind.RCP)


def test_scps_of_the_resource_account_do_not_apply_to_outside_principals():  # SCP: not to outside principals
    # the caller's own (empty-allow) chain applies; the resource account's SCPs are simply not passed
    bucket = res(st(Principal={"AWS": B}))
    assert decide(req(ALICE_B), ApplicablePolicies(identity=(ident(st()),), resource=bucket)).allowed


# --- §7 permissions boundaries -----------------------------------------------------------------


def test_boundary_caps_identity_permissions():  # BOUND: effective = identity ∩ boundary
    b = pol(PolicyKind.BOUNDARY, st(action="ec2:*"), name="boundary")
    implicit(decide(req(), ApplicablePolicies(identity=(ident(st()),), boundary=b)), PolicyKind.BOUNDARY)


def test_boundary_alone_grants_nothing():  # BOUND: a boundary never grants
    b = pol(PolicyKind.BOUNDARY, FULL)
    implicit(decide(req(), ApplicablePolicies(boundary=b)), PolicyKind.IDENTITY)


def test_identity_and_boundary_allowing_allows_with_both_statements():  # BOUND
    b = pol(PolicyKind.BOUNDARY, st(action="s3:Get*"), name="boundary")
    d = decide(req(), ApplicablePolicies(identity=(ident(st(), name="id"),), boundary=b))
    assert d.allowed and [r.kind for r in d.deciding] == [PolicyKind.IDENTITY, PolicyKind.BOUNDARY]


def test_explicit_deny_in_boundary_is_an_explicit_deny():  # BOUND
    b = pol(PolicyKind.BOUNDARY, FULL, st("Deny"))
    explicit(decide(req(), ApplicablePolicies(identity=(ident(st()),), boundary=b)), PolicyKind.BOUNDARY)


def test_boundary_does_not_cap_a_direct_grant_to_the_user():  # BOUND: resource policy naming the user ARN
    b = pol(PolicyKind.BOUNDARY, st(action="ec2:*"))
    bucket = res(st(Principal={"AWS": BOB.arn}))
    assert decide(req(), ApplicablePolicies(resource=bucket, boundary=b)).allowed


def test_boundary_caps_a_grant_to_the_role_arn():  # BOUND: "limited by the boundary" for role ARN grants
    b = pol(PolicyKind.BOUNDARY, st(action="ec2:*"))
    bucket = res(st(Principal={"AWS": ROLE_ARN}))
    implicit(decide(req(SESSION), ApplicablePolicies(resource=bucket, boundary=b)), PolicyKind.BOUNDARY)
    b_ok = pol(PolicyKind.BOUNDARY, st(action="s3:*"))
    d = decide(req(SESSION), ApplicablePolicies(resource=bucket, boundary=b_ok))
    assert d.allowed and [r.kind for r in d.deciding] == [PolicyKind.RESOURCE, PolicyKind.BOUNDARY]


def test_role_arn_grant_needs_no_identity_policy():  # EVAL: resource policy grants to the role ARN
    assert decide(req(SESSION), ApplicablePolicies(resource=res(st(Principal={"AWS": ROLE_ARN})))).allowed


def test_boundary_does_not_cap_a_grant_to_the_session_arn():  # BOUND
    b = pol(PolicyKind.BOUNDARY, st(action="ec2:*"))
    bucket = res(st(Principal={"AWS": SESSION.arn}))
    assert decide(req(SESSION), ApplicablePolicies(resource=bucket, boundary=b)).allowed


def test_boundary_does_not_cap_a_star_principal_grant():  # BOUND: "*" narrowed by aws:PrincipalArn is direct
    b = pol(PolicyKind.BOUNDARY, st(action="ec2:*"))
    bucket = res(st(Principal="*", Condition={"ArnEquals": {"aws:PrincipalArn": ROLE_ARN}}))
    request = req(SESSION, **{"aws:PrincipalArn": ROLE_ARN})
    assert decide(request, ApplicablePolicies(resource=bucket, boundary=b)).allowed


# --- §7 session policies -----------------------------------------------------------------------


def test_session_policy_caps_the_role_identity_permissions():  # SESS
    sess = (pol(PolicyKind.SESSION, st(action="s3:List*"), name="session"),)
    policies = ApplicablePolicies(identity=(ident(st()),), session=sess)
    implicit(decide(req(SESSION), policies), PolicyKind.SESSION)


def test_no_session_policy_passed_does_not_restrict_a_role_session():  # SESS
    assert decide(req(SESSION), ApplicablePolicies(identity=(ident(st()),), session=None)).allowed


def test_session_policies_allowing_let_the_identity_allow_through():  # SESS
    sess = (pol(PolicyKind.SESSION, st(action="ec2:*"), name="s1"), pol(PolicyKind.SESSION, st(), name="s2"))
    d = decide(req(SESSION), ApplicablePolicies(identity=(ident(st()),), session=sess))
    assert d.allowed and d.deciding[-1] == StatementRef(PolicyKind.SESSION, "s2", 0, None)


def test_session_policy_alone_grants_nothing():  # SESS: session policies never grant
    implicit(decide(req(SESSION), ApplicablePolicies(session=(pol(PolicyKind.SESSION, FULL),))), PolicyKind.IDENTITY)


def test_session_policy_caps_a_role_arn_grant_but_not_a_session_arn_grant():  # SESS
    sess = (pol(PolicyKind.SESSION, st(action="ec2:*")),)
    role_grant = res(st(Principal={"AWS": ROLE_ARN}))
    implicit(decide(req(SESSION), ApplicablePolicies(resource=role_grant, session=sess)), PolicyKind.SESSION)
    session_grant = res(st(Principal={"AWS": SESSION.arn}))
    assert decide(req(SESSION), ApplicablePolicies(resource=session_grant, session=sess)).allowed


@pytest.mark.parametrize("session", [None, ()])
def test_federated_user_without_session_policy_gets_nothing_from_identity(session):  # SESS: GetFederationToken
    policies = ApplicablePolicies(identity=(ident(FULL),), session=session)
    implicit(decide(req(FED), policies), PolicyKind.SESSION)


def test_federated_user_with_an_allowing_session_policy_is_allowed():  # SESS
    sess = (pol(PolicyKind.SESSION, st()),)
    assert decide(req(FED), ApplicablePolicies(identity=(ident(st()),), session=sess)).allowed


def test_grant_to_the_parent_user_is_limited_by_the_session_policy():  # SESS: user ARN grant + federated session
    bucket = res(st(Principal={"AWS": BOB.arn}))
    implicit(decide(req(FED), ApplicablePolicies(resource=bucket, session=None)), PolicyKind.SESSION)
    assert decide(req(FED), ApplicablePolicies(resource=bucket, session=(pol(PolicyKind.SESSION, st()),))).allowed


def test_grant_to_the_federated_session_arn_is_direct():  # SESS: "unless the resource policy names the session"
    bucket = res(st(Principal={"AWS": FED.arn}))
    assert decide(req(FED), ApplicablePolicies(resource=bucket, session=None)).allowed


# --- §2.3 cross-account --------------------------------------------------------------------------


def test_cross_account_needs_both_the_identity_and_the_resource_side():  # XACCT
    bucket = res(st(Principal={"AWS": B}))
    identity = (ident(st()),)
    implicit(decide(req(ALICE_B), ApplicablePolicies(resource=bucket)), PolicyKind.IDENTITY)
    implicit(decide(req(ALICE_B), ApplicablePolicies(identity=identity)), PolicyKind.RESOURCE)
    d = decide(req(ALICE_B), ApplicablePolicies(identity=identity, resource=bucket))
    assert d.allowed and [r.kind for r in d.deciding] == [PolicyKind.IDENTITY, PolicyKind.RESOURCE]


def test_cross_account_grant_naming_the_user_still_needs_an_identity_allow():  # XACCT: bypass is same-account only
    bucket = res(st(Principal={"AWS": ALICE_B.arn}))
    implicit(decide(req(ALICE_B), ApplicablePolicies(resource=bucket)), PolicyKind.IDENTITY)


def test_cross_account_resource_deny_wins():  # XACCT
    bucket = res(st(Principal={"AWS": B}), st("Deny", Principal="*"))
    explicit(decide(req(ALICE_B), ApplicablePolicies(identity=(ident(st()),), resource=bucket)), PolicyKind.RESOURCE)


def test_cross_account_callers_own_scp_chain_applies():  # XACCT + SCP
    bucket = res(st(Principal={"AWS": B}))
    policies = ApplicablePolicies(identity=(ident(st()),), resource=bucket, scps=((scp(st(action="ec2:*")),),))
    implicit(decide(req(ALICE_B), policies), PolicyKind.SCP)


def test_cross_account_boundary_caps_the_trusted_side():  # XACCT + BOUND
    bucket = res(st(Principal={"AWS": B}))
    b = pol(PolicyKind.BOUNDARY, st(action="ec2:*"))
    implicit(decide(req(ALICE_B), ApplicablePolicies(identity=(ident(st()),), resource=bucket, boundary=b)),
             PolicyKind.BOUNDARY)


# --- §3 account principals, §2.2 mandatory resource policies ---------------------------------------


def test_account_principal_grant_is_delegation_only():  # PRIN: "delegates to the account's IAM policies"
    bucket = res(st(Principal={"AWS": f"arn:aws:iam::{A}:root"}))
    implicit(decide(req(), ApplicablePolicies(resource=bucket)), PolicyKind.IDENTITY)
    assert decide(req(), ApplicablePolicies(resource=bucket, identity=(ident(st()),))).allowed


def test_trust_policy_is_required_for_assume_role():  # EVAL/DENY: role trust policies must allow
    assume = req(action="sts:AssumeRole", resource=ROLE_ARN)
    identity = (ident(st(action="sts:AssumeRole")),)
    unrelated = res({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
                    kind=PolicyKind.TRUST)
    implicit(decide(assume, ApplicablePolicies(identity=identity, resource=unrelated, resource_policy_required=True)),
             PolicyKind.RESOURCE)
    implicit(decide(assume, ApplicablePolicies(identity=identity, resource_policy_required=True)), PolicyKind.RESOURCE)
    trust = res({"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"}, kind=PolicyKind.TRUST)
    d = decide(assume, ApplicablePolicies(identity=identity, resource=trust, resource_policy_required=True))
    assert d.allowed and [r.kind for r in d.deciding] == [PolicyKind.IDENTITY, PolicyKind.TRUST]
    # the account in the trust policy is delegation: the identity allow is still needed
    implicit(decide(assume, ApplicablePolicies(resource=trust, resource_policy_required=True)), PolicyKind.IDENTITY)


def test_key_policy_is_required_even_for_the_root_user():  # KMS: root needs key-policy permission
    decrypt = req(ROOT, action="kms:Decrypt", resource=f"arn:aws:kms:us-east-1:{A}:key/k1")
    other = res({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/keyadmin"},
                 "Action": "kms:*", "Resource": "*"})
    implicit(decide(decrypt, ApplicablePolicies(resource=other, resource_policy_required=True)), PolicyKind.RESOURCE)
    enable_iam = res({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                      "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"})
    assert decide(decrypt, ApplicablePolicies(resource=enable_iam, resource_policy_required=True)).allowed


def test_iam_deny_still_applies_when_the_key_policy_allows():  # KMS
    key = res({"Effect": "Allow", "Principal": {"AWS": BOB.arn}, "Action": "kms:*", "Resource": "*"})
    decrypt = req(action="kms:Decrypt", resource=f"arn:aws:kms:us-east-1:{A}:key/k1")
    policies = ApplicablePolicies(identity=(ident(st("Deny", action="kms:Decrypt")),), resource=key,
                                  resource_policy_required=True)
    explicit(decide(decrypt, policies), PolicyKind.IDENTITY)


# --- anonymous and service principals ---------------------------------------------------------


def test_anonymous_caller_is_allowed_only_by_a_star_principal():  # PRIN: "*" includes anonymous users
    public = res(st(Principal="*"))
    assert decide(req(ANON), ApplicablePolicies(resource=public)).allowed
    account_only = res(st(Principal={"AWS": A}))
    implicit(decide(req(ANON), ApplicablePolicies(resource=account_only)), PolicyKind.RESOURCE)
    implicit(decide(req(ANON), ApplicablePolicies()), PolicyKind.RESOURCE)


def test_anonymous_caller_is_not_helped_by_identity_policies_and_not_bound_by_scps():  # XACCT: resource side only
    policies = ApplicablePolicies(identity=(ident(FULL),), scps=((scp(st("Deny")),),))
    implicit(decide(req(ANON), policies), PolicyKind.RESOURCE)
    assert decide(req(ANON), ApplicablePolicies(resource=res(st(Principal="*")), scps=((scp(st("Deny")),),))).allowed


def test_anonymous_caller_is_bound_by_rcps():  # RCP: apply to every caller
    rcp = pol(PolicyKind.RCP, st("Deny", Principal="*"))
    explicit(decide(req(ANON), ApplicablePolicies(resource=res(st(Principal="*")), rcps=((rcp_full(), rcp),))),
             PolicyKind.RCP)


def test_service_principal_is_allowed_by_a_service_grant():  # PRIN: service principals
    bucket = res(st(action="s3:PutObject", Principal={"Service": "cloudtrail.amazonaws.com"}))
    put = req(TRAIL, action="s3:PutObject")
    assert decide(put, ApplicablePolicies(resource=bucket)).allowed
    implicit(decide(req(TRAIL), ApplicablePolicies(resource=bucket)), PolicyKind.RESOURCE)


# --- §3 NotPrincipal ----------------------------------------------------------------------------


def test_not_principal_deny_applies_to_everyone_not_listed():  # NOTP
    bucket = res(st(Principal={"AWS": A}), st("Deny", NotPrincipal={"AWS": [f"arn:aws:iam::{A}:user/admin", A]}))
    policies = ApplicablePolicies(identity=(ident(st()),), resource=bucket)
    explicit(decide(req(), policies), PolicyKind.RESOURCE)


def test_not_principal_deny_exempts_a_listed_user_with_its_account():  # NOTP
    bucket = res(st(Principal={"AWS": A}), st("Deny", NotPrincipal={"AWS": [BOB.arn, f"arn:aws:iam::{A}:root"]}))
    assert decide(req(), ApplicablePolicies(identity=(ident(st()),), resource=bucket)).allowed


def test_not_principal_deny_always_denies_a_principal_with_a_boundary():  # NOTP: boundary ⇒ always denied
    bucket = res(st(Principal={"AWS": A}), st("Deny", NotPrincipal={"AWS": [BOB.arn, f"arn:aws:iam::{A}:root"]}))
    policies = ApplicablePolicies(identity=(ident(st()),), resource=bucket, boundary=pol(PolicyKind.BOUNDARY, FULL))
    explicit(decide(req(), policies), PolicyKind.RESOURCE)


# --- explanations (MSG) ----------------------------------------------------------------------------


MSG_CASES = [
    (Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.IDENTITY), "because no identity-based policy allows the s3:GetObject action"),
    (Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.BOUNDARY), "because no permissions boundary allows the s3:GetObject action"),
    (Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.SESSION), "because no session policy allows the s3:GetObject action"),
    (Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.SCP), "because no service control policy allows the s3:GetObject action"),
    (Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.RCP), "because no resource control policy allows the s3:GetObject action"),
    (Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.RESOURCE), "because no resource-based policy allows the s3:GetObject action"),
    (Decision(Outcome.EXPLICIT_DENY, (StatementRef(PolicyKind.SCP, "p", 0),), PolicyKind.SCP), "with an explicit deny in a service control policy"),
    (Decision(Outcome.EXPLICIT_DENY, (StatementRef(PolicyKind.IDENTITY, "p", 0),), PolicyKind.IDENTITY), "with an explicit deny in an identity-based policy"),
    (Decision(Outcome.EXPLICIT_DENY, (StatementRef(PolicyKind.BOUNDARY, "p", 0),), PolicyKind.BOUNDARY), "with an explicit deny in a permissions boundary"),
    (Decision(Outcome.EXPLICIT_DENY, (StatementRef(PolicyKind.SESSION, "p", 0),), PolicyKind.SESSION), "with an explicit deny in a session policy"),
    (Decision(Outcome.EXPLICIT_DENY, (StatementRef(PolicyKind.RESOURCE, "p", 0),), PolicyKind.RESOURCE), "with an explicit deny in a resource-based policy"),
    (Decision(Outcome.EXPLICIT_DENY, (StatementRef(PolicyKind.TRUST, "p", 0),), PolicyKind.TRUST), "with an explicit deny in a resource-based policy"),
    (Decision(Outcome.EXPLICIT_DENY, (StatementRef(PolicyKind.RCP, "p", 0),), PolicyKind.RCP), "with an explicit deny in a resource control policy"),
]


@pytest.mark.parametrize(("decision", "tail"), MSG_CASES)
def test_access_denied_message_names_the_policy_type(decision, tail):  # MSG
    msg = access_denied_message(BOB.arn, GET, OBJ, decision)
    assert msg == f"User: {BOB.arn} is not authorized to perform: s3:GetObject on resource: {OBJ} {tail}"


def test_access_denied_message_quotes_the_resource_when_asked():  # MSG: S3's enhanced messages quote the ARN
    d = Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.IDENTITY)
    assert access_denied_message(BOB.arn, GET, OBJ, d, quote_resource=True) == (
        f'User: {BOB.arn} is not authorized to perform: s3:GetObject on resource: "{OBJ}" '
        "because no identity-based policy allows the s3:GetObject action")


def test_access_denied_message_can_name_the_denying_policy_arn():  # MSG: policy ARN in same-account denials
    arn = f"arn:aws:iam::{A}:policy/ExampleDenyPolicy"
    d = Decision(Outcome.EXPLICIT_DENY, (StatementRef(PolicyKind.IDENTITY, arn, 0),), PolicyKind.IDENTITY)
    assert access_denied_message(BOB.arn, GET, OBJ, d, with_policy=True).endswith(
        f"with an explicit deny in an identity-based policy: {arn}")
    assert access_denied_message(BOB.arn, GET, OBJ, d).endswith("identity-based policy")


def test_access_denied_message_for_a_role_session_and_an_anonymous_caller():  # MSG
    d = Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.SESSION)
    assert access_denied_message(SESSION.arn, GET, OBJ, d).startswith(f"User: {SESSION.arn} is not authorized")
    assert access_denied_message("*", GET, OBJ, Decision(Outcome.IMPLICIT_DENY, (), PolicyKind.RESOURCE)).startswith(
        "Anonymous user is not authorized to perform: s3:GetObject")


def test_access_denied_message_refuses_an_allowed_decision():
    with pytest.raises(ValueError):
        access_denied_message(BOB.arn, GET, OBJ, Decision(Outcome.ALLOW))


def test_engine_decisions_feed_the_explanation():  # MSG, end to end: boundary cap → "no permissions boundary"
    b = pol(PolicyKind.BOUNDARY, st(action="ec2:*"))
    d = decide(req(), ApplicablePolicies(identity=(ident(st()),), boundary=b))
    assert access_denied_message(BOB.arn, GET, OBJ, d).endswith(
        "because no permissions boundary allows the s3:GetObject action")
