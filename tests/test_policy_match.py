"""Action, Resource, Principal and statement matching (spec §3, §4, §6), checked against the IAM
User Guide pages cited on each test."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudkeep.policy.match import (
    action_matches,
    not_principal_excludes,
    principal_match,
    resource_matches,
    statement_matches,
)
from cloudkeep.policy.model import (
    AuthzRequest,
    ConditionClause,
    Effect,
    GrantKind,
    PrincipalKind,
    PrincipalSpec,
    RequestPrincipal,
    Statement,
)

ACTION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"
NOTACTION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"
RESOURCE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"
NOTRESOURCE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html"
PRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"
NOTPRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"
EVALUATION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
VARS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"

A = "111122223333"
B = "444455556666"
ALICE = RequestPrincipal(PrincipalKind.USER, f"arn:aws:iam::{A}:user/alice", A)
ROLE_ARN = f"arn:aws:iam::{A}:role/app/Deployer"
SESSION = RequestPrincipal(PrincipalKind.ASSUMED_ROLE, f"arn:aws:sts::{A}:assumed-role/Deployer/s1", A, ROLE_ARN)
FEDERATED = RequestPrincipal(PrincipalKind.FEDERATED_USER, f"arn:aws:sts::{A}:federated-user/fed", A, ALICE.arn)
ROOT = RequestPrincipal(PrincipalKind.ROOT, f"arn:aws:iam::{A}:root", A)
SERVICE = RequestPrincipal(PrincipalKind.SERVICE, "cloudtrail.amazonaws.com", None)
ANONYMOUS = RequestPrincipal(PrincipalKind.ANONYMOUS, "*", None)
OTHER = RequestPrincipal(PrincipalKind.USER, f"arn:aws:iam::{B}:user/alice", B)


def req(resource: str = "arn:aws:s3:::bucket/key", action: str = "s3:GetObject", context=None,
        principal: RequestPrincipal = ALICE, multivalued=()) -> AuthzRequest:
    ctx = {k.lower(): (v,) if isinstance(v, str) else tuple(v) for k, v in (context or {}).items()}
    return AuthzRequest(principal, action, resource, A, ctx, frozenset(multivalued))


def res(patterns, resource, context=None, *, variables=True, multivalued=()) -> bool:
    patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    return resource_matches(patterns, resource, req(resource, context=context, multivalued=multivalued),
                            variables=variables)


# ------------------------------------------------------------------ Action

def test_action_prefix_and_name_are_case_insensitive():
    # ACTION: "the action name is not case sensitive" / "IAM:listaccesskeys" example
    assert action_matches(("IAM:listaccesskeys",), "iam:ListAccessKeys")
    assert action_matches(("iam:ListAccessKeys",), "IAM:LISTACCESSKEYS")


def test_action_wildcards_star_and_question_mark_anywhere():
    # ACTION: "You can use wildcards (* or ?) as part of the action name"
    assert action_matches(("s3:Get*",), "s3:GetObject")
    assert action_matches(("iam:*AccessKey*",), "iam:CreateAccessKey")
    assert action_matches(("s3:?etObject",), "s3:GetObject")
    assert not action_matches(("s3:?etObject",), "s3:GGetObject")
    assert action_matches(("*",), "kms:Decrypt")
    assert action_matches(("s3:*",), "s3:ListAllMyBuckets")


def test_action_wildcard_matches_the_whole_string_only():
    # ACTION / spec §4: s3:*Object does not cover s3:GetObjectTagging; s3:* not s3-object-lambda:*
    assert action_matches(("s3:*Object",), "s3:GetObject")
    assert not action_matches(("s3:*Object",), "s3:GetObjectTagging")
    assert not action_matches(("s3:*",), "s3-object-lambda:GetObject")
    assert not action_matches(("s3:Get",), "s3:GetObject")


def test_action_list_is_an_or():
    # ACTION: "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "ec2:StartInstances"]
    patterns = ("sqs:SendMessage", "ec2:Start*")
    assert action_matches(patterns, "sqs:SendMessage")
    assert action_matches(patterns, "ec2:StartInstances")
    assert not action_matches(patterns, "sqs:ReceiveMessage")


def test_action_dots_and_regex_characters_are_literal():
    # ACTION: only * and ? are wildcards
    assert not action_matches(("s3:Get.bject",), "s3:GetObject")
    assert action_matches(("execute-api:Invoke",), "execute-api:invoke")


# ------------------------------------------------------------------ Resource

def test_resource_star_matches_everything_including_non_arn_resources():
    # RESOURCE: "*" for actions that don't support resource-level permissions
    assert res("*", "*")
    assert res("*", "arn:aws:s3:::bucket/key")


def test_resource_arn_pattern_does_not_match_the_star_resource():
    # NOTACTION: NotAction s3:DeleteBucket on arn:aws:s3:::* does not cover s3:ListAllMyBuckets (resource "*")
    assert not res("arn:aws:s3:::*", "*")


def test_resource_matching_is_case_sensitive():
    # RESOURCE: "In the Resource element, the IAM user name is case sensitive"
    assert res(f"arn:aws:iam::{A}:user/Bob", f"arn:aws:iam::{A}:user/Bob")
    assert not res(f"arn:aws:iam::{A}:user/Bob", f"arn:aws:iam::{A}:user/bob")


def test_resource_star_in_the_resource_part_spans_slashes_and_colons():
    # RESOURCE: "The asterisk (*) character can expand to replace everything within a segment, including characters like a forward slash (/)"
    assert res("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c")
    assert res("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/")
    assert res(f"arn:aws:logs:us-east-1:{A}:log-group:*", f"arn:aws:logs:us-east-1:{A}:log-group:g:log-stream:s")
    assert not res("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket2/x")


def test_resource_question_mark_is_exactly_one_character():
    # RESOURCE: "any single character (?)"
    assert res("arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/a")
    assert not res("arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/ab")
    assert not res("arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/")


def test_resource_wildcard_inside_a_segment_stays_in_the_segment():
    # RESOURCE: "use wildcard characters (* and ?) within the individual segments of an ARN"
    assert res(f"arn:aws:ec2:us-*-1:{A}:instance/*", f"arn:aws:ec2:us-east-1:{A}:instance/i-1")
    assert not res(f"arn:aws:ec2:us-*-1:{A}:instance/*", f"arn:aws:ec2:us-east:x-1:{A}:instance/i-1")
    assert not res(f"arn:aws:ec2:us-east-?:{A}:instance/*", f"arn:aws:ec2:us-east-:{A}:x:instance/i-1")
    assert res(f"arn:aws:ec2:us-east-?:{A}:instance/*", f"arn:aws:ec2:us-east-2:{A}:instance/i-1")


def test_resource_star_ending_a_segment_can_expand_beyond_colons():
    # RESOURCE: "If the * wildcard character is the last character of a resource ARN segment, it can expand to match beyond the colon boundaries"
    assert res("arn:aws:ec2:*", f"arn:aws:ec2:us-east-1:{A}:instance/i-1")
    assert res(f"arn:aws:ec2:*:{A}:instance/*", f"arn:aws:ec2:us-east-1:{A}:instance/i-1")
    assert res("arn:aws:ec2:us-*", f"arn:aws:ec2:us-east-1:{A}:instance/i-1")
    assert not res("arn:aws:ec2:*", f"arn:aws:s3:::bucket")


def test_resource_list_is_an_or():
    # RESOURCE: "Resource": ["arn:aws:dynamodb:...:table/books_table", "arn:aws:dynamodb:...:table/magazines_table"]
    patterns = ("arn:aws:s3:::a/*", "arn:aws:s3:::b")
    assert res(patterns, "arn:aws:s3:::b")
    assert res(patterns, "arn:aws:s3:::a/x")
    assert not res(patterns, "arn:aws:s3:::c")


def test_resource_regex_metacharacters_are_literal():
    # RESOURCE: only * and ? are wildcards
    assert res("arn:aws:s3:::b/a.b+(c)", "arn:aws:s3:::b/a.b+(c)")
    assert not res("arn:aws:s3:::b/a.b", "arn:aws:s3:::b/axb")


# ------------------------------------------------------------------ Resource with variables

def test_resource_variable_is_substituted_after_the_fifth_colon():
    # VARS ("Using variables in policies"): arn:aws:s3:::bucket/home/${aws:username}/*
    pattern = "arn:aws:s3:::bucket/home/${aws:username}/*"
    assert res(pattern, "arn:aws:s3:::bucket/home/alice/x", {"aws:username": "alice"})
    assert not res(pattern, "arn:aws:s3:::bucket/home/bob/x", {"aws:username": "alice"})


def test_resource_variable_value_is_literal_not_a_wildcard():
    # VARS: substituted text is literal
    pattern = "arn:aws:s3:::bucket/${aws:username}"
    assert not res(pattern, "arn:aws:s3:::bucket/abc", {"aws:username": "a*"})
    assert res(pattern, "arn:aws:s3:::bucket/a*", {"aws:username": "a*"})


def test_resource_special_character_variables_are_literal():
    # VARS ("Special characters"): ${*} is a literal asterisk
    assert res("arn:aws:s3:::bucket/${*}", "arn:aws:s3:::bucket/*")
    assert not res("arn:aws:s3:::bucket/${*}", "arn:aws:s3:::bucket/x")
    assert res("arn:aws:s3:::bucket/${?}${$}", "arn:aws:s3:::bucket/?$")


def test_resource_variable_default_applies_when_key_is_absent():
    # VARS ("Specifying default values")
    pattern = "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'shared'}/*"
    assert res(pattern, "arn:aws:s3:::bucket/shared/x", {})
    assert res(pattern, "arn:aws:s3:::bucket/dev/x", {"aws:PrincipalTag/team": "dev"})
    assert not res(pattern, "arn:aws:s3:::bucket/shared/x", {"aws:PrincipalTag/team": "dev"})


def test_resource_with_unresolvable_variable_matches_nothing():
    # VARS ("Policy variables with no value"): the resource containing it matches nothing
    pattern = "arn:aws:s3:::bucket/${aws:username}/*"
    assert not res(pattern, "arn:aws:s3:::bucket/x/y", {})
    assert not res(pattern, "arn:aws:s3:::bucket//y", {})
    assert res((pattern, "arn:aws:s3:::other"), "arn:aws:s3:::other", {})


def test_resource_multivalued_key_cannot_be_a_variable():
    # VARS: multivalued keys can't be variables
    pattern = "arn:aws:s3:::bucket/${aws:CalledVia}"
    assert res(pattern, "arn:aws:s3:::bucket/athena", {"aws:CalledVia": "athena"})
    assert not res(pattern, "arn:aws:s3:::bucket/athena", {"aws:CalledVia": "athena"}, multivalued=["aws:calledvia"])


def test_resource_variable_before_the_fifth_colon_is_not_substituted():
    # spec §6 / RESOURCE: variables only in the resource part of the ARN
    pattern = "arn:aws:iam::${aws:PrincipalAccount}:user/x"
    assert not res(pattern, f"arn:aws:iam::{A}:user/x", {"aws:PrincipalAccount": A})


def test_resource_variables_are_literal_text_under_version_2008():
    # VARS: "you must ... set the Version element to 2012-10-17"; 2008-10-17 treats ${...} as text
    pattern = "arn:aws:s3:::bucket/${aws:username}"
    assert not res(pattern, "arn:aws:s3:::bucket/alice", {"aws:username": "alice"}, variables=False)
    assert res(pattern, "arn:aws:s3:::bucket/${aws:username}", {"aws:username": "alice"}, variables=False)


# ------------------------------------------------------------------ Statement

def stmt(**kw) -> Statement:
    return Statement(index=0, effect=kw.pop("effect", Effect.ALLOW), **kw)


def test_statement_requires_action_resource_and_conditions():
    # EVALUATION: a statement applies when its Action, Resource and Condition match the request
    s = stmt(actions=("s3:GetObject",), resources=("arn:aws:s3:::bucket/*",),
             conditions=(ConditionClause("Bool", "Bool", None, False, "aws:SecureTransport", ("true",)),))
    assert statement_matches(s, req(context={"aws:SecureTransport": "true"}), variables=True)
    assert not statement_matches(s, req(context={"aws:SecureTransport": "false"}), variables=True)
    assert not statement_matches(s, req(action="s3:PutObject", context={"aws:SecureTransport": "true"}), variables=True)
    assert not statement_matches(s, req("arn:aws:s3:::other/k", context={"aws:SecureTransport": "true"}), variables=True)


def test_not_action_matches_every_other_action_whose_resource_matches():
    # NOTACTION: Allow NotAction s3:DeleteBucket on arn:aws:s3:::* does not cover ListAllMyBuckets or other services
    s = stmt(not_actions=("s3:DeleteBucket",), resources=("arn:aws:s3:::*",))
    assert statement_matches(s, req("arn:aws:s3:::bucket", action="s3:CreateBucket"), variables=True)
    assert not statement_matches(s, req("arn:aws:s3:::bucket", action="s3:deletebucket"), variables=True)
    assert not statement_matches(s, req("*", action="s3:ListAllMyBuckets"), variables=True)
    assert not statement_matches(s, req(f"arn:aws:iam::{A}:user/x", action="iam:GetUser"), variables=True)


def test_not_resource_matches_every_other_resource():
    # NOTRESOURCE: "matches every resource except those specified"
    s = stmt(effect=Effect.DENY, actions=("s3:*",), not_resources=("arn:aws:s3:::allowed", "arn:aws:s3:::allowed/*"))
    assert statement_matches(s, req("arn:aws:s3:::other/k"), variables=True)
    assert not statement_matches(s, req("arn:aws:s3:::allowed/k"), variables=True)
    assert not statement_matches(s, req("arn:aws:s3:::other/k", action="iam:GetUser"), variables=True)


def test_not_resource_with_unresolvable_variable_applies():
    # VARS + NOTRESOURCE: the unresolvable entry matches nothing, so the NotResource statement applies
    s = stmt(effect=Effect.DENY, actions=("s3:*",), not_resources=("arn:aws:s3:::bucket/${aws:username}/*",))
    assert statement_matches(s, req("arn:aws:s3:::bucket/x/y"), variables=True)
    assert not statement_matches(s, req("arn:aws:s3:::bucket/alice/y", context={"aws:username": "alice"}), variables=True)


def test_statement_without_resource_element_matches_the_attached_resource():
    # RESOURCE: resource-based policies may omit Resource; the resource the policy is attached to is implied
    s = stmt(actions=("sts:AssumeRole",))
    assert statement_matches(s, req(f"arn:aws:iam::{A}:role/x", action="sts:AssumeRole"), variables=True)


def test_statement_conditions_use_variables_only_when_enabled():
    # VARS: Version 2012-10-17 only
    s = stmt(actions=("s3:*",), resources=("*",),
             conditions=(ConditionClause("StringEquals", "StringEquals", None, False, "aws:ResourceTag/owner", ("${aws:username}",)),))
    r = req(context={"aws:username": "alice", "aws:ResourceTag/owner": "alice"})
    assert statement_matches(s, r, variables=True)
    assert not statement_matches(s, r, variables=False)


def reference_glob(pattern: str, text: str) -> bool:
    """Naive glob: ``*`` any run, ``?`` one character, everything else itself."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return any(reference_glob(pattern[1:], text[i:]) for i in range(len(text) + 1))
    return bool(text) and pattern[0] in ("?", text[0]) and reference_glob(pattern[1:], text[1:])


