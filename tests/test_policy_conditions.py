"""Condition operators, qualifiers, missing keys and policy variables (spec §5, §6), checked
against the IAM User Guide pages cited on each test."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudkeep.policy.conditions import NEGATED, conditions_match, missing_context_keys
from cloudkeep.policy.model import AuthzRequest, ConditionClause, PrincipalKind, RequestPrincipal
from cloudkeep.policy.variables import substitute

OPERATORS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
MULTI = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html"
LOGIC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html"
VARS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"

USER = RequestPrincipal(PrincipalKind.USER, "arn:aws:iam::111122223333:user/alice", "111122223333")


def req(context: dict[str, object] | None = None, multivalued: tuple[str, ...] = ()) -> AuthzRequest:
    ctx = {}
    for key, value in (context or {}).items():
        ctx[key.lower()] = (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]
    return AuthzRequest(USER, "s3:GetObject", "arn:aws:s3:::b/k", "111122223333", ctx,
                        frozenset(k.lower() for k in multivalued))


def clause(operator: str, key: str, *values: str) -> ConditionClause:
    qualifier = None
    base = operator
    if ":" in operator:
        qualifier, base = operator.split(":", 1)
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    return ConditionClause(operator, base, qualifier, if_exists, key, tuple(values))


def holds(operator: str, key: str, values, context=None, *, variables: bool = True, multivalued=()) -> bool:
    vals = (values,) if isinstance(values, str) else tuple(values)
    return conditions_match((clause(operator, key, *vals),), req(context, multivalued), variables=variables)


# ------------------------------------------------------------------ every operator, positive and negative

# base operator → (policy values, a request value that matches, one that does not)
SAMPLES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "StringEquals": (("abc",), "abc", "ABC"),
    "StringEqualsIgnoreCase": (("abc",), "ABC", "abd"),
    "StringLike": (("a*c?",), "abbcd", "abbc"),
    "NumericEquals": (("10",), "10.0", "11"),
    "NumericLessThan": (("10",), "9.5", "10"),
    "NumericLessThanEquals": (("10",), "10", "10.01"),
    "NumericGreaterThan": (("10",), "11", "10"),
    "NumericGreaterThanEquals": (("10",), "10", "9"),
    "DateEquals": (("2020-01-01T00:00:00Z",), "2020-01-01T01:00:00+01:00", "2020-01-01T00:00:01Z"),
    "DateLessThan": (("2020-01-01T00:00:00Z",), "1577836799", "2020-01-01T00:00:00Z"),
    "DateLessThanEquals": (("2020-01-01T00:00:00Z",), "1577836800", "2020-01-01T00:00:00.001Z"),
    "DateGreaterThan": (("2020-01-01T00:00:00Z",), "2020-01-01T00:00:01Z", "2019-12-31T23:59:59Z"),
    "DateGreaterThanEquals": (("2020-01-01T00:00:00Z",), "2019-12-31T19:00:00-05:00", "1577836799"),
    "Bool": (("true",), "true", "false"),
    "BinaryEquals": (("QmluYXJ5VmFsdWU=",), "QmluYXJ5VmFsdWU=", "T3RoZXJWYWx1ZQ=="),
    "IpAddress": (("203.0.113.0/24",), "203.0.113.9", "203.0.114.1"),
    "ArnEquals": (("arn:aws:iam::111122223333:role/*",), "arn:aws:iam::111122223333:role/a/b", "arn:aws:iam::999999999999:role/a"),
    "ArnLike": (("arn:aws:iam::111122223333:role/*",), "arn:aws:iam::111122223333:role/a/b", "arn:aws:iam::999999999999:role/a"),
}
ALL_BASES = sorted(SAMPLES) + sorted(NEGATED)


def sample(base: str) -> tuple[tuple[str, ...], str, str, bool]:
    negated = base in NEGATED
    values, yes, no = SAMPLES[NEGATED.get(base, base)]
    return values, yes, no, negated


def test_every_documented_operator_is_covered_by_these_tests():
    # the operator table of the condition operators page (OPERATORS), Null tested separately
    documented = {
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
        "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
        "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
        "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
        "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
    }
    assert set(ALL_BASES) == documented


@pytest.mark.parametrize("base", ALL_BASES)
def test_operator_matches_its_sample_and_rejects_the_other_value(base):
    # OPERATORS: each operator's definition; negated operators are the negation of the positive one
    values, yes, no, negated = sample(base)
    assert holds(base, "k", values, {"k": yes}) is (not negated)
    assert holds(base, "k", values, {"k": no}) is negated


def _expected(negated: bool, qualifier: str | None, if_exists: bool, request_values) -> bool:
    """§5.2/§5.4 written out: what a clause must answer for the given request values, where
    the string "M" stands for a value the positive operator matches and "N" for one it doesn't."""
    if not request_values:                        # absent or empty
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return if_exists
        return if_exists or negated
    per_value = [(v == "M") != negated for v in request_values]
    if qualifier == "ForAllValues":
        return all(per_value)
    if qualifier == "ForAnyValue":
        return any(per_value)
    return per_value[0]


