"""Server-side input validation (wire/validate.py) against the real IAM, STS and KMS models."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudkeep.wire.errors import ValidationError
from cloudkeep.wire.model import load_service
from cloudkeep.wire.validate import MAX_ERRORS, compile_pattern, java_to_python, validate

IAM, STS, KMS = load_service("iam"), load_service("sts"), load_service("kms")
PROJECT_SERVICES = ("iam", "sts", "kms", "cloudtrail", "config", "organizations", "cognito-idp",
                    "shield", "acm", "support", "ce", "s3", "accessanalyzer", "artifact", "ec2")


def _input(model, operation: str) -> StructureShape:
    return model.operation_model(operation).input_shape


def _check(model, operation: str, params: dict[str, Any]) -> None:
    validate(_input(model, operation), params, protocol=model.metadata["protocol"])


def _message(model, operation: str, params: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        _check(model, operation, params)
    return info.value.message


# --- accepted input ---------------------------------------------------------------------------

def test_valid_create_user_passes() -> None:
    _check(IAM, "CreateUser", {"UserName": "alice+ops@example.com", "Path": "/eng/",
                               "Tags": [{"Key": "team", "Value": "sec ops"}, {"Key": "ключ", "Value": ""}]})


def test_unknown_members_and_none_optionals_are_ignored() -> None:
    _check(IAM, "CreateUser", {"UserName": "bob", "Path": None, "NotAMember": object()})


def test_operation_without_input_accepts_anything() -> None:
    validate(None, {"x": 1}, protocol="query")


# --- wording of each constraint ---------------------------------------------------------------

def test_iam_name_pattern_uses_iams_own_message() -> None:
    # https://github.com/app-sre/qontract-reconcile/pull/2640 (real AWS response)
    assert _message(IAM, "CreateUser", {"UserName": "a b"}) == (
        "The specified value for userName is invalid. It must contain only alphanumeric "
        "characters and/or the following: +=,.@_-")


def test_generic_pattern_error_echoes_value_where_the_service_does() -> None:
    # https://github.com/aws-actions/configure-aws-credentials/issues/1306 (real AWS response)
    message = _message(STS, "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/r",
                                           "RoleSessionName": "dependabot[bot]"})
    assert message == ("1 validation error detected: Value 'dependabot[bot]' at 'roleSessionName' "
                       "failed to satisfy constraint: Member must satisfy regular expression "
                       "pattern: [\\w+=,.@-]*")


def test_too_long_user_name() -> None:
    assert _message(IAM, "CreateUser", {"UserName": "a" * 65}) == (
        "1 validation error detected: Value at 'userName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64")


def test_length_error_wins_over_iam_name_message() -> None:
    message = _message(IAM, "CreateUser", {"UserName": "a b" * 30})
    assert message.startswith("1 validation error detected: Value at 'userName'")
    assert "less than or equal to 64" in message


def test_missing_required_member() -> None:
    assert _message(IAM, "CreateUser", {}) == (
        "1 validation error detected: Value at 'userName' failed to satisfy constraint: "
        "Member must not be null")
    assert _message(KMS, "DescribeKey", {}) == (
        "1 validation error detected: Value null at 'keyId' failed to satisfy "
        "constraint: Member must not be null")


def test_bad_enum_lists_the_models_values() -> None:
    assert _message(IAM, "UpdateAccessKey", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "On"}) == (
        "1 validation error detected: Value at 'status' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Active, Inactive, Expired]")
    assert "Value 'X' at 'keyUsage'" in _message(KMS, "CreateKey", {"KeyUsage": "X"})


@pytest.mark.parametrize(("items", "bound"), [(1001, "less than or equal to 1000"),
                                              (0, "greater than or equal to 1")])
def test_max_items_out_of_range(items: int, bound: str) -> None:
    assert _message(IAM, "ListUsers", {"MaxItems": items}) == (
        "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: "
        f"Member must have value {bound}")


def test_numbers_are_quoted_when_echoed() -> None:
    message = _message(STS, "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/r",
                                           "RoleSessionName": "session", "DurationSeconds": 10})
    assert "Value '10' at 'durationSeconds'" in message


def test_nested_tag_errors_name_the_element() -> None:
    tags = [{"Key": "ok", "Value": "bad(value)"}, {"Value": "v"}]
    assert _message(IAM, "CreateUser", {"UserName": "u", "Tags": tags}) == (
        "2 validation errors detected: Value at 'tags.1.member.value' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*; "
        "Value at 'tags.2.member.key' failed to satisfy constraint: Member must not be null")
    assert "Value null at 'tags.1.member.tagValue'" in _message(KMS, "CreateKey", {"Tags": [{"TagKey": "k"}]})


def test_list_length_is_reported_before_its_elements() -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(50)] + [{"Key": "bad#", "Value": "v"}]
    assert _message(IAM, "TagUser", {"UserName": "u", "Tags": tags}) == (
        "2 validation errors detected: Value at 'tags' failed to satisfy constraint: Member must "
        "have length less than or equal to 50; Value at 'tags.51.member.key' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+")


def test_several_errors_in_one_message_in_model_order() -> None:
    message = _message(STS, "AssumeRole", {"RoleArn": "arn", "RoleSessionName": "a:b", "DurationSeconds": 1})
    assert message == (
        "3 validation errors detected: "
        "Value 'arn' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; "
        "Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [\\w+=,.@-]*; "
        "Value '1' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")


def test_at_most_ten_errors_are_listed() -> None:
    tags = [{"Key": "bad#", "Value": "v"} for _ in range(60)]
    message = _message(IAM, "CreateUser", {"UserName": "u", "Tags": tags})
    assert message.startswith(f"{MAX_ERRORS} validation errors detected: Value at 'tags' ")
    assert message.count("failed to satisfy constraint") == MAX_ERRORS


def test_list_of_scalars_is_reported_once_with_every_member_constraint() -> None:
    message = _message(KMS, "Encrypt", {"KeyId": "k", "Plaintext": b"x", "GrantTokens": ["ok", ""]})
    assert message == (
        "1 validation error detected: Value '[ok, ]' at 'grantTokens' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 8192, "
        "Member must have length greater than or equal to 1]")
    assert _message(IAM, "UntagUser", {"UserName": "u", "TagKeys": ["a", "b#"]}).endswith(
        "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+, Member must not be null]")


def test_sensitive_value_is_never_echoed() -> None:
    token = "abc"   # WebIdentityToken is sensitive and needs at least 4 characters
    message = _message(STS, "AssumeRoleWithWebIdentity", {
        "RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "session", "WebIdentityToken": token})
    assert message == ("1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
                       "constraint: Member must have length greater than or equal to 4")
    secret = "hunter2" * 5   # KeyStorePassword (sensitive) allows at most 32 characters
    message = _message(KMS, "CreateCustomKeyStore", {"CustomKeyStoreName": "n", "KeyStorePassword": secret})
    assert "hunter2" not in message and "Value at 'keyStorePassword'" in message
    assert "Value at 'plaintext'" in _message(KMS, "Encrypt", {"KeyId": "k", "Plaintext": b""})


def test_wrong_python_types_are_validation_errors() -> None:
    assert "Member must be of type integer" in _message(IAM, "ListUsers", {"MaxItems": "10"})
    assert "Member must be a list" in _message(IAM, "CreateUser", {"UserName": "u", "Tags": "x"})
    with pytest.raises(ValidationError):
        _check(IAM, "CreateUser", ["not", "a", "mapping"])  # type: ignore[arg-type]


def test_json_wire_identity_is_validation_exception() -> None:
    with pytest.raises(ValidationError) as info:
        _check(KMS, "DescribeKey", {})
    assert info.value.wire_identity("json") == ("ValidationException", 400)
    assert info.value.wire_identity("query") == ("ValidationError", 400)


# --- Java patterns ----------------------------------------------------------------------------

def test_java_patterns_match_the_whole_value() -> None:
    assert compile_pattern(r"[a-z]+").fullmatch("abc1") is None


def test_java_unicode_properties_and_ascii_word_class() -> None:
    tag = compile_pattern(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+")
    assert tag.fullmatch("日本 語\u00a0١٢") and not tag.fullmatch("a#")
    word = compile_pattern(r"[\w+=,.@-]+")
    assert word.fullmatch("a_b-1") and not word.fullmatch("é")   # Java's \w is ASCII


def test_java_surrogate_pairs_and_literal_dash_after_class_escape() -> None:
    rx = compile_pattern(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*")
    assert rx.fullmatch("ok \U0001F600") and not rx.fullmatch("\x01")
    assert java_to_python(r"[a-z\d-_]") == r"[a-z\d\-_]"


def test_java_dot_excludes_all_line_terminators() -> None:
    assert compile_pattern(".*").fullmatch("a\u2028b") is None
    assert compile_pattern(".*").fullmatch("a\tb")


@pytest.mark.parametrize("service", PROJECT_SERVICES)
def test_every_pattern_of_served_models_translates(service: str) -> None:
    model = load_service(service)
    failures = [name for name in model.shape_names
                if "pattern" in (meta := model.shape_for(name).metadata)
                and compile_pattern(meta["pattern"]) is None]
    assert failures == []


# --- properties -------------------------------------------------------------------------------

def _valid_value(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values within every constraint of ``shape`` (what AWS and botocore both accept)."""
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        required = set(shape.required_members)
        fixed = {n: _valid_value(s, depth + 1) for n, s in shape.members.items() if n in required}
        optional = {n: _valid_value(s, depth + 1) for n, s in shape.members.items()
                    if n not in required and depth < 2}
        return st.fixed_dictionaries(fixed, optional=optional)
    if isinstance(shape, ListShape):
        low = meta.get("min", 0)
        return st.lists(_valid_value(shape.member, depth + 1), min_size=low, max_size=min(meta.get("max", 3), low + 3))
    if isinstance(shape, MapShape):
        low = meta.get("min", 0)
        return st.dictionaries(_valid_value(shape.key, depth + 1), _valid_value(shape.value, depth + 1),
                               min_size=low, max_size=min(meta.get("max", 3), low + 3))
    kind = shape.type_name
    if kind == "string":
        if "enum" in meta:
            return st.sampled_from(meta["enum"])
        low, high = meta.get("min", 0), min(meta.get("max", 40), meta.get("min", 0) + 40)
        if "pattern" in meta:
            rx = compile_pattern(meta["pattern"])
            single = re.fullmatch(r"(\[(?:[^\]\\]|\\.)*\])[*+]", rx.pattern)
            if single:   # one class repeated: draw characters, so the length bounds hold
                alphabet = st.from_regex(re.compile(single.group(1), re.ASCII), fullmatch=True)
                return st.text(alphabet, min_size=max(low, rx.pattern.endswith("+")), max_size=high)
            return st.from_regex(rx, fullmatch=True).filter(lambda s: low <= len(s) <= high)
        return st.text(min_size=low, max_size=high)
    if kind in ("integer", "long"):
        return st.integers(meta.get("min", -(2**31)), meta.get("max", 2**31 - 1))
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        low = meta.get("min", 0)
        return st.binary(min_size=low, max_size=min(meta.get("max", 64), low + 64))
    if kind == "timestamp":
        return st.datetimes()
    return st.floats(meta.get("min"), meta.get("max"), allow_nan=False)