@given(st.text("abAB*?:", max_size=8), st.text("abAB:", max_size=10))
def test_action_matching_agrees_with_a_case_insensitive_reference_glob(pattern, action):
    # ACTION: case-insensitive glob with * and ? over the whole action
    assert action_matches((pattern,), action) == reference_glob(pattern.lower(), action.lower())


# ------------------------------------------------------------------ Principal (§3 table)

def spec(*aws: str, service=(), federated=(), canonical=(), anyone=False) -> PrincipalSpec:
    return PrincipalSpec(anyone=anyone, aws=tuple(aws), service=tuple(service), federated=tuple(federated),
                         canonical_user=tuple(canonical))


@pytest.mark.parametrize("principal", [ALICE, SESSION, FEDERATED, ROOT, SERVICE, ANONYMOUS, OTHER])
def test_star_principal_is_a_direct_grant_for_everyone_including_anonymous(principal):
    # PRINCIPAL ("All principals"): "*" and {"AWS": "*"} include anonymous users; EVALUATION: not limited by boundaries
    assert principal_match(spec(anyone=True), principal) is GrantKind.DIRECT
    assert principal_match(spec("*"), principal) is GrantKind.DIRECT


@pytest.mark.parametrize("value", [A, f"arn:aws:iam::{A}:root"])
@pytest.mark.parametrize("principal", [ALICE, SESSION, FEDERATED, ROOT])
def test_account_principal_matches_every_principal_of_the_account_as_delegation(value, principal):
    # PRINCIPAL ("AWS account principals"): the account delegates to its IAM policies
    assert principal_match(spec(value), principal) is GrantKind.ACCOUNT


