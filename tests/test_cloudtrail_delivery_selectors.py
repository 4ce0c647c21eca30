"""What a trail's event selectors select (pure: services/cloudtrail/trails_selectors.py), and the
digest signing string as the AWS CLI's validate-logs rebuilds it."""

from __future__ import annotations

import hashlib

import pytest

from cloudkeep.services.cloudtrail import trails_selectors as S
from cloudkeep.services.cloudtrail.digest import signing_string
from cloudkeep.services.cloudtrail.errors import InvalidEventSelectorsException

CREATE_USER = {"eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "readOnly": False,
               "managementEvent": True, "userIdentity": {"arn": "arn:aws:iam::111122223333:user/alice"}}
LIST_USERS = {**CREATE_USER, "eventName": "ListUsers", "readOnly": True}
GET_OBJECT = {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "readOnly": True,
              "managementEvent": False,
              "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs-bucket/in/a.txt"},
                            {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs-bucket"}]}
PUT_OBJECT = {**GET_OBJECT, "eventName": "PutObject", "readOnly": False,
              "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs-bucket/out/b.txt"}]}


def test_without_selectors_every_management_event_and_no_data_event():
    assert S.matches(None, CREATE_USER) and S.matches(None, LIST_USERS)
    assert not S.matches(None, GET_OBJECT)


def test_read_write_type_and_management_events_switch():
    writes = {"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}
    assert S.matches(writes, CREATE_USER) and not S.matches(writes, LIST_USERS)
    none = {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}
    assert not S.matches(none, CREATE_USER)
    excluded = {"EventSelectors": [{"ReadWriteType": "All", "ExcludeManagementEventSources": ["iam.amazonaws.com"]}]}
    assert not S.matches(excluded, CREATE_USER)


@pytest.mark.parametrize("value,get,put", [
    ("arn:aws:s3", True, True),
    ("arn:aws:s3:::logs-bucket/", True, True),
    ("arn:aws:s3:::logs-bucket/in/", True, False),
    ("arn:aws:s3:::other-bucket/", False, False),
])
def test_data_resources_select_by_bucket_and_prefix(value, get, put):
    selectors = {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False,
                                     "DataResources": [{"Type": "AWS::S3::Object", "Values": [value]}]}]}
    assert S.matches(selectors, GET_OBJECT) is get and S.matches(selectors, PUT_OBJECT) is put


def test_advanced_selectors_every_field_must_hold():
    writes_under_out = {"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "readOnly", "Equals": ["false"]},
        {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::logs-bucket/out/"]}]}]}
    assert S.matches(writes_under_out, PUT_OBJECT) and not S.matches(writes_under_out, GET_OBJECT)
    assert not S.matches(writes_under_out, CREATE_USER)
    not_create = {"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]}]}
    assert S.matches(not_create, CREATE_USER)
    by_name = {"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "eventName", "NotEquals": ["GetObject"]}, {"Field": "resources.ARN", "EndsWith": [".txt"]}]}]}
    assert S.matches(by_name, PUT_OBJECT) and not S.matches(by_name, GET_OBJECT)


@pytest.mark.parametrize("params", [
    {"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["s3://bucket"]}]}]},
    {"EventSelectors": [{}] * 6},
    {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "readOnly", "Equals": ["true"]}]}]},
    {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                    {"Field": "eventName", "Equals": ["CreateUser"]}]}]},
    {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]},
    {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                    {"Field": "readOnly", "Equals": ["yes"]}]}]},
])
def test_invalid_selectors_are_refused(params):
    with pytest.raises(InvalidEventSelectorsException):
        S.checked(params)


def test_signing_string_is_the_one_validate_logs_rebuilds():
    body = b'{"digestEndTime":"2026-11-30T05:00:00Z"}'
    expected = (f"2026-11-30T05:00:00Z\nbkt/AWSLogs/1/x.json.gz\n{hashlib.sha256(body).hexdigest()}\nnull").encode()
    assert signing_string("2026-11-30T05:00:00Z", "bkt", "AWSLogs/1/x.json.gz", body, None) == expected
    assert signing_string("2026-11-30T05:00:00Z", "bkt", "k", body, "ab12").endswith(b"\nab12")


@pytest.mark.parametrize(("selectors", "expected"), [
    (None, False),
    ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}, False),
    ({"EventSelectors": [{"ReadWriteType": "All", "DataResources": [
        {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::b/"]}]}]}, True),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]}, False),
    ({"AdvancedEventSelectors": [
        {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
        {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}]}, True),
])
def test_selects_data_events_says_whether_a_trail_may_log_any_data_event(selectors, expected):
    """What the data-event gate (services/cloudtrail/data_events.py) asks of each logging trail."""
    assert S.selects_data_events(selectors) is expected