OPERATIONS = [(IAM, "CreateUser"), (IAM, "UpdateAccessKey"), (IAM, "ListUsers"), (STS, "AssumeRole"),
              (KMS, "Encrypt"), (KMS, "CreateKey")]


@pytest.mark.parametrize(("model", "operation"), OPERATIONS, ids=[o for _, o in OPERATIONS])
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_inputs_within_the_model_pass_botocore_and_us(model, operation: str, data: st.DataObject) -> None:
    shape = _input(model, operation)
    params = data.draw(_valid_value(shape))
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()
    validate(shape, params, protocol=model.metadata["protocol"])


_GARBAGE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@pytest.mark.parametrize(("model", "operation"), OPERATIONS, ids=[o for _, o in OPERATIONS])
@settings(deadline=None)
@given(data=st.data())
def test_garbage_raises_nothing_but_validation_error(model, operation: str, data: st.DataObject) -> None:
    shape = _input(model, operation)
    names = list(shape.members)
    params = data.draw(st.dictionaries(st.sampled_from(names), _GARBAGE, max_size=len(names))
                       | _GARBAGE)
    try:
        validate(shape, params, protocol=model.metadata["protocol"])
    except ValidationError as error:
        assert re.match(r"(\d+ validation errors? detected: |The specified value for )", error.message)