@pytest.mark.parametrize("principal", [ANONYMOUS, SERVICE, OTHER])
def test_account_principal_does_not_match_anonymous_services_or_other_accounts(principal):
    # PRINCIPAL ("AWS account principals")
    assert principal_match(spec(A, f"arn:aws:iam::{A}:root"), principal) is None


def test_user_arn_is_a_direct_grant_to_that_user_only_case_sensitive():
    # PRINCIPAL ("IAM user principals"); EVALUATION: user ARN grants are not limited by implicit denies
    assert principal_match(spec(ALICE.arn), ALICE) is GrantKind.DIRECT
    assert principal_match(spec(f"arn:aws:iam::{A}:user/Alice"), ALICE) is None
    assert principal_match(spec(ALICE.arn), OTHER) is None
    assert principal_match(spec(ALICE.arn), SESSION) is None


def test_role_arn_matches_every_session_of_the_role_as_a_role_grant():
    # PRINCIPAL ("IAM role principals"); EVALUATION: role ARN grants are limited by boundary and session policy
    assert principal_match(spec(ROLE_ARN), SESSION) is GrantKind.ROLE
    other_session = RequestPrincipal(PrincipalKind.ASSUMED_ROLE, f"arn:aws:sts::{A}:assumed-role/Deployer/s2", A, ROLE_ARN)
    assert principal_match(spec(ROLE_ARN), other_session) is GrantKind.ROLE


