"""The simulator's pure part (cloudkeep.policy.simulate): statement positions, matched
statements, missing context values, context entry types, boundary / Organizations /
cross-account details, and the context keys policies reference.

AWS pages checked:
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html (one result per
  action, most restrictive decision across resources, ResourceSpecificResults; MissingContextValues;
  EvalDecisionDetails absent for * in the same account, empty for a resource ARN, per side across
  accounts; only the deny statements are listed for an explicit deny)
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html (ContextKeyType values)
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_PermissionsBoundaryDecisionDetail.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/iam_example_iam_GetContextKeysForCustomPolicy_section.html
  (keys as written, variables included: ["aws:username", "aws:CurrentTime"])
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html (no wildcards in
  action names; CallerArn needed with a ResourcePolicy)
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudkeep.policy import simulate as S
from cloudkeep.policy.model import Outcome, PolicyKind

ALICE = "arn:aws:iam::111122223333:user/alice"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list, resource: str = "*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _deny(action: str | list, resource: str = "*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# --- positions --------------------------------------------------------------------------------


def test_positions_of_a_compact_policy_match_what_aws_reports():
    # AWS reported StartPosition 1:41 and EndPosition 1:145 for this json.dumps'd policy
    text = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::smoketurner-test-iam-bucket/*"}]})
    item = S.load_policy(text, PolicyKind.IDENTITY, "p", S.NONE)
    assert item.spans == ((S.Position(1, 41), S.Position(1, 145)),)


def test_positions_span_lines_of_a_pretty_printed_policy():
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},\n' \
           '    {\n      "Effect": "Deny",\n      "Action": "s3:DeleteBucket",\n      "Resource": "*"\n    }\n  ]\n}'
    item = S.load_policy(text, PolicyKind.IDENTITY, "p", S.NONE)
    assert item.spans == ((S.Position(4, 5), S.Position(4, 58)), (S.Position(5, 5), S.Position(9, 5)))


def test_a_single_statement_object_has_one_span_and_strings_with_braces_do_not_confuse_it():
    text = ('{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", '
            '"Condition": {"StringEquals": {"aws:UserAgent": "a]b}"}}}, "Version": "2012-10-17"}')
    item = S.load_policy(text, PolicyKind.IDENTITY, "p", S.NONE)
    (start, end), = item.spans
    assert text[start.column - 1] == "{" and text[end.column - 1] == "}"
    assert json.loads(text[start.column - 1:end.column])["Condition"]["StringEquals"]["aws:UserAgent"] == "a]b}"


@given(st.lists(st.sampled_from(["s3:GetObject", "s3:PutObject", "ec2:RunInstances"]), min_size=1, max_size=6),
       st.sampled_from([None, 2, 4]))
def test_every_span_covers_exactly_its_statement(actions, indent):
    statements = [_allow(a, Sid=f"S{n}") for n, a in enumerate(actions)]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=indent)
    lines = text.split("\n")
    item = S.load_policy(text, PolicyKind.IDENTITY, "p", S.NONE)
    assert len(item.spans) == len(statements)
    for (start, end), statement in zip(item.spans, statements):
        offset = sum(len(line) + 1 for line in lines[:start.line - 1]) + start.column - 1
        stop = sum(len(line) + 1 for line in lines[:end.line - 1]) + end.column
        assert json.loads(text[offset:stop]) == statement


# --- matched statements -----------------------------------------------------------------------


def test_allowed_names_the_allowing_statement_of_the_right_policy():
    sim = S.custom_simulation([_doc(_allow("ec2:*")), _doc(_deny("s3:DeleteBucket"), _allow("s3:GetObject"))])
    result, = S.simulate(sim, ["s3:GetObject"])
    assert result.decision is Outcome.ALLOW
    assert [(m.source_policy_id, m.source_policy_type) for m in result.matched] == [("PolicyInputList.2", "none")]
    assert result.matched[0].start == sim.identity[1].spans[1][0]


def test_explicit_deny_lists_only_the_deny_statements():
    sim = S.custom_simulation([_doc(_allow("s3:*"), _deny("s3:DeleteBucket"))])
    result, = S.simulate(sim, ["s3:DeleteBucket"])
    assert result.decision is Outcome.EXPLICIT_DENY
    assert [m.start for m in result.matched] == [sim.identity[0].spans[1][0]]


def test_implicit_deny_has_no_matched_statements():
    result, = S.simulate(S.custom_simulation([_doc(_allow("s3:GetObject"))]), ["iam:CreateUser"])
    assert (result.decision, result.matched, result.resources) == (Outcome.IMPLICIT_DENY, (), None)
    assert "EvalDecisionDetails" not in result.to_wire()  # * in the same account: not returned


def test_one_result_per_action_with_the_most_restrictive_decision_and_per_resource_results():
    sim = S.custom_simulation([_doc(_allow("s3:GetObject", "arn:aws:s3:::b/public/*"),
                                    _deny("s3:GetObject", "arn:aws:s3:::b/secret/*"))])
    resources = ["arn:aws:s3:::b/public/x", "arn:aws:s3:::b/other", "arn:aws:s3:::b/secret/y"]
    result, = S.simulate(sim, ["s3:GetObject"], resources)
    assert result.decision is Outcome.EXPLICIT_DENY and result.resource_name == "*"
    assert [(r.resource, r.decision) for r in result.resources] == [
        (resources[0], Outcome.ALLOW), (resources[1], Outcome.IMPLICIT_DENY), (resources[2], Outcome.EXPLICIT_DENY)]
    wire = result.to_wire()
    assert [r["EvalResourceDecision"] for r in wire["ResourceSpecificResults"]] == [
        "allowed", "implicitDeny", "explicitDeny"]
    assert wire["ResourceSpecificResults"][0]["EvalDecisionDetails"] == {}  # same account, an ARN: empty


def test_a_single_resource_names_the_result():
    result, = S.simulate(S.custom_simulation([_doc(_allow("s3:*"))]), ["s3:GetObject"], ["arn:aws:s3:::b/k"])
    assert result.resource_name == "arn:aws:s3:::b/k" and result.decision is Outcome.ALLOW


# --- missing context values ---------------------------------------------------------------------


def test_missing_context_values_list_keys_tested_by_relevant_statements_only():
    sim = S.custom_simulation([_doc(
        _allow("s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
        _allow("ec2:RunInstances", Condition={"StringEquals": {"ec2:InstanceType": "t3.micro"}}))])
    result, = S.simulate(sim, ["s3:GetObject"])
    assert result.decision is Outcome.IMPLICIT_DENY and result.missing == ("aws:SourceIp",)


def test_supplied_keys_are_not_missing_and_decide_the_condition():
    sim = S.custom_simulation([_doc(_allow("s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))],
                              context={"aws:sourceip": ("203.0.113.9",)})
    result, = S.simulate(sim, ["s3:GetObject"])
    assert result.decision is Outcome.ALLOW and result.missing == ()


def test_unresolved_resource_variables_are_missing_context_values():
    sim = S.custom_simulation([_doc(_allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))])
    result, = S.simulate(sim, ["s3:GetObject"], ["arn:aws:s3:::home/alice/notes"])
    assert result.decision is Outcome.IMPLICIT_DENY
    assert result.resources[0].missing == ("aws:username",) and result.missing == ("aws:username",)
    ctx, multi = S.context_from_entries([{"ContextKeyName": "aws:username", "ContextKeyValues": ["alice"],
                                          "ContextKeyType": "string"}])
    sim2 = S.custom_simulation([_doc(_allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))],
                               context=ctx, multivalued=multi)
    assert S.simulate(sim2, ["s3:GetObject"], ["arn:aws:s3:::home/alice/notes"])[0].decision is Outcome.ALLOW


# --- context entries --------------------------------------------------------------------------


def test_list_context_types_are_multivalued_and_single_types_are_not():
    ctx, multi = S.context_from_entries([
        {"ContextKeyName": "aws:TagKeys", "ContextKeyValues": ["a", "b"], "ContextKeyType": "stringList"},
        {"ContextKeyName": "aws:MultiFactorAuthAge", "ContextKeyValues": ["30"], "ContextKeyType": "numeric"},
        {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2024-01-01T00:00:00Z"], "ContextKeyType": "date"},
        {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.0.0.1"], "ContextKeyType": "ip"},
        {"ContextKeyName": "aws:SecureTransport", "ContextKeyValues": ["true"], "ContextKeyType": "boolean"},
        {"ContextKeyName": "s3:blob", "ContextKeyValues": ["aGVsbG8="], "ContextKeyType": "binary"},
    ])
    assert ctx["aws:tagkeys"] == ("a", "b") and multi == frozenset({"aws:tagkeys"})
    assert ctx["aws:multifactorauthage"] == ("30",)


def test_for_all_values_on_a_list_context_key_uses_every_value():
    policy = _doc(_allow("s3:PutObjectTagging",
                         Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["project", "owner"]}}))
    for values, expected in ((["project"], Outcome.ALLOW), (["project", "cost"], Outcome.IMPLICIT_DENY)):
        ctx, multi = S.context_from_entries([{"ContextKeyName": "aws:TagKeys", "ContextKeyValues": values,
                                              "ContextKeyType": "stringList"}])
        sim = S.custom_simulation([policy], context=ctx, multivalued=multi)
        assert S.simulate(sim, ["s3:PutObjectTagging"])[0].decision is expected


@pytest.mark.parametrize("kind,value", [("numeric", "ten"), ("boolean", "yes"), ("date", "yesterday"),
                                        ("ip", "10.0.0.300"), ("binary", "%%%")])
def test_a_value_of_the_wrong_type_is_invalid_input(kind, value):
    with pytest.raises(S.SimulationError) as exc:
        S.context_from_entries([{"ContextKeyName": "aws:Key", "ContextKeyValues": [value], "ContextKeyType": kind}])
    assert exc.value.code == "InvalidInput" and value in exc.value.message


def test_several_values_for_a_single_valued_type_are_invalid_input():
    with pytest.raises(S.SimulationError):
        S.context_from_entries([{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.0.0.1", "10.0.0.2"],
                                 "ContextKeyType": "ip"}])


def test_cli_pairs_repeat_a_key_for_a_list():
    ctx, multi = S.context_from_pairs(["aws:TagKeys=a", "aws:TagKeys=b", "aws:SourceIp=10.0.0.1"])
    assert ctx == {"aws:tagkeys": ("a", "b"), "aws:sourceip": ("10.0.0.1",)} and multi == {"aws:tagkeys"}
    with pytest.raises(S.SimulationError):
        S.context_from_pairs(["no-equals-sign"])


# --- boundary, organizations, resource policy, cross-account --------------------------------------


def test_boundary_detail_says_whether_the_boundary_allows():
    sim = S.custom_simulation([_doc(_allow("s3:*"), _allow("iam:*"))], boundary=[_doc(_allow("s3:*"))])
    s3, iam = S.simulate(sim, ["s3:GetObject", "iam:CreateUser"])
    assert (s3.decision, s3.allowed_by_boundary) == (Outcome.ALLOW, True)
    assert (iam.decision, iam.allowed_by_boundary) == (Outcome.IMPLICIT_DENY, False)
    assert iam.to_wire()["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert [m.source_policy_id for m in s3.matched] == ["PolicyInputList.1", "PermissionsBoundaryPolicyInputList.1"]


def test_organizations_detail_appears_only_with_scps():
    base = S.custom_simulation([_doc(_allow("s3:*"))])
    assert "OrganizationsDecisionDetail" not in S.simulate(base, ["s3:GetObject"])[0].to_wire()
    scp = S.load_policy(_doc(_deny("s3:DeleteBucket"), _allow("*")), PolicyKind.SCP, "scp", S.NONE)
    sim = S.Simulation(principal=base.principal, identity=base.identity, scps=((scp,),))
    get, delete = S.simulate(sim, ["s3:GetObject", "s3:DeleteBucket"])
    assert get.to_wire()["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    assert (delete.decision, delete.allowed_by_organizations) == (Outcome.EXPLICIT_DENY, False)


def test_a_resource_policy_grant_to_the_caller_allows_and_is_matched_as_resource():
    bucket = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})
    sim = S.custom_simulation([_doc(_allow("ec2:*"))], resource_policy=bucket, caller_arn=ALICE)
    result, = S.simulate(sim, ["s3:GetObject"], ["arn:aws:s3:::b/k"])
    assert result.decision is Outcome.ALLOW
    assert [(m.source_policy_id, m.source_policy_type) for m in result.matched] == [("ResourcePolicy", "resource")]


def test_cross_account_details_report_each_side():
    bucket = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::b/*"}]})
    sim = S.custom_simulation([_doc(_allow("s3:PutObject"))], resource_policy=bucket, caller_arn=ALICE,
                              owner="444455556666")
    get, put = S.simulate(sim, ["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::b/k"])
    assert get.decision is Outcome.IMPLICIT_DENY
    assert get.details == {"IAM Policy": "implicitDeny", "Resource Policy": "allowed"}
    assert put.decision is Outcome.IMPLICIT_DENY
    assert put.details == {"IAM Policy": "allowed", "Resource Policy": "implicitDeny"}


# --- input validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["s3:*", "GetObject", "s3:Get?bject"])
def test_action_names_need_a_service_and_no_wildcards(action):
    with pytest.raises(S.SimulationError):
        S.simulate(S.custom_simulation([_doc(_allow("s3:*"))]), [action])


def test_resource_names_must_be_arns():
    with pytest.raises(S.SimulationError) as exc:
        S.simulate(S.custom_simulation([_doc(_allow("kms:*"))]), ["kms:Decrypt"], ["14a050d4-021e"])
    assert exc.value.message == "ResourceNames are not in a valid ARN format: 14a050d4-021e."


def test_a_malformed_policy_is_invalid_input_naming_it():
    with pytest.raises(S.SimulationError) as exc:
        S.custom_simulation([_doc(_allow("s3:*")), '{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}'])
    assert exc.value.message.startswith("PolicyInputList.2: ")


def test_a_resource_policy_needs_a_caller_and_only_one_boundary_is_allowed():
    with pytest.raises(S.SimulationError):
        S.custom_simulation([_doc(_allow("s3:*"))], resource_policy=json.dumps({"Statement": []}))
    with pytest.raises(S.SimulationError):
        S.custom_simulation([_doc(_allow("s3:*"))], boundary=[_doc(_allow("s3:*"))] * 2)


def test_resource_owner_accepts_an_account_or_its_root_arn():
    assert S.resource_owner("444455556666") == S.resource_owner("arn:aws:iam::444455556666:root") == "444455556666"
    with pytest.raises(S.SimulationError):
        S.resource_owner("bob")


# --- context keys -------------------------------------------------------------------------------


def test_context_keys_match_the_aws_cli_example():
    text = ('{"Version":"2012-10-17", "Statement":{"Effect":"Allow","Action":"dynamodb:*",'
            '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
            '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}')
    policy = S.load_policy(text, PolicyKind.IDENTITY, "p", S.NONE).policy
    assert S.context_keys([policy]) == ["aws:username", "aws:CurrentTime"]


def test_context_keys_are_listed_once_and_ignore_variables_of_2008_policies():
    new = _doc(_allow("s3:*", Condition={"StringEquals": {"aws:PrincipalTag/Team": "${aws:PrincipalTag/team}"},
                                         "Bool": {"aws:SecureTransport": "true"}}))
    old = json.dumps({"Version": "2008-10-17", "Statement": [_allow("s3:*", "arn:aws:s3:::${aws:userid}")]})
    policies = [S.load_policy(t, PolicyKind.IDENTITY, "p", S.NONE).policy for t in (new, old)]
    assert S.context_keys(policies) == ["aws:PrincipalTag/Team", "aws:SecureTransport"]
