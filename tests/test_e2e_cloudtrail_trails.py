"""CloudTrail trails through boto3 against the real server: create, read, update and delete,
names and their errors, shadow trails of multi-region trails, the five-trail limit, the bucket
policy and KMS key checks made as the cloudtrail.amazonaws.com service principal, logging state,
event selectors, tags and IAM.

AWS pages: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html,
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html,
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html,
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
"""

from __future__ import annotations

import json

import pytest

from cloudkeep.testing.server import client_for
from cloudtrail_delivery_support import error_of, trail_arn, trail_bucket, unique


@pytest.fixture
def ct(cloudkeep_account):
    return cloudkeep_account.client("cloudtrail")


def test_create_trail_answers_its_settings_and_it_is_described(cloudkeep_account, ct):
    account = cloudkeep_account.account_id
    bucket = trail_bucket(cloudkeep_account, "main")
    out = ct.create_trail(Name="main", S3BucketName=bucket, EnableLogFileValidation=True)
    assert out["Name"] == "main" and out["S3BucketName"] == bucket
    assert out["TrailARN"] == trail_arn(account, "main")
    assert out["LogFileValidationEnabled"] is True and out["IsMultiRegionTrail"] is False
    assert out["IncludeGlobalServiceEvents"] is True and out["IsOrganizationTrail"] is False
    described = ct.describe_trails()["trailList"]
    assert [t["Name"] for t in described] == ["main"]
    assert described[0]["HomeRegion"] == "us-east-1" and described[0]["HasCustomEventSelectors"] is False
    assert ct.get_trail(Name=trail_arn(account, "main"))["Trail"]["TrailARN"] == out["TrailARN"]
    assert ct.list_trails()["Trails"] == [{"TrailARN": out["TrailARN"], "Name": "main", "HomeRegion": "us-east-1"}]
    status = ct.get_trail_status(Name="main")
    assert status["IsLogging"] is False


@pytest.mark.parametrize("name,message", [
    ("ab", "Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters."),
    ("-abc", "Trail name must starts with a letter or number."),
    ("abc_", "Trail name must ends with a letter or number."),
    ("a b c", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), "
              "hyphens (-), and underscores (_)."),
    ("a" * 129, "Trail name too long. Maximum allowed length: 128 characters. Specified name length: 129 characters."),
    ("my--trail", "Trail name cannot contain adjacent periods, underscores or dashes."),
    ("192.168.5.4", "Trail name cannot be formatted as an IP address."),
])
def test_invalid_trail_names_are_refused_with_cloudtrails_message(ct, name, message):
    assert error_of(ct.create_trail, Name=name, S3BucketName="any-bucket") == ("InvalidTrailNameException", message)


def test_unknown_trail_is_trail_not_found_naming_its_arn(cloudkeep_account, ct):
    account = cloudkeep_account.account_id
    assert error_of(ct.get_trail_status, Name="nothere") == (
        "TrailNotFoundException", f"Unknown trail: {trail_arn(account, 'nothere')} for the user: {account}")
    assert error_of(ct.delete_trail, Name="nothere")[0] == "TrailNotFoundException"


def test_duplicate_name_is_trail_already_exists(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account)
    ct.create_trail(Name="dup", S3BucketName=bucket)
    assert error_of(ct.create_trail, Name="dup", S3BucketName=bucket) == (
        "TrailAlreadyExistsException", f"Trail dup already exists for customer: {cloudkeep_account.account_id}")


def test_a_sixth_trail_in_a_region_is_refused(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account)
    for i in range(5):
        ct.create_trail(Name=f"t{i}x", S3BucketName=bucket)
    assert error_of(ct.create_trail, Name="t5x", S3BucketName=bucket) == (
        "MaximumNumberOfTrailsExceededException",
        f"User: {cloudkeep_account.account_id} already has 5 trails in us-east-1.")


def test_bucket_that_does_not_exist_is_refused(ct):
    missing = unique("missing")
    assert error_of(ct.create_trail, Name="nobucket", S3BucketName=missing) == (
        "S3BucketDoesNotExistException", f"S3 bucket {missing} does not exist!")


def test_bucket_without_cloudtrails_policy_is_insufficient(cloudkeep_account, ct):
    s3 = cloudkeep_account.client("s3")
    bucket = unique("plain")
    s3.create_bucket(Bucket=bucket)
    assert error_of(ct.create_trail, Name="nopolicy", S3BucketName=bucket) == (
        "InsufficientS3BucketPolicyException", f"Incorrect S3 bucket policy is detected for bucket: {bucket}")
    assert ct.describe_trails()["trailList"] == []