def test_role_arn_in_principal_must_include_the_role_path():
    # PRINCIPAL ("IAM role principals"): the role ARN, which contains its path
    assert principal_match(spec(f"arn:aws:iam::{A}:role/Deployer"), SESSION) is None


def test_session_arn_is_a_direct_grant_to_that_session_only():
    # PRINCIPAL ("Role session principals"); EVALUATION: session ARN grants are not limited by session policies
    assert principal_match(spec(SESSION.arn), SESSION) is GrantKind.DIRECT
    assert principal_match(spec(f"arn:aws:sts::{A}:assumed-role/Deployer/other"), SESSION) is None
    assert principal_match(spec(FEDERATED.arn), FEDERATED) is GrantKind.DIRECT


def test_user_arn_matches_a_federated_session_of_that_user_as_parent_user_grant():
    # EVALUATION (resource-based policies, "IAM user ... federated user session"): limited by boundary and session policy
    assert principal_match(spec(ALICE.arn), FEDERATED) is GrantKind.PARENT_USER


def test_strongest_grant_wins_when_several_values_match():
    # PRINCIPAL: an array of principals is an OR
    assert principal_match(spec(A, ROLE_ARN, SESSION.arn), SESSION) is GrantKind.DIRECT
    assert principal_match(spec(A, ROLE_ARN), SESSION) is GrantKind.ROLE
    assert principal_match(spec(f"arn:aws:iam::{A}:root", ALICE.arn), FEDERATED) is GrantKind.PARENT_USER


