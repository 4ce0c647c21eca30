"""Parsing and validating IAM policy documents (cloudkeep.policy.parse).

References (AWS IAM User Guide unless noted):
- "IAM JSON policy element reference" / "Grammar of the IAM JSON policy language"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
- "IAM JSON policy elements: Version / Sid / Principal / Condition operators"
- "IAM and AWS STS quotas" https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
- "SCP syntax" / "RCP syntax" (AWS Organizations User Guide)
Real IAM error outputs the messages are checked against are cited at each case (GitHub issues).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

from cloudkeep.policy.model import Effect, PolicyError, PolicyKind, PrincipalSpec, VERSION_2008
from cloudkeep.policy.parse import QUOTAS, inline_size_error, parse_policy, policy_size

K = PolicyKind
V = "2012-10-17"


def doc(*statements: dict[str, Any], **top: Any) -> str:
    body: dict[str, Any] = {"Version": V, **top}
    body["Statement"] = list(statements) if len(statements) != 1 else statements[0]
    return json.dumps(body)


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **extra}


def trust(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sts:AssumeRole", **extra}


def error(text: str, kind: PolicyKind = K.IDENTITY, **kw: Any) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, kind, **kw)
    return info.value


# -- valid documents of every kind (AWS's documented examples) --------------------------------

ADMINISTRATOR_ACCESS = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'

BUCKET_POLICY = """{
  "Version": "2012-10-17",
  "Id": "PolicyId2",
  "Statement": [
    {"Sid": "Allow IPv4 and IPv6 access", "Effect": "Allow", "Principal": "*",
     "Action": "s3:*", "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"],
     "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8:1234:5678::/64"]},
                   "NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
    {"Sid": "CrossAccount", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:user/alice", "444455556666"]},
     "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"}
  ]
}"""

TRUST_EXTERNAL_ID = """{
  "Version": "2012-10-17",
  "Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "Unique ID Assigned by Example Corp"}}}
}"""

SCP_DENY_LIST = """{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "DenyLeaveOrg", "Effect": "Deny", "Action": "organizations:LeaveOrganization",
                 "Resource": "*"},
                {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}]
}"""

RCP = """{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "EnforceSecureTransport", "Effect": "Deny", "Principal": "*",
                 "Action": ["s3:*", "sqs:*", "kms:*", "secretsmanager:*", "sts:*"], "Resource": "*",
                 "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}]
}"""

BOUNDARY = """{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*", "ec2:*"], "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"}]
}"""


def test_administrator_access_parses_to_one_allow_statement():
    policy = parse_policy(ADMINISTRATOR_ACCESS, K.IDENTITY)
    assert policy.version == V and policy.kind is K.IDENTITY
    (s,) = policy.statements
    assert (s.index, s.effect, s.actions, s.resources) == (0, Effect.ALLOW, ("*",), ("*",))
    assert s.not_actions is None and s.principal is None and s.conditions == ()


def test_bucket_policy_keeps_id_sids_with_spaces_principals_and_conditions():
    # S3 User Guide, "Bucket policy examples": resource-policy Sids may contain spaces
    policy = parse_policy(BUCKET_POLICY, K.RESOURCE)
    assert policy.id == "PolicyId2"
    first, second = policy.statements
    assert first.sid == "Allow IPv4 and IPv6 access"
    assert first.principal == PrincipalSpec(anyone=True)
    assert [(c.operator, c.key, c.values) for c in first.conditions] == [
        ("IpAddress", "aws:SourceIp", ("192.0.2.0/24", "2001:DB8:1234:5678::/64")),
        ("NotIpAddress", "aws:SourceIp", ("203.0.113.0/24",))]
    assert second.index == 1
    assert second.principal == PrincipalSpec(aws=("arn:aws:iam::111122223333:user/alice", "444455556666"))


def test_trust_policy_with_external_id_has_no_resource():
    (s,) = parse_policy(TRUST_EXTERNAL_ID, K.TRUST).statements
    assert s.resources is None and s.not_resources is None
    assert s.conditions[0].key == "sts:ExternalId"
    assert s.principal == PrincipalSpec(aws=("arn:aws:iam::111122223333:root",))


def test_scp_deny_list_and_rcp_and_boundary_parse():
    scp = parse_policy(SCP_DENY_LIST, K.SCP)
    assert [s.effect for s in scp.statements] == [Effect.DENY, Effect.DENY]
    assert scp.statements[1].not_actions == ("iam:*", "sts:*")
    (rcp,) = parse_policy(RCP, K.RCP).statements
    assert rcp.principal == PrincipalSpec(anyone=True)
    c = rcp.conditions[0]
    assert (c.base, c.if_exists, c.qualifier, c.values) == ("Bool", True, None, ("false",))
    assert len(parse_policy(BOUNDARY, K.BOUNDARY).statements) == 2


def test_absent_version_means_2008_and_disables_variables():
    # "IAM JSON policy elements: Version": without Version, 2008-10-17 applies
    policy = parse_policy(json.dumps({"Statement": allow()}), K.IDENTITY)
    assert policy.version == VERSION_2008 and not policy.variables_enabled
    assert parse_policy(doc(allow()), K.IDENTITY).variables_enabled


def test_condition_operators_with_qualifiers_and_json_scalars_kept_as_text():
    cond = {"ForAllValues:StringLikeIfExists": {"aws:TagKeys": ["a*", "b?"]},
            "ForAnyValue:StringEquals": {"aws:CalledVia": "athena.amazonaws.com"},
            "NumericLessThanEquals": {"s3:max-keys": 10},
            "Bool": {"aws:MultiFactorAuthPresent": True},
            "Null": {"aws:TokenIssueTime": False},
            "DateGreaterThan": {"aws:CurrentTime": "2019-07-16T12:00:00Z"},
            "DateLessThan": {"aws:EpochTime": 1700000000}}
    (s,) = parse_policy(doc(allow(Condition=cond)), K.IDENTITY).statements
    got = [(c.qualifier, c.base, c.if_exists, c.values) for c in s.conditions]
    assert got == [("ForAllValues", "StringLike", True, ("a*", "b?")),
                   ("ForAnyValue", "StringEquals", False, ("athena.amazonaws.com",)),
                   (None, "NumericLessThanEquals", False, ("10",)),
                   (None, "Bool", False, ("true",)),
                   (None, "Null", False, ("false",)),
                   (None, "DateGreaterThan", False, ("2019-07-16T12:00:00Z",)),
                   (None, "DateLessThan", False, ("1700000000",))]
    assert s.conditions[0].key_lower == "aws:tagkeys"


def test_number_text_is_kept_exactly_as_written():
    text = doc(allow(Condition={"NumericEquals": {"s3:max-keys": 10.50}})).replace("10.5", "10.50")
    (s,) = parse_policy(text, K.IDENTITY).statements
    assert s.conditions[0].values == ("10.50",)


def test_trust_policy_accepts_the_assume_family_and_wildcards_reaching_only_it():
    for action in ("sts:AssumeRoleWithWebIdentity", ["sts:AssumeRole", "sts:TagSession",
                   "sts:SetSourceIdentity"], "sts:AssumeRole*", "STS:assumerolewithsaml"):
        parse_policy(doc(trust(Action=action)), K.TRUST)


# -- invalid documents: message and code ------------------------------------------------------

SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"

INVALID_IDENTITY = [
    # invalid JSON / structure → "Syntax errors in policy." (cfn-lint#2021, 99designs/iamy#74,
    # boto/boto3#180, aws-samples/amazon-ecs-firelens-examples#50)
    ("This is not a json document", SYNTAX),
    ('{"Version": "2012-10-17", "Statement": {"Effect": "Allow",}}', SYNTAX),
    ("[]", SYNTAX),
    ('{"Version": "2012-10-17"}', SYNTAX),
    (doc(), SYNTAX),                                            # empty Statement array
    (json.dumps({"Version": V, "Statement": ["afd"]}), SYNTAX),
    (doc(allow(), Extra="x"), SYNTAX),                          # unknown top-level element
    (doc(allow(Extra="x")), SYNTAX),                            # unknown statement element
    (doc(allow(), Id=["x"]), SYNTAX),
    (doc(allow(Effect="invalid")), SYNTAX),
    (doc({"Action": "s3:GetObject", "Resource": "*"}), SYNTAX),  # no Effect
    (doc(allow(NotAction="s3:PutObject")), SYNTAX),             # Action and NotAction
    (doc(allow(NotResource="*")), SYNTAX),                      # Resource and NotResource
    (doc(allow(Resource={"a": "b"})), SYNTAX),
    (doc(allow(Action=[["s3:GetObject"]])), SYNTAX),
    (doc(allow(Action=5)), SYNTAX),                             # a number is not an action
    (doc(allow(Sid=5)), SYNTAX),
    (doc(allow(Condition=[])), SYNTAX),
    (doc(allow(Condition={"StringEquals": "b"})), SYNTAX),
    (doc(allow(Condition={"StringEqualz": {"aws:username": "a"}})), SYNTAX),   # unknown operator
    (doc(allow(Condition={"NullIfExists": {"aws:username": "true"}})), SYNTAX),
    (doc(allow(Condition={"ForSomeValues:StringLike": {"aws:TagKeys": "a"}})), SYNTAX),
    (doc(allow(Condition={"StringEquals": {"aws:username": {"a": 1}}})), SYNTAX),
    (doc(allow(Condition={"StringEquals": {"aws:username": []}})), SYNTAX),
    (doc(allow(Condition={"StringEquals": {"aws:username": None}})), SYNTAX),
    (doc(allow(Condition={"Bool": {"aws:SecureTransport": "yes"}})), SYNTAX),
    # an unknown Version is a syntax error (getmoto/moto tests/test_iam/test_iam_policies.py,
    # "2013-10-17"), not legacy parsing
    (json.dumps({"Version": "2013-10-17", "Statement": allow()}), SYNTAX),
    # duplicate keys are refused for new policies (spec §10)
    ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}', SYNTAX),
    ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":NaN}}', SYNTAX),
    # characters outside tab, LF, CR, U+0020–U+00FF (IAM API policyDocumentType pattern)
    (doc(allow(Sid="caf\u0113")).replace("\\u0113", "\u0113"), SYNTAX),
    # Effect is case-sensitive: a wrongly cased one fails legacy parsing
    (doc(allow(Effect="allow")), LEGACY),
    (doc(allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "yesterday"}})), LEGACY),
    (doc(allow(Resource="arn:aws:s3::example_bucket")), LEGACY),
    # Principal in an identity policy (hashicorp/terraform#13449: PutRolePolicy)
    (doc(allow(Principal={"AWS": "arn:aws:iam::111122223333:root"})), "Policy document should not specify a principal."),
    (doc(allow(NotPrincipal="*", Effect="Deny")), "Policy document should not specify a principal."),
    # Sid: alphanumeric only in IAM (Wolox/carthage_cache#22, aws-cloudformation/cfn-lint#1376)
    (doc(allow(Sid="autogenerated-id")), "Statement IDs (SID) must be alpha-numeric. Check that "
                                         "your input satisfies the regular expression [0-9A-Za-z]*"),
    (doc(allow(Sid="One"), allow(Sid="One")), "Statement IDs (SID) in a single policy must be unique."),
    # missing actions / resources (hashicorp/terraform#17987, terraform-aws-modules/terraform-aws-iam#364)
    (doc({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions."),
    (doc(allow(Action=[])), "Policy statement must contain actions."),
    (doc({"Effect": "Allow", "Action": "s3:GetObject"}), "Policy statement must contain resources."),
    (doc(allow(Resource=[])), "Policy statement must contain resources."),
    # resource format (moto's AWS-checked cases)
    (doc(allow(Resource="invalid resource")), 'Resource invalid resource must be in ARN format or "*".'),
    (doc(allow(Resource="aws:s3:::example_bucket")),
     'Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".'),
    (doc(allow(Resource="arn:aws")), "Resource vendor must be fully qualified and cannot contain regexes."),
    # action format
    (doc(allow(Action="invalid")), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    (doc(allow(Action="s3:List:Bucket")), "Actions/Condition can contain only one colon."),
    (doc(allow(Action="a a:ListBucket")), "Vendor a a is not valid"),
]


@pytest.mark.parametrize(("text", "message"), INVALID_IDENTITY)
def test_invalid_identity_policy_is_refused_with_iams_message(text: str, message: str):
    err = error(text)
    assert (err.code, err.message) == ("MalformedPolicyDocument", message)


def test_missing_actions_is_reported_before_bad_resources():
    # ordering of IAM's checks: actions, then resources, then resource format
    err = error(doc({"Effect": "Allow", "Resource": "invalid"}))
    assert err.message == "Policy statement must contain actions."


def test_managed_policy_requires_version_2012():
    # Meteor-Community-Packages/Meteor-CollectionFS#630; laurilehmijoki/s3_website#219
    for text in (json.dumps({"Statement": allow()}),
                 json.dumps({"Version": "2008-10-17", "Statement": allow()})):
        assert error(text, require_version_2012=True).message == \
            "Policy document must be version 2012-10-17 or greater."
        parse_policy(text, K.IDENTITY)          # inline policies accept it


INVALID_TRUST = [
    # AWSCookbook/Security#2, aws-samples/aws-microservices-deploy-options#118
    ("file.json", "This policy contains invalid Json"),
    # kubernetes-sigs/external-dns#3085, hashicorp/terraform#34231
    (doc(trust(Resource="*")), "Has prohibited field Resource"),
    # terraform-aws-modules/terraform-aws-iam#47
    (doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),
     "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
     "The passed in policy has a statement with no principals!"),
    # databrickslabs/ucx#2269 (format); §3: no partial wildcards
    (doc(trust(Principal={"AWS": "arn:aws:iam::*:user/x"})),
     'Invalid principal in policy: "AWS":"arn:aws:iam::*:user/x"'),
    (doc(trust(Principal={"AWS": "arn:aws:sts::111122223333:assumed-role/R/*"})),
     'Invalid principal in policy: "AWS":"arn:aws:sts::111122223333:assumed-role/R/*"'),
    (doc(trust(Principal={"AWS": "12345"})), 'Invalid principal in policy: "AWS":"12345"'),
    (doc(trust(Principal={"Service": "ec2.*.com"})), 'Invalid principal in policy: "Service":"ec2.*.com"'),
    (doc(trust(Principal={"CanonicalUser": "79a59df9"})), 'Invalid principal in policy: "CanonicalUser":"79a59df9"'),
    # aws/aws-cdk#5746: IAM refuses a bare "*" Principal in AssumeRole policies
    (doc(trust(Principal="*")), 'Invalid principal in policy: "AWS":"*"'),
    # the trust-policy action family (versity/versitygw and localstack IAM tests)
    (doc(trust(Action="s3:GetObject")), "AssumeRole policy may only specify STS AssumeRole actions."),
    (doc(trust(Action="*")), "AssumeRole policy may only specify STS AssumeRole actions."),
    (doc(trust(Action="sts:*")), "AssumeRole policy may only specify STS AssumeRole actions."),
    (doc(trust(Action="sts:GetCallerIdentity")), "AssumeRole policy may only specify STS AssumeRole actions."),
]


@pytest.mark.parametrize(("text", "message"), INVALID_TRUST)
def test_invalid_trust_policy_is_refused_with_iams_message(text: str, message: str):
    err = error(text, K.TRUST)
    assert (err.code, err.message) == ("MalformedPolicyDocument", message)


def test_trust_policy_refuses_not_principal():
    st_ = {"Effect": "Deny", "NotPrincipal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole"}
    assert error(doc(st_), K.TRUST).message == "AssumeRole policy must not contain NotPrincipal field."


INVALID_RESOURCE = [
    # humanmade/S3-Uploads#191, spantaleev/matrix-docker-ansible-deploy#1869 (S3 console)
    (doc(allow()), "Missing required field Principal"),
    # cloud-custodian/cloud-custodian#4948, ministryofjustice/analytical-platform#4932 (S3)
    (doc(allow(Principal={"AWS": "arn:aws:iam::*:user/x"})), "Invalid principal in policy"),
    (doc(allow(Principal={"Users": "x"})), "Invalid principal in policy"),
    (doc(allow(Principal={})), "Invalid principal in policy"),
    (doc(allow(Principal={"AWS": []})), "Invalid principal in policy"),
    (doc(allow(Principal="alice")), "Invalid principal in policy"),
    # NotPrincipal only with Deny (IAM User Guide, "NotPrincipal")
    (doc(allow(NotPrincipal={"AWS": "111122223333"})), "Invalid principal in policy"),
]


@pytest.mark.parametrize(("text", "message"), INVALID_RESOURCE)
def test_invalid_resource_policy_is_refused(text: str, message: str):
    assert error(text, K.RESOURCE).message == message


def test_resource_policy_may_omit_resource_and_use_not_principal_with_deny():
    s = {"Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:user/a", "111122223333"]},
         "Action": "s3:*"}
    (parsed,) = parse_policy(doc(s), K.RESOURCE).statements
    assert parsed.resources is None and parsed.not_principal is not None
    assert parsed.not_principal.aws == ("arn:aws:iam::111122223333:user/a", "111122223333")


ORG = ("MalformedPolicyDocumentException",
       "The provided policy document does not meet the requirements of the specified policy type.")


@pytest.mark.parametrize(("kind", "text"), [
    (K.SCP, doc(allow(Principal="*"))),                          # no Principal in SCPs
    (K.SCP, doc(allow(), Id="x")),                               # SCP syntax has no Id
    (K.SCP, doc(allow(Sid="with space"))),
    (K.SCP, "not json"),
    (K.RCP, doc({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})),           # Principal required
    (K.RCP, doc({"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"})),
    (K.RCP, doc({"Effect": "Deny", "NotPrincipal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"})),
])
def test_organizations_policies_answer_with_organizations_error(kind: PolicyKind, text: str):
    err = error(text, kind)
    assert (err.code, err.message) == ORG


def test_scp_may_omit_resource():
    (s,) = parse_policy(doc({"Effect": "Deny", "Action": "ec2:*"}), K.SCP).statements
    assert s.resources is None


@pytest.mark.parametrize("kind", [K.BOUNDARY, K.SESSION])
def test_boundary_and_session_policies_follow_identity_rules(kind: PolicyKind):
    assert error(doc({"Effect": "Allow", "Action": "s3:*"}), kind).message == \
        "Policy statement must contain resources."
    assert error(doc(allow(Principal="*")), kind).message == \
        "Policy document should not specify a principal."


# -- quotas -------------------------------------------------------------------------------------


def test_quotas_are_iams():
    # "IAM and AWS STS quotas"; Organizations "Quotas": SCP/RCP 5,120
    assert (QUOTAS["managed"], QUOTAS["inline_user"], QUOTAS["inline_group"], QUOTAS["inline_role"],
            QUOTAS["trust"], QUOTAS["trust_max"], QUOTAS["scp"], QUOTAS["rcp"], QUOTAS["session"]) == \
        (6144, 2048, 5120, 10240, 2048, 4096, 5120, 5120, 2048)


def test_policy_size_ignores_whitespace():
    assert policy_size(' { "a" :\t"b c"\r\n} ') == len('{"a":"bc"}')


def _policy_of_size(size: int) -> str:
    base = doc(allow(Sid=""))
    padding = size - policy_size(base)
    return doc(allow(Sid="A" * padding))


def test_managed_policy_over_quota_is_limit_exceeded_whitespace_not_counted():
    # ministryofjustice/cloud-platform-environments#14473: "Cannot exceed quota for PolicySize: 6144"
    exact = _policy_of_size(6144)
    assert policy_size(exact) == 6144
    parse_policy(exact.replace(",", ",\n        "), K.IDENTITY, quota=6144)   # whitespace is free
    err = error(_policy_of_size(6145), quota=6144)
    assert (err.code, err.message) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144")


def test_trust_policy_quota_is_acl_size_per_role():
    # kubeflow/dashboard#29: "Cannot exceed quota for ACLSizePerRole: 2048"
    big = doc(trust(Condition={"StringEquals": {"sts:ExternalId": "x" * 2100}}))
    err = error(big, K.TRUST, quota=QUOTAS["trust"])
    assert (err.code, err.message) == ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")


def test_inline_aggregate_error_names_the_entity():
    # HumanCellAtlas/data-store#1963; ministryofjustice/cloud-platform#3121
    err = inline_size_error("group", "travis-ci", QUOTAS["inline_group"])
    assert (err.code, err.message) == ("LimitExceeded",
                                       "Maximum policy size of 5120 bytes exceeded for group travis-ci")


# -- properties -----------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["Allow", "Deny", "*", "s3:GetObject", "2012-10-17", "arn:aws:s3:::b"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["Version", "Statement", "Effect", "Action", "NotAction", "Resource",
                         "Principal", "NotPrincipal", "Condition", "Sid", "Id", "AWS", "StringLike",
                         "aws:username", "x"]), inner, max_size=4),
    max_leaves=12)


@given(_json, st.sampled_from(list(PolicyKind)))
def test_random_json_raises_nothing_but_policy_error(value: Any, kind: PolicyKind):
    try:
        parse_policy(json.dumps(value), kind)
    except PolicyError:
        pass


@given(st.text(max_size=40), st.sampled_from(list(PolicyKind)))
def test_random_text_raises_nothing_but_policy_error(text: str, kind: PolicyKind):
    try:
        parse_policy(text, kind)
    except PolicyError:
        pass


_name = st.from_regex(r"[A-Za-z][A-Za-z0-9*?]{0,8}", fullmatch=True)
_action = st.builds(lambda s, n: f"{s}:{n}", st.sampled_from(["s3", "iam", "ec2", "kms"]), _name) | st.just("*")
_resource = st.builds(lambda n: f"arn:aws:s3:::{n}/*", _name) | st.just("*")
_values = st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=6),
                   min_size=1, max_size=3)
_condition = st.dictionaries(
    st.sampled_from(["StringEquals", "StringLike", "ForAnyValue:StringNotLike", "ArnLikeIfExists"]),
    st.dictionaries(st.sampled_from(["aws:username", "aws:TagKeys", "s3:prefix"]), _values,
                    min_size=1, max_size=2),
    max_size=2)
_statement = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny"]),
     "Action": st.lists(_action, min_size=1, max_size=3),
     "Resource": st.lists(_resource, min_size=1, max_size=3)},
    optional={"Sid": st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True), "Condition": _condition})


@given(st.lists(_statement, min_size=1, max_size=4, unique_by=lambda s: s.get("Sid", id(s))))
def test_generated_valid_policy_round_trips(statements: list[dict[str, Any]]):
    policy = parse_policy(json.dumps({"Version": V, "Statement": statements}), K.IDENTITY)
    assert len(policy.statements) == len(statements)
    for i, (parsed, raw) in enumerate(zip(policy.statements, statements)):
        assert parsed.index == i and parsed.effect.value == raw["Effect"]
        assert parsed.actions == tuple(raw["Action"]) and parsed.resources == tuple(raw["Resource"])
        assert parsed.sid == raw.get("Sid")
        expected = [(op, key, tuple(vals)) for op, keys in raw.get("Condition", {}).items()
                    for key, vals in keys.items()]
        assert [(c.operator, c.key, c.values) for c in parsed.conditions] == expected