SCENARIOS = {"absent": None, "empty": [], "match": ["M"], "nomatch": ["N"], "mixed": ["M", "N"],
             "all-match": ["M", "M"], "none-match": ["N", "N"]}


# plain operators on several request values are undocumented: tested on their own below
COMBINATIONS = [(b, q, e, s) for b in ALL_BASES for q in (None, "ForAllValues", "ForAnyValue")
                for e in (False, True) for s in sorted(SCENARIOS)
                if not (q is None and SCENARIOS[s] is not None and len(SCENARIOS[s]) > 1)]


@pytest.mark.parametrize("base,qualifier,if_exists,scenario", COMBINATIONS)
def test_operator_qualifier_and_ifexists_combination_follows_the_documented_rules(base, qualifier, if_exists, scenario):
    # OPERATORS ("...IfExists", "Condition keys that don't exist") and MULTI (ForAllValues /
    # ForAnyValue: absent or empty → true / false; negated operators per value)
    shape = SCENARIOS[scenario]
    values, yes, no, negated = sample(base)
    operator = (f"{qualifier}:" if qualifier else "") + base + ("IfExists" if if_exists else "")
    context = {} if shape is None else {"k": [yes if v == "M" else no for v in shape]}
    assert holds(operator, "k", values, context) is _expected(negated, qualifier, if_exists, shape)


# ------------------------------------------------------------------ block logic and missing keys

def test_multiple_values_for_one_key_are_ored():
    # LOGIC: "If a single condition operator includes multiple values for a context key, those values are evaluated using a logical OR"
    assert holds("StringEquals", "aws:username", ["bob", "alice"], {"aws:username": "alice"})


def test_negated_operator_values_are_nored():
    # LOGIC: "with negated matching condition operators ... evaluated using a NOR"
    assert not holds("StringNotEquals", "aws:username", ["bob", "alice"], {"aws:username": "alice"})
    assert holds("StringNotEquals", "aws:username", ["bob", "alice"], {"aws:username": "carol"})


def test_different_operators_and_keys_are_anded():
    # LOGIC: "multiple condition operators, or multiple keys ... evaluated using a logical AND"
    block = (clause("StringEquals", "aws:username", "alice"), clause("Bool", "aws:SecureTransport", "true"))
    assert conditions_match(block, req({"aws:username": "alice", "aws:securetransport": "true"}), variables=True)
    assert not conditions_match(block, req({"aws:username": "alice", "aws:securetransport": "false"}), variables=True)
    assert conditions_match((), req(), variables=True)


def test_condition_key_names_are_case_insensitive_including_tag_keys():
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html ("Condition key names are not case-sensitive")
    assert holds("StringEquals", "aws:ResourceTag/Owner", "alice", {"aws:resourcetag/owner": "alice"})
    assert holds("StringEquals", "AWS:USERNAME", "alice", {"aws:username": "alice"})


def test_missing_key_makes_positive_operator_false_and_negated_operator_true():
    # OPERATORS: "If the key ... is not present ... the condition evaluates to false"; negated match on a missing key is true
    assert not holds("StringEquals", "aws:PrincipalTag/team", "x", {})
    assert holds("StringNotEquals", "aws:PrincipalTag/team", "x", {})
    assert holds("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {})


def test_deny_with_string_not_equals_if_exists_still_applies_when_key_missing():
    # OPERATORS (...IfExists): absent key → the condition is true, so a Deny statement with it applies
    assert holds("StringNotEqualsIfExists", "ec2:InstanceType", ["t1.*"], {})
    assert not holds("StringNotEqualsIfExists", "ec2:InstanceType", ["t2.micro"], {"ec2:InstanceType": "t2.micro"})


def test_null_true_means_the_key_is_absent_and_false_means_present():
    # OPERATORS ("Condition operator to check existence of condition keys")
    assert holds("Null", "aws:TokenIssueTime", "true", {})
    assert not holds("Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"})
    assert holds("Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"})
    assert not holds("Null", "aws:TokenIssueTime", "false", {})
    assert holds("Null", "aws:TagKeys", "true", {"aws:TagKeys": []})
    assert not holds("Null", "k", "maybe", {})