def test_service_principal_is_a_direct_grant_for_that_service():
    # PRINCIPAL ("AWS service principals")
    assert principal_match(spec(service=["cloudtrail.amazonaws.com"]), SERVICE) is GrantKind.DIRECT
    assert principal_match(spec(service=["config.amazonaws.com"]), SERVICE) is None
    assert principal_match(spec(service=["cloudtrail.amazonaws.com"]), ALICE) is None


def test_federated_and_canonical_user_principals_match_the_principal_arn_exactly():
    # PRINCIPAL ("Federated user principals", "Canonical user principals")
    web = RequestPrincipal(PrincipalKind.ASSUMED_ROLE, "cognito-identity.amazonaws.com", A, ROLE_ARN)
    assert principal_match(spec(federated=["cognito-identity.amazonaws.com"]), web) is GrantKind.DIRECT
    assert principal_match(spec(federated=["accounts.google.com"]), web) is None
    assert principal_match(spec(canonical=["79a59df9"]), RequestPrincipal(PrincipalKind.USER, "79a59df9", A)) is GrantKind.DIRECT


def test_anonymous_caller_matches_only_the_star_principal():
    # PRINCIPAL ("All principals"): anonymous is only covered by "*"
    assert principal_match(spec(A, ALICE.arn, service=["*"], federated=["*"]), ANONYMOUS) is None