@pytest.mark.parametrize("operation, params, reason", [
    ("DescribeAccount", {"AccountId": "12345"}, "INVALID_PATTERN"),
    ("DescribeAccount", {}, "INPUT_REQUIRED"),
    ("ListAccounts", {"MaxResults": 21}, "MAX_VALUE_EXCEEDED"),
    ("ListAccounts", {"MaxResults": 0}, "MIN_VALUE_EXCEEDED"),
    ("ListPolicies", {"Filter": "NOT_A_TYPE"}, "INVALID_ENUM"),
])
def test_organizations_answers_bad_input_with_invalid_input_and_a_reason(operation, params, reason) -> None:
    """Organizations' servers answer InvalidInputException with a Reason, not ValidationException
    (https://docs.aws.amazon.com/organizations/latest/APIReference/API_InvalidInputException.html)."""
    org = load_service("organizations")
    with pytest.raises(Exception) as exc:
        _check(org, operation, params)
    assert exc.value.wire_identity("json") == ("InvalidInputException", 400)
    assert exc.value.extra["Reason"] == reason
    assert not isinstance(exc.value, ValidationError)


def test_a_wide_structure_reports_every_fault_in_model_order_whatever_the_order_given() -> None:
    """PutObjectRequest has 46 members: the validator walks only the members given and the
    required ones, and still reports in the model's member order, a missing required member
    (Bucket) in its place between the given ones; the same again from its remembered walk."""
    s3 = load_service("s3")
    params = {"StorageClass": 5, "ContentLength": "x", "Key": "k", "ACL": 7}
    expected = ("4 validation errors detected: "
                "Value '7' at 'aCL' failed to satisfy constraint: Member must be of type string; "
                "Value null at 'bucket' failed to satisfy constraint: Member must not be null; "
                "Value 'x' at 'contentLength' failed to satisfy constraint: Member must be of type long; "
                "Value '5' at 'storageClass' failed to satisfy constraint: Member must be of type string")
    for _ in range(2):
        assert _message(s3, "PutObject", params) == expected
    _check(s3, "PutObject", {"Bucket": "b", "Key": "k", "StorageClass": "STANDARD"})