@pytest.mark.parametrize("operator", ["NullIfExists", "ForAllValues:Null", "ForAnyValue:Null"])
def test_null_refuses_ifexists_and_set_qualifiers(operator):
    # OPERATORS: "...IfExists ... (except the Null condition)"
    with pytest.raises(ValueError):
        holds(operator, "k", "true", {})


@pytest.mark.parametrize("operator", ["StringEqualz", "NumericNotLessThan", "DateLike", "ForSomeValues:StringEquals"])
def test_unknown_operator_raises_instead_of_passing(operator):
    # CONVENTIONS: an unknown operator is an error, never silently true or false
    with pytest.raises(ValueError):
        holds(operator, "k", "x", {"k": "x"})


def test_missing_context_keys_lists_tested_keys_and_variables_the_request_lacks():
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html (MissingContextValues)
    block = (clause("StringEquals", "aws:ResourceTag/Owner", "${aws:username}"),
             clause("Bool", "aws:MultiFactorAuthPresent", "true"),
             clause("StringLike", "s3:prefix", "${aws:userid, 'x'}/*"),
             clause("IpAddress", "aws:SourceIp", "10.0.0.0/8"))
    request = req({"aws:sourceip": "10.0.0.1"})
    assert missing_context_keys(block, request) == {"aws:ResourceTag/Owner", "aws:MultiFactorAuthPresent",
                                                    "s3:prefix", "aws:username"}


# ------------------------------------------------------------------ string operators

def test_string_equals_is_case_sensitive_and_never_interprets_wildcards():
    # OPERATORS (String condition operators): StringEquals "Exact matching, case sensitive"
    assert not holds("StringEquals", "k", "a*", {"k": "abc"})
    assert holds("StringEquals", "k", "a*", {"k": "a*"})
    assert not holds("StringEquals", "k", "Alice", {"k": "alice"})


def test_string_like_wildcards_match_any_run_and_one_character_and_are_case_sensitive():
    # OPERATORS: StringLike "Case-sensitive matching. The values can include multi-character match wildcards (*) and single-character match wildcards (?)"
    assert holds("StringLike", "s3:prefix", "home/*", {"s3:prefix": "home/a/b:c"})
    assert holds("StringLike", "s3:prefix", "home/", {"s3:prefix": "home/"})
    assert holds("StringLike", "s3:prefix", "h?me", {"s3:prefix": "home"})
    assert not holds("StringLike", "s3:prefix", "h?me", {"s3:prefix": "hoome"})
    assert not holds("StringLike", "s3:prefix", "Home/*", {"s3:prefix": "home/x"})
    assert holds("StringLike", "k", "a.b", {"k": "a.b"}) and not holds("StringLike", "k", "a.b", {"k": "axb"})


def test_string_equals_ignore_case_folds_case():
    # OPERATORS: StringEqualsIgnoreCase "Exact matching, ignoring case"
    assert holds("StringEqualsIgnoreCase", "aws:PrincipalTag/team", "Dev", {"aws:PrincipalTag/team": "DEV"})
    assert not holds("StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", "Dev", {"aws:PrincipalTag/team": "dev"})


# ------------------------------------------------------------------ numeric, date, bool, binary, IP