# ------------------------------------------------------------------ NotPrincipal

def test_not_principal_exempts_a_user_listed_with_its_account():
    # NOTPRINCIPAL: "you must also specify the account ARN of the principal that should not be denied"
    assert not_principal_excludes(spec(ALICE.arn, f"arn:aws:iam::{A}:root"), ALICE, has_boundary=False)
    assert not_principal_excludes(spec(ALICE.arn, A), ALICE, has_boundary=False)


def test_not_principal_without_the_account_does_not_exempt_the_user():
    # NOTPRINCIPAL: omitting the account "might" deny the whole account — spec §3 [ambiguous]: deny
    assert not not_principal_excludes(spec(ALICE.arn), ALICE, has_boundary=False)


def test_not_principal_exempts_a_session_only_with_session_role_and_account():
    # NOTPRINCIPAL: for an assumed role AWS checks the account, then the role, then the session
    full = spec(SESSION.arn, ROLE_ARN, f"arn:aws:iam::{A}:root")
    assert not_principal_excludes(full, SESSION, has_boundary=False)
    assert not not_principal_excludes(spec(SESSION.arn, ROLE_ARN), SESSION, has_boundary=False)
    assert not not_principal_excludes(spec(SESSION.arn, A), SESSION, has_boundary=False)
    assert not not_principal_excludes(spec(ROLE_ARN, A), SESSION, has_boundary=False)


def test_not_principal_with_a_permissions_boundary_never_exempts():
    # NOTPRINCIPAL: "will always deny any IAM principal that has a permissions boundary policy attached"
    full = spec(SESSION.arn, ROLE_ARN, A)
    assert not not_principal_excludes(full, SESSION, has_boundary=True)
    assert not not_principal_excludes(spec(ALICE.arn, A), ALICE, has_boundary=True)
    assert not not_principal_excludes(spec(anyone=True), ALICE, has_boundary=True)


def test_not_principal_exempts_federated_user_with_account_and_root_by_account():
    # NOTPRINCIPAL: principals are exempt when they and their account are listed
    assert not_principal_excludes(spec(FEDERATED.arn, A), FEDERATED, has_boundary=False)
    assert not not_principal_excludes(spec(FEDERATED.arn), FEDERATED, has_boundary=False)
    assert not_principal_excludes(spec(f"arn:aws:iam::{A}:root"), ROOT, has_boundary=False)
    assert not not_principal_excludes(spec(f"arn:aws:iam::{B}:root"), ROOT, has_boundary=False)


def test_not_principal_services_and_anonymous():
    # NOTPRINCIPAL: "A principal can be ... AWS service"; anonymous callers are never listed by name
    assert not_principal_excludes(spec(service=["cloudtrail.amazonaws.com"]), SERVICE, has_boundary=False)
    assert not not_principal_excludes(spec(A), SERVICE, has_boundary=False)
    assert not not_principal_excludes(spec(A, ALICE.arn), ANONYMOUS, has_boundary=False)
    assert not_principal_excludes(spec("*"), ANONYMOUS, has_boundary=False)


def test_not_principal_other_account_user_is_not_exempt():
    # NOTPRINCIPAL: the exemption needs that principal's own ARN and account
    assert not not_principal_excludes(spec(ALICE.arn, A), OTHER, has_boundary=False)