def test_bucket_policy_for_another_trail_source_arn_is_insufficient(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account, "other")
    assert error_of(ct.create_trail, Name="this", S3BucketName=bucket)[0] == "InsufficientS3BucketPolicyException"
    ct.create_trail(Name="other", S3BucketName=bucket)


def test_policy_without_the_acl_condition_on_another_prefix_is_insufficient(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account, prefix="logs")
    assert error_of(ct.create_trail, Name="p1x", S3BucketName=bucket)[0] == "InsufficientS3BucketPolicyException"
    assert ct.create_trail(Name="p1x", S3BucketName=bucket, S3KeyPrefix="logs")["S3KeyPrefix"] == "logs"


def _key_policy(account: str, allow_cloudtrail: bool) -> str:
    statements = [{"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                   "Action": "kms:*", "Resource": "*"}]
    if allow_cloudtrail:
        statements.append({"Sid": "ct", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                           "Action": "kms:GenerateDataKey*", "Resource": "*",
                           "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                                        f"arn:aws:cloudtrail:*:{account}:trail/*"}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_kms_key_must_let_cloudtrail_generate_data_keys(cloudkeep_account, ct):
    account = cloudkeep_account.account_id
    kms = cloudkeep_account.client("kms")
    closed = kms.create_key(Policy=_key_policy(account, False))["KeyMetadata"]["Arn"]
    open_ = kms.create_key(Policy=_key_policy(account, True))["KeyMetadata"]["Arn"]
    bucket = trail_bucket(cloudkeep_account)
    code, message = error_of(ct.create_trail, Name="enc", S3BucketName=bucket, KmsKeyId=closed)
    assert code == "InsufficientEncryptionPolicyException" and closed in message
    missing = closed.rsplit("/", 1)[0] + "/11111111-2222-3333-4444-555555555555"
    assert error_of(ct.create_trail, Name="enc", S3BucketName=bucket, KmsKeyId=missing)[0] == "KmsKeyNotFoundException"
    assert error_of(ct.create_trail, Name="enc", S3BucketName=bucket, KmsKeyId="not a key")[0] == \
        "InvalidKmsKeyIdException"
    out = ct.create_trail(Name="enc", S3BucketName=bucket, KmsKeyId=open_.rsplit("/", 1)[1])
    assert out["KmsKeyId"] == open_


def test_multi_region_trail_is_a_shadow_trail_elsewhere_and_changed_only_at_home(cloudkeep_account, ct):
    account = cloudkeep_account.account_id
    bucket = trail_bucket(cloudkeep_account)
    ct.create_trail(Name="everywhere", S3BucketName=bucket, IsMultiRegionTrail=True)
    west = cloudkeep_account.client("cloudtrail", region="eu-west-1")
    seen = west.describe_trails()["trailList"]
    assert [(t["Name"], t["HomeRegion"], t["IsMultiRegionTrail"]) for t in seen] == [("everywhere", "us-east-1", True)]
    assert west.describe_trails(includeShadowTrails=False)["trailList"] == []
    assert west.get_trail_status(Name=trail_arn(account, "everywhere"))["IsLogging"] is False
    assert error_of(west.start_logging, Name=trail_arn(account, "everywhere"))[0] == "InvalidHomeRegionException"
    # by name, a shadow trail is found for reads of its status, not for its selectors
    assert west.get_trail_status(Name="everywhere")["IsLogging"] is False
    assert error_of(west.get_event_selectors, TrailName="everywhere") == (
        "TrailNotFoundException",
        f"Unknown trail: {trail_arn(account, 'everywhere', 'eu-west-1')} for the user: {account}")
    assert error_of(west.stop_logging, Name="everywhere")[0] == "TrailNotFoundException"
    assert error_of(west.create_trail, Name="everywhere", S3BucketName=bucket)[0] == "TrailAlreadyExistsException"


def test_logging_state_and_times(ct, cloudkeep_account):
    bucket = trail_bucket(cloudkeep_account)
    ct.create_trail(Name="onoff", S3BucketName=bucket)
    ct.start_logging(Name="onoff")
    status = ct.get_trail_status(Name="onoff")
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    ct.stop_logging(Name="onoff")
    status = ct.get_trail_status(Name="onoff")
    assert status["IsLogging"] is False and status["StopLoggingTime"] >= status["StartLoggingTime"]


def test_update_trail_changes_settings_and_rechecks_the_bucket(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account)
    ct.create_trail(Name="upd", S3BucketName=bucket)
    out = ct.update_trail(Name="upd", EnableLogFileValidation=True, IsMultiRegionTrail=True)
    assert out["LogFileValidationEnabled"] is True and out["IsMultiRegionTrail"] is True
    s3 = cloudkeep_account.client("s3")
    plain = unique("plain")
    s3.create_bucket(Bucket=plain)
    assert error_of(ct.update_trail, Name="upd", S3BucketName=plain)[0] == "InsufficientS3BucketPolicyException"
    assert ct.get_trail(Name="upd")["Trail"]["S3BucketName"] == bucket


def test_delete_trail(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account)
    ct.create_trail(Name="gone", S3BucketName=bucket)
    ct.delete_trail(Name="gone")
    assert ct.describe_trails()["trailList"] == []
    assert error_of(ct.get_trail, Name="gone")[0] == "TrailNotFoundException"


def test_event_selectors_basic_and_advanced(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account)
    arn = ct.create_trail(Name="sel", S3BucketName=bucket)["TrailARN"]
    default = ct.get_event_selectors(TrailName="sel")
    assert default["EventSelectors"] == [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                          "DataResources": [], "ExcludeManagementEventSources": []}]
    basic = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
              "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{bucket}/data/"]}]}]
    out = ct.put_event_selectors(TrailName="sel", EventSelectors=basic)
    assert out["TrailARN"] == arn and out["EventSelectors"][0]["DataResources"] == basic[0]["DataResources"]
    assert ct.get_trail(Name="sel")["Trail"]["HasCustomEventSelectors"] is True
    advanced = [{"Name": "writes", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                                      {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                                                      {"Field": "readOnly", "Equals": ["false"]}]}]
    ct.put_event_selectors(TrailName="sel", AdvancedEventSelectors=advanced)
    got = ct.get_event_selectors(TrailName="sel")
    assert got["AdvancedEventSelectors"] == advanced and "EventSelectors" not in got


def test_invalid_event_selectors_are_refused(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account)
    ct.create_trail(Name="badsel", S3BucketName=bucket)
    bad_value = [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["not-an-arn"]}]}]
    assert error_of(ct.put_event_selectors, TrailName="badsel", EventSelectors=bad_value)[0] == \
        "InvalidEventSelectorsException"
    bad_type = [{"DataResources": [{"Type": "AWS::Nope::Thing", "Values": ["arn:aws:s3"]}]}]
    assert error_of(ct.put_event_selectors, TrailName="badsel", EventSelectors=bad_type)[0] == \
        "InvalidEventSelectorsException"
    no_category = [{"FieldSelectors": [{"Field": "readOnly", "Equals": ["true"]}]}]
    assert error_of(ct.put_event_selectors, TrailName="badsel", AdvancedEventSelectors=no_category)[0] == \
        "InvalidEventSelectorsException"
    assert error_of(ct.put_event_selectors, TrailName="badsel", EventSelectors=[{}] * 6)[0] == \
        "InvalidEventSelectorsException"
    assert error_of(ct.put_event_selectors, TrailName="badsel", EventSelectors=[{}],
                    AdvancedEventSelectors=[{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]
                    )[0] == "InvalidParameterCombinationException"


def test_tags_added_listed_and_removed(cloudkeep_account, ct):
    bucket = trail_bucket(cloudkeep_account)
    arn = ct.create_trail(Name="tagged", S3BucketName=bucket, TagsList=[{"Key": "team", "Value": "sec"}])["TrailARN"]
    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}])
    tags = ct.list_tags(ResourceIdList=[arn])["ResourceTagList"]
    assert tags == [{"ResourceId": arn, "TagsList": [{"Key": "team", "Value": "sec"}, {"Key": "env", "Value": "prod"}]}]
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])
    assert ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [{"Key": "env", "Value": "prod"}]
    assert error_of(ct.add_tags, ResourceId="trail/nope", TagsList=[{"Key": "a", "Value": "b"}])[0] == \
        "CloudTrailARNInvalidException"


def test_iam_policy_decides_who_may_stop_logging(cloudkeep_account, ct):
    account = cloudkeep_account.account_id
    bucket = trail_bucket(cloudkeep_account)
    ct.create_trail(Name="guarded", S3BucketName=bucket)
    ct.start_logging(Name="guarded")
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["cloudtrail:GetTrailStatus", "cloudtrail:DescribeTrails"], "Resource": "*"},
            {"Effect": "Allow", "Action": "cloudtrail:StopLogging", "Resource": trail_arn(account, "other")}]}))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    auditor = client_for(cloudkeep_account.endpoint, "cloudtrail", key["AccessKeyId"], key["SecretAccessKey"])
    assert auditor.get_trail_status(Name="guarded")["IsLogging"] is True
    code, message = error_of(auditor.stop_logging, Name="guarded")
    assert code == "AccessDeniedException"
    assert "cloudtrail:StopLogging" in message and trail_arn(account, "guarded") in message
    assert ct.get_trail_status(Name="guarded")["IsLogging"] is True