def test_numeric_compares_integers_and_decimals_numerically():
    # OPERATORS (Numeric condition operators)
    assert holds("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "9"})
    assert not holds("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "100"})  # not string order
    assert holds("NumericEquals", "k", "1.50", {"k": "1.5"})


@pytest.mark.parametrize("policy,value", [("ten", "10"), ("10", "ten"), ("0x10", "16"), ("1e1", "10"), ("", "0")])
def test_unparseable_numbers_make_the_comparison_false(policy, value):
    # OPERATORS (Numeric): "integer or decimal"; anything else never matches (spec §5.3 [derived])
    assert not holds("NumericEquals", "k", policy, {"k": value})
    assert not holds("NumericLessThanEquals", "k", policy, {"k": value})


def test_dates_compare_instants_across_offsets_and_epoch_seconds():
    # OPERATORS (Date condition operators): W3C ISO 8601 date formats or epoch (UNIX) time
    assert holds("DateEquals", "aws:CurrentTime", "2020-06-30T12:00:00+02:00", {"aws:CurrentTime": "2020-06-30T10:00:00Z"})
    assert holds("DateGreaterThan", "aws:CurrentTime", "2020-06-30", {"aws:CurrentTime": "2020-06-30T00:00:01Z"})
    assert holds("DateLessThan", "aws:EpochTime", "2020-01-01T00:00:00Z", {"aws:EpochTime": "1577836799"})
    assert holds("DateEquals", "aws:CurrentTime", "1577836800", {"aws:CurrentTime": "2020-01-01T00:00:00Z"})
    assert holds("DateLessThan", "aws:CurrentTime", "2020-02", {"aws:CurrentTime": "2020-01-31T23:59:59Z"})


@pytest.mark.parametrize("policy,value", [("yesterday", "2020-01-01T00:00:00Z"), ("2020-01-01T00:00:00Z", "soon"),
                                           ("2020-13-01", "2020-01-01"), ("2020-01-*", "2020-01-05")])
def test_unparseable_dates_and_wildcards_make_the_comparison_false(policy, value):
    # OPERATORS (Date): no wildcards; unparseable values never match (spec §5.3 [derived])
    assert not holds("DateEquals", "k", policy, {"k": value})
    assert not holds("DateGreaterThanEquals", "k", policy, {"k": value})
    assert holds("DateNotEquals", "k", policy, {"k": value})


def test_bool_accepts_true_and_false_in_any_case_and_nothing_else():
    # OPERATORS (Boolean condition operators)
    assert holds("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "false"})
    assert holds("Bool", "aws:SecureTransport", "True", {"aws:SecureTransport": "true"})
    assert not holds("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "yes"})
    assert not holds("Bool", "aws:SecureTransport", "1", {"aws:SecureTransport": "true"})


def test_binary_equals_compares_decoded_bytes():
    # OPERATORS (Binary condition operators): "the value ... must be base-64 encoded"
    assert holds("BinaryEquals", "k", "QmluYXJ5VmFsdWU=", {"k": "QmluYXJ5VmFsdWU="})
    assert not holds("BinaryEquals", "k", "not base64!", {"k": "not base64!"})


def test_ip_address_matches_cidr_blocks_ipv4_and_ipv6():
    # OPERATORS (IP address condition operators): "IPv4 or IPv6 ... CIDR format"
    assert holds("IpAddress", "aws:SourceIp", ["192.0.2.0/24", "2001:db8::/32"], {"aws:SourceIp": "2001:db8:1::5"})
    assert holds("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.255"})
    assert holds("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.1"})


def test_ip_address_without_prefix_is_a_single_host():
    # OPERATORS: no prefix ⇒ /32; IPv6 /128 assumed (spec §5.3)
    assert holds("IpAddress", "aws:SourceIp", "203.0.113.7", {"aws:SourceIp": "203.0.113.7"})
    assert not holds("IpAddress", "aws:SourceIp", "203.0.113.7", {"aws:SourceIp": "203.0.113.8"})
    assert holds("IpAddress", "aws:SourceIp", "2001:db8::1", {"aws:SourceIp": "2001:db8::1"})
    assert not holds("IpAddress", "aws:SourceIp", "2001:db8::1", {"aws:SourceIp": "2001:db8::2"})


def test_ip_family_mismatch_and_bad_addresses_never_match():
    # spec §5.3: family mismatch never matches; unparseable values make the comparison false
    assert not holds("IpAddress", "aws:SourceIp", "::/0", {"aws:SourceIp": "203.0.113.7"})
    assert not holds("IpAddress", "aws:SourceIp", "0.0.0.0/0", {"aws:SourceIp": "::ffff:203.0.113.7"})
    assert not holds("IpAddress", "aws:SourceIp", "0.0.0.0/0", {"aws:SourceIp": "not-an-ip"})
    assert not holds("IpAddress", "aws:SourceIp", "300.0.0.0/8", {"aws:SourceIp": "10.0.0.1"})


# ------------------------------------------------------------------ ARN operators

def test_arn_like_compares_the_six_parts_one_by_one():
    # OPERATORS (ARN condition operators): "Each of the six colon-delimited components of the ARN is checked separately"
    value = "arn:aws:s3:us-east-2:999999999999:store/abc:111122223333:f/x"
    pattern = "arn:aws:s:*:111122223333:f/*"
    assert not holds("ArnLike", "aws:SourceArn", pattern, {"aws:SourceArn": value})
    assert holds("StringLike", "aws:SourceArn", "arn:aws:s*:*:111122223333:f/*", {"aws:SourceArn": value})
    assert not holds("ArnLike", "aws:SourceArn", "arn:aws:s3:*:111122223333:f/*", {"aws:SourceArn": value})


def test_arn_operators_are_case_sensitive_and_treat_colons_after_the_fifth_as_ordinary():
    # OPERATORS (ARN): case-sensitive; resource part may contain colons
    arn = "arn:aws:logs:us-east-1:111122223333:log-group:g:*"
    assert holds("ArnEquals", "aws:SourceArn", "arn:aws:logs:*:111122223333:log-group:*", {"aws:SourceArn": arn})
    assert not holds("ArnEquals", "aws:SourceArn", "arn:aws:LOGS:*:111122223333:*", {"aws:SourceArn": arn})
    assert holds("ArnLike", "aws:SourceArn", "arn:aws:logs:us-east-?:*:*", {"aws:SourceArn": arn})


def test_arn_values_with_fewer_than_six_parts_never_match():
    # OPERATORS (ARN): the six parts are compared; a malformed ARN on either side matches nothing
    assert not holds("ArnLike", "aws:SourceArn", "arn:aws:s3:*", {"aws:SourceArn": "arn:aws:s3:::b"})
    assert not holds("ArnLike", "aws:SourceArn", "arn:aws:s3:::*", {"aws:SourceArn": "not-an-arn"})
    assert holds("ArnNotLike", "aws:SourceArn", "arn:aws:s3:*", {"aws:SourceArn": "arn:aws:s3:::b"})


# ------------------------------------------------------------------ multivalued keys (documented examples)

def test_for_all_values_string_not_like_is_true_only_if_no_value_matches_any_pattern():
    # MULTI: ForAllValues:StringNotLike ["key1*","key2*"] on aws:TagKeys
    patterns = ["key1*", "key2*"]
    assert holds("ForAllValues:StringNotLike", "aws:TagKeys", patterns, {"aws:TagKeys": ["a", "b"]}, multivalued=["aws:TagKeys"])
    assert not holds("ForAllValues:StringNotLike", "aws:TagKeys", patterns, {"aws:TagKeys": ["a", "key2x"]}, multivalued=["aws:TagKeys"])
    assert holds("ForAllValues:StringNotLike", "aws:TagKeys", patterns, {})


def test_for_all_values_is_true_for_an_absent_key_and_for_any_value_false():
    # MULTI: "If the key ... is missing or resolves to an empty data set, the condition returns true" (ForAllValues) / "false" (ForAnyValue)
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", ["environment"], {})
    assert not holds("ForAnyValue:StringEquals", "aws:TagKeys", ["environment"], {})
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", ["environment"], {"aws:TagKeys": []})
    assert not holds("ForAnyValue:StringEquals", "aws:TagKeys", ["environment"], {"aws:TagKeys": []})


def test_for_all_values_requires_every_value_in_the_policy_set():
    # MULTI: ForAllValues:StringEquals ["environment","cost-center"]
    allowed = ["environment", "cost-center"]
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", allowed, {"aws:TagKeys": ["environment"]})
    assert not holds("ForAllValues:StringEquals", "aws:TagKeys", allowed, {"aws:TagKeys": ["environment", "owner"]})
    assert holds("ForAnyValue:StringEquals", "aws:TagKeys", allowed, {"aws:TagKeys": ["environment", "owner"]})


def test_plain_operator_on_several_values_matches_if_any_value_matches():
    # spec §5.4 [ambiguous]: undocumented; we define it as "some pair matches" (NOR for negated)
    assert holds("StringEquals", "aws:CalledVia", "athena.amazonaws.com", {"aws:CalledVia": ["x", "athena.amazonaws.com"]})
    assert not holds("StringNotEquals", "aws:CalledVia", "athena.amazonaws.com", {"aws:CalledVia": ["x", "athena.amazonaws.com"]})
    assert holds("StringNotEquals", "aws:CalledVia", "athena.amazonaws.com", {"aws:CalledVia": ["x", "y"]})


# ------------------------------------------------------------------ policy variables in conditions

def test_variable_in_string_condition_is_substituted():
    # VARS ("Where you can use policy variables": Condition element with string operators)
    ctx = {"aws:username": "alice", "aws:ResourceTag/Owner": "alice"}
    assert holds("StringEquals", "aws:ResourceTag/Owner", "${aws:username}", ctx)
    assert not holds("StringEquals", "aws:ResourceTag/Owner", "${aws:username}", {**ctx, "aws:username": "bob"})
    assert holds("StringLike", "s3:prefix", "home/${aws:username}/*", {"aws:username": "alice", "s3:prefix": "home/alice/x"})


def test_variable_names_are_case_insensitive():
    # VARS: "the variable name is not case sensitive"
    assert holds("StringEquals", "k", "${AWS:UserName}", {"aws:username": "alice", "k": "alice"})


def test_substituted_value_is_literal_in_string_like():
    # VARS: substituted values are literal text; a user called "a*" does not become a wildcard
    ctx = {"aws:username": "a*", "s3:prefix": "abc"}
    assert not holds("StringLike", "s3:prefix", "${aws:username}", ctx)
    assert holds("StringLike", "s3:prefix", "${aws:username}", {**ctx, "s3:prefix": "a*"})


def test_special_character_variables_insert_literal_characters():
    # VARS ("Special characters": ${*}, ${?}, ${$})
    assert holds("StringLike", "k", "a${*}b", {"k": "a*b"})
    assert not holds("StringLike", "k", "a${*}b", {"k": "axxb"})
    assert holds("StringLike", "k", "${?}${$}", {"k": "?$"})
    assert not holds("StringLike", "k", "${?}", {"k": "x"})


def test_variable_default_is_used_when_key_is_absent():
    # VARS ("Specifying default values"): ${aws:PrincipalTag/team, 'company-wide'}
    value = "${aws:PrincipalTag/team, 'company-wide'}"
    assert holds("StringEquals", "aws:ResourceTag/team", value, {"aws:ResourceTag/team": "company-wide"})
    assert holds("StringEquals", "aws:ResourceTag/team", value, {"aws:ResourceTag/team": "dev", "aws:PrincipalTag/team": "dev"})


def test_unresolvable_variable_never_matches_so_negated_operators_succeed():
    # VARS ("Policy variables with no value") / spec §6
    assert not holds("StringEquals", "k", "${aws:username}", {"k": "${aws:username}"})
    assert not holds("StringLike", "k", "*${aws:username}", {"k": "x"})
    assert holds("StringNotEquals", "k", "${aws:username}", {"k": "x"})
    assert not holds("ArnLike", "k", "arn:aws:iam::${aws:PrincipalAccount}:role/*", {"k": "arn:aws:iam::111122223333:role/x"})


def test_multivalued_key_cannot_be_used_as_a_variable():
    # VARS: "You can't use a multivalued context key as a variable"
    ctx = {"aws:CalledVia": "athena.amazonaws.com", "k": "athena.amazonaws.com"}
    assert holds("StringEquals", "k", "${aws:CalledVia}", ctx)
    assert not holds("StringEquals", "k", "${aws:CalledVia}", ctx, multivalued=["aws:CalledVia"])


def test_variable_in_arn_condition_is_substituted_in_any_part():
    # VARS: ARN operators accept variables
    ctx = {"aws:PrincipalAccount": "111122223333", "aws:SourceArn": "arn:aws:iam::111122223333:role/x"}
    assert holds("ArnLike", "aws:SourceArn", "arn:aws:iam::${aws:PrincipalAccount}:role/*", ctx)
    assert not holds("ArnLike", "aws:SourceArn", "arn:aws:iam::${aws:PrincipalAccount}:role/*",
                     {**ctx, "aws:PrincipalAccount": "999999999999"})


def test_variables_are_not_substituted_in_numeric_date_ip_binary_or_bool_values():
    # VARS: variables are for string and ARN operators only (spec §6)
    ctx = {"v": "10", "k": "10", "ip": "10.0.0.1", "d": "2020-01-01T00:00:00Z"}
    assert not holds("NumericEquals", "k", "${v}", ctx)
    assert not holds("DateEquals", "d", "${d}", ctx)
    assert not holds("IpAddress", "ip", "${ip}", ctx)
    assert not holds("Bool", "k", "${v}", {"v": "true", "k": "true"})


def test_version_2008_treats_variables_as_literal_text():
    # VARS: "policy variables ... only in policies with Version 2012-10-17"; earlier versions keep them as text
    ctx = {"aws:username": "alice", "k": "alice"}
    assert not holds("StringEquals", "k", "${aws:username}", ctx, variables=False)
    assert holds("StringEquals", "k", "${aws:username}", {**ctx, "k": "${aws:username}"}, variables=False)


def test_substitute_handles_defaults_specials_quotes_and_failures():
    # VARS ("Specifying default values", "Special characters")
    r = req({"aws:username": "alice"}, multivalued=["aws:TagKeys"])
    assert substitute("home/${aws:username}/", r) == "home/alice/"
    assert substitute("${ aws:UserName }", r) == "alice"
    assert substitute("${aws:userid, 'none'}", r) == "none"
    assert substitute("${aws:userid,'it''s'}", r) == "it's"
    assert substitute("${*}${?}${$}", r) == "*?$"
    assert substitute("${aws:userid}", r) is None
    assert substitute("${aws:TagKeys}", r) is None
    assert substitute("a${b", r) == "a${b"
    assert substitute("plain", r) == "plain"
    assert substitute("${aws:username, '${*}'}", req()) == "${*}"     # one round only


# ------------------------------------------------------------------ properties

def reference_glob(pattern: str, text: str) -> bool:
    """Naive glob: ``*`` any run, ``?`` one character, everything else itself."""
    if not pattern:
        return not text
    head = pattern[0]
    if head == "*":
        return any(reference_glob(pattern[1:], text[i:]) for i in range(len(text) + 1))
    if not text:
        return False
    if head == "?" or head == text[0]:
        return reference_glob(pattern[1:], text[1:])
    return False


@given(st.text("ab*?.\n:/", max_size=8), st.text("ab.\n:/*?", max_size=10))
def test_string_like_agrees_with_a_reference_glob(pattern, text):
    # OPERATORS (StringLike): * and ? wildcards anywhere in the value
    assert holds("StringLike", "k", pattern, {"k": text}) == reference_glob(pattern, text)
    assert holds("StringNotLike", "k", pattern, {"k": text}) != reference_glob(pattern, text)


@given(st.lists(st.sampled_from("abcd"), max_size=4), st.one_of(st.none(), st.lists(st.sampled_from("abcde"), max_size=4)))
def test_set_operators_agree_with_their_definitions(policy, request_values):
    # MULTI: ForAllValues = every request value in the policy set (vacuous when absent/empty);
    # ForAnyValue = some request value in it; negated operators test "in none of them"
    context = {} if request_values is None else {"aws:TagKeys": request_values}
    values = request_values or []
    p = set(policy)
    for_all = all(v in p for v in values)
    for_any = any(v in p for v in values)
    for_all_not = all(v not in p for v in values)
    for_any_not = any(v not in p for v in values)
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", policy, context) == for_all
    assert holds("ForAnyValue:StringEquals", "aws:TagKeys", policy, context) == for_any
    assert holds("ForAllValues:StringNotEquals", "aws:TagKeys", policy, context) == for_all_not
    assert holds("ForAnyValue:StringNotEquals", "aws:TagKeys", policy, context) == for_any_not


@given(st.text("ab:*?", max_size=14), st.text("ab:", max_size=14))
def test_arn_like_agrees_with_part_by_part_reference(pattern, value):
    # OPERATORS (ARN): six parts, each compared with the glob on its own
    want_parts = pattern.split(":", 5)
    got_parts = value.split(":", 5)
    expected = (len(want_parts) == 6 and len(got_parts) == 6
                and all(reference_glob(w, g) for w, g in zip(want_parts, got_parts)))
    assert holds("ArnLike", "k", pattern, {"k": value}) == expected


def test_regex_metacharacters_in_values_are_literal():
    # OPERATORS: only * and ? are wildcards
    for ch in r".^$+()[]{}|\\":
        assert holds("StringLike", "k", f"a{ch}*", {"k": f"a{ch}zz"})
        assert not holds("StringLike", "k", f"a{ch}", {"k": "ab"})
