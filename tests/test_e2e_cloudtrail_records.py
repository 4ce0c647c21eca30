"""End to end: CloudTrail records, field for field, for every kind of caller and call.

One real server with HTTPS (``--tls``) for the module; clients are boto3. Records are read from
the server's store after ``flush()`` (``cloudkeep.testing.audit``).

CloudTrail record contents:
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
userIdentity element (sessionContext, sessionIssuer, AWSAccount, AWSService):
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
IAM and STS records: https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html
S3 records (data events, additionalEventData, anonymous and cross-account callers):
https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.schema import audit_events
from cloudkeep.testing.audit import records_of_request, stored_records
from cloudkeep.testing.server import Account, CloudkeepServer, client_for, free_port
from tests.cloudtrail_delivery_support import record_data_events
from tests.s3_support import bucket_name, policy

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CloudkeepServer, int, str]]:
    port = free_port()
    ck = CloudkeepServer(data_dir=tmp_path_factory.mktemp("records") / "data",
                         extra_args=["--tls", "--https-port", str(port)])
    with ck:
        record_data_events(ck)       # S3 data events are recorded only while a trail selects them
        yield ck, port, str(ck.data_dir / "tls" / "ca.pem")


@pytest.fixture(scope="module")
def store(server: tuple[CloudkeepServer, int, str]) -> Iterator[Store]:
    opened = Store.open(sqlite_url(server[0].data_dir), migrate=False)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def ck(server: tuple[CloudkeepServer, int, str]) -> CloudkeepServer:
    return server[0]


@pytest.fixture
def account(ck: CloudkeepServer) -> Account:
    return ck.create_account()


def _https(server: tuple[CloudkeepServer, int, str], service: str, key: str, secret: str,
           token: str | None = None, region: str = "us-east-1") -> Any:
    _, port, ca = server
    return client_for(f"https://localhost:{port}", service, key, secret, session_token=token,
                      verify=ca, region=region, config=Config(retries={"max_attempts": 1}))


def _rid(response_or_error: Any) -> str:
    meta = (response_or_error.response if isinstance(response_or_error, ClientError)
            else response_or_error)["ResponseMetadata"]
    return meta["RequestId"]


def _events(ck: CloudkeepServer, store: Store, rid: str) -> list[dict[str, Any]]:
    ck.flush()
    return records_of_request(store, rid)


def _one(ck: CloudkeepServer, store: Store, rid: str) -> dict[str, Any]:
    events = _events(ck, store, rid)
    assert len(events) == 1, events
    return events[0]


def _when(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(account: Account, name: str, *statements: dict) -> tuple[dict, dict]:
    iam = account.client("iam")
    user = iam.create_user(UserName=name)["User"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
    return user, iam.create_access_key(UserName=name)["AccessKey"]


def _role(account: Account, name: str, actions: list[str]) -> dict:
    trust = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"},
                    "Action": actions})
    return account.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]


# --- userIdentity for every kind of caller ----------------------------------------------------


def test_assumed_role_session_has_session_issuer_attributes_and_source_identity(ck, store, account):
    role = _role(account, "Dev", ["sts:AssumeRole", "sts:SetSourceIdentity"])
    user, key = _user(account, "carol", {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                                         "Resource": role["Arn"]})
    sts = client_for(ck.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", SourceIdentity="carol-src")
    creds = assumed["Credentials"]
    session_sts = client_for(ck.endpoint, "sts", creds["AccessKeyId"], creds["SecretAccessKey"],
                             session_token=creds["SessionToken"])
    me = session_sts.get_caller_identity()
    created = creds["Expiration"] - dt.timedelta(seconds=3600)     # the default duration

    identity = _one(ck, store, _rid(me))["userIdentity"]
    assert identity == {
        "type": "AssumedRole", "principalId": f"{role['RoleId']}:s1",
        "arn": f"arn:aws:sts::{account.account_id}:assumed-role/Dev/s1",
        "accountId": account.account_id, "accessKeyId": creds["AccessKeyId"],
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role["RoleId"], "arn": role["Arn"],
                              "accountId": account.account_id, "userName": "Dev"},
            "webIdFederationData": {},
            "attributes": {"creationDate": _when(created), "mfaAuthenticated": "false"},
            "sourceIdentity": "carol-src"}}
    # the session's denied call carries the same identity and AWS's error
    with pytest.raises(ClientError) as denied:
        client_for(ck.endpoint, "iam", creds["AccessKeyId"], creds["SecretAccessKey"],
                   session_token=creds["SessionToken"]).list_users()
    event = _one(ck, store, _rid(denied.value))
    assert event["errorCode"] == "AccessDenied" and event["userIdentity"] == identity
    assert event["errorMessage"] == denied.value.response["Error"]["Message"]

    # the AssumeRole call itself: the user's identity, credentials without secret or token
    call = _one(ck, store, _rid(assumed))
    assert call["userIdentity"]["type"] == "IAMUser" and call["userIdentity"]["userName"] == "carol"
    assert call["userIdentity"]["principalId"] == user["UserId"]
    assert call["requestParameters"] == {"roleArn": role["Arn"], "roleSessionName": "s1",
                                         "sourceIdentity": "carol-src"}
    assert call["resources"] == [{"ARN": role["Arn"], "accountId": account.account_id, "type": "AWS::IAM::Role"}]
    assert "sharedEventID" not in call
    response = call["responseElements"]
    assert response["credentials"] == {"accessKeyId": creds["AccessKeyId"],
                                       "expiration": creds["Expiration"].astimezone(UTC).strftime(
                                           "%b %-d, %Y, %-I:%M:%S %p")}
    assert response["assumedRoleUser"] == {"assumedRoleId": f"{role['RoleId']}:s1",
                                           "arn": f"arn:aws:sts::{account.account_id}:assumed-role/Dev/s1"}


def test_federated_user_session_names_the_iam_user_that_issued_it(ck, store, account):
    user, key = _user(account, "issuer", {"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"})
    sts = client_for(ck.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    token = sts.get_federation_token(Name="Bob", DurationSeconds=900)
    creds = token["Credentials"]
    me = client_for(ck.endpoint, "sts", creds["AccessKeyId"], creds["SecretAccessKey"],
                    session_token=creds["SessionToken"]).get_caller_identity()
    identity = _one(ck, store, _rid(me))["userIdentity"]
    assert identity == {
        "type": "FederatedUser", "principalId": f"{account.account_id}:Bob",
        "arn": f"arn:aws:sts::{account.account_id}:federated-user/Bob",
        "accountId": account.account_id, "accessKeyId": creds["AccessKeyId"],
        "sessionContext": {
            "sessionIssuer": {"type": "IAMUser", "principalId": user["UserId"], "arn": user["Arn"],
                              "accountId": account.account_id, "userName": "issuer"},
            "webIdFederationData": {},
            "attributes": {"creationDate": _when(creds["Expiration"] - dt.timedelta(seconds=900)),
                           "mfaAuthenticated": "false"}}}


def test_session_token_of_the_root_user_has_an_empty_session_issuer(ck, store, account):
    creds = account.client("sts").get_session_token(DurationSeconds=1200)["Credentials"]
    me = client_for(ck.endpoint, "sts", creds["AccessKeyId"], creds["SecretAccessKey"],
                    session_token=creds["SessionToken"]).get_caller_identity()
    identity = _one(ck, store, _rid(me))["userIdentity"]
    assert identity == {
        "type": "Root", "principalId": account.account_id, "arn": f"arn:aws:iam::{account.account_id}:root",
        "accountId": account.account_id, "accessKeyId": creds["AccessKeyId"],
        "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {},
                           "attributes": {"creationDate": _when(creds["Expiration"] - dt.timedelta(seconds=1200)),
                                          "mfaAuthenticated": "false"}}}


def test_long_term_keys_have_no_session_context(ck, store, account):
    user, key = _user(account, "plain")
    me = client_for(ck.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    assert _one(ck, store, _rid(me))["userIdentity"] == {
        "type": "IAMUser", "principalId": user["UserId"], "arn": user["Arn"], "accountId": account.account_id,
        "accessKeyId": key["AccessKeyId"], "userName": "plain"}


def test_cross_account_call_is_recorded_in_both_accounts_with_one_shared_event_id(ck, store):
    caller, owner = ck.create_account(), ck.create_account()
    name = bucket_name("xacct")
    owner.client("s3").create_bucket(Bucket=name)
    owner.client("s3").put_bucket_policy(Bucket=name, Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{caller.account_id}:root"},
         "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"arn:aws:s3:::{name}/*"}))
    put = caller.client("s3").put_object(Bucket=name, Key="k", Body=b"from another account")
    events = _events(ck, store, _rid(put))
    by_account = {e["recipientAccountId"]: e for e in events}
    assert sorted(by_account) == sorted([caller.account_id, owner.account_id]) and len(events) == 2
    mine, theirs = by_account[caller.account_id], by_account[owner.account_id]
    assert mine["userIdentity"] == {"type": "Root", "principalId": caller.account_id,
                                    "arn": f"arn:aws:iam::{caller.account_id}:root",
                                    "accountId": caller.account_id, "accessKeyId": caller.access_key_id}
    assert theirs["userIdentity"] == {"type": "AWSAccount", "principalId": caller.account_id,
                                      "accountId": caller.account_id}
    assert mine["sharedEventID"] == theirs["sharedEventID"] and mine["sharedEventID"]
    assert mine["eventID"] != theirs["eventID"] and mine["sharedEventID"] not in (mine["eventID"], theirs["eventID"])
    for event in events:
        assert event["eventName"] == "PutObject" and "errorCode" not in event
        assert event["requestParameters"]["bucketName"] == name and event["requestParameters"]["key"] == "k"
        assert event["resources"] == [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{name}/k"},
            {"accountId": owner.account_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{name}"}]
    # the caller's key never reaches the owner's copy
    assert caller.access_key_id not in json.dumps(theirs)
    # a call inside one account has no sharedEventID
    own = owner.client("s3").get_object(Bucket=name, Key="k")
    assert "sharedEventID" not in _one(ck, store, _rid(own))


def test_assuming_a_role_of_another_account_is_recorded_in_both(ck, store):
    caller, owner = ck.create_account(), ck.create_account()
    trust = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{caller.account_id}:root"},
                    "Action": "sts:AssumeRole"})
    role = owner.client("iam").create_role(RoleName="Partner", AssumeRolePolicyDocument=trust)["Role"]
    user, key = _user(caller, "traveller", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]})
    assumed = client_for(ck.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=role["Arn"], RoleSessionName="visit")
    by_account = {e["recipientAccountId"]: e for e in _events(ck, store, _rid(assumed))}
    assert sorted(by_account) == sorted([caller.account_id, owner.account_id])
    mine, theirs = by_account[caller.account_id], by_account[owner.account_id]
    assert mine["sharedEventID"] == theirs["sharedEventID"]
    assert mine["userIdentity"]["userName"] == "traveller"
    assert theirs["userIdentity"] == {"type": "AWSAccount", "principalId": user["UserId"],
                                      "accountId": caller.account_id}
    for event in (mine, theirs):
        assert event["resources"] == [{"ARN": role["Arn"], "accountId": owner.account_id, "type": "AWS::IAM::Role"}]
        assert event["responseElements"]["assumedRoleUser"]["arn"].endswith(":assumed-role/Partner/visit")
        assert assumed["Credentials"]["SecretAccessKey"] not in json.dumps(event)

def _anonymous_get(ck: CloudkeepServer, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(ck.endpoint + path), timeout=30) as response:
            return response.status, response.headers["x-amz-request-id"]
    except urllib.error.HTTPError as error:
        return error.code, error.headers["x-amz-request-id"]


def test_anonymous_calls_are_recorded_in_the_bucket_owners_account(ck, store, account):
    s3 = account.client("s3")
    public, private = bucket_name("anon"), bucket_name("anon")
    for name in (public, private):
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="k", Body=b"hello")
    s3.delete_public_access_block(Bucket=public)
    s3.put_bucket_policy(Bucket=public, Policy=policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                       "Resource": f"arn:aws:s3:::{public}/*"}))
    anonymous = {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}

    status, rid = _anonymous_get(ck, f"/{public}/k")
    assert status == 200
    allowed = _one(ck, store, rid)
    assert allowed["userIdentity"] == anonymous and allowed["recipientAccountId"] == account.account_id
    assert allowed["eventName"] == "GetObject" and "errorCode" not in allowed
    assert "SignatureVersion" not in allowed["additionalEventData"]
    assert "AuthenticationMethod" not in allowed["additionalEventData"]

    status, rid = _anonymous_get(ck, f"/{private}/k")
    assert status == 403
    denied = _one(ck, store, rid)
    assert denied["userIdentity"] == anonymous and denied["recipientAccountId"] == account.account_id
    assert denied["errorCode"] == "AccessDenied" and denied["errorMessage"] == "Access Denied"
    assert denied["resources"] == [
        {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{private}/k"},
        {"accountId": account.account_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{private}"}]

    status, rid = _anonymous_get(ck, f"/{bucket_name('nobody')}/k")
    assert status == 404
    assert _events(ck, store, rid) == []      # no bucket, no owner: no account to record it in


# --- S3 data events ----------------------------------------------------------------------------


def test_s3_object_calls_are_data_events_with_additional_event_data(server, ck, store, account):
    s3 = _https(server, "s3", account.access_key_id, account.secret_access_key)
    name = bucket_name("data")
    s3.create_bucket(Bucket=name)
    body = b"0123456789" * 7
    put = s3.put_object(Bucket=name, Key="dir/obj.txt", Body=body)
    got = s3.get_object(Bucket=name, Key="dir/obj.txt")
    assert got["Body"].read() == body
    listed = s3.list_buckets()

    for response, name_, read_only in ((put, "PutObject", False), (got, "GetObject", True)):
        event = _one(ck, store, _rid(response))
        assert event["eventSource"] == "s3.amazonaws.com" and event["eventName"] == name_
        assert event["managementEvent"] is False and event["eventCategory"] == "Data"
        assert event["readOnly"] is read_only and event["eventType"] == "AwsApiCall"
        tls = event["tlsDetails"]
        assert tls["tlsVersion"].startswith("TLSv1.") and tls["cipherSuite"]
        assert tls["clientProvidedHostHeader"].startswith("localhost")
        extra = event["additionalEventData"]
        assert extra["SignatureVersion"] == "SigV4" and extra["AuthenticationMethod"] == "AuthHeader"
        assert extra["CipherSuite"] == tls["cipherSuite"]
        assert extra["x-amz-id-2"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amz-id-2"]
        assert extra["bytesTransferredIn"] == (len(body) if name_ == "PutObject" else 0)
        assert "vpcEndpointId" not in event
    assert _one(ck, store, _rid(got))["additionalEventData"]["bytesTransferredOut"] == len(body)
    bucket_call = _one(ck, store, _rid(listed))
    assert bucket_call["managementEvent"] is True and bucket_call["eventCategory"] == "Management"
    assert "resources" not in bucket_call            # ListBuckets names no bucket
    assert _one(ck, store, _rid(put))["resources"] == [
        {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{name}/dir/obj.txt"},
        {"accountId": account.account_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{name}"}]

    _, port, ca = server
    signer = client_for(f"https://localhost:{port}", "s3", account.access_key_id, account.secret_access_key,
                        verify=ca, config=Config(signature_version="s3v4"))
    url = signer.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "dir/obj.txt"})
    import ssl
    context = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url, timeout=30, context=context) as response:
        assert response.read() == body
        rid = response.headers["x-amz-request-id"]
    presigned = _one(ck, store, rid)
    assert presigned["additionalEventData"]["AuthenticationMethod"] == "QueryString"
    # S3 logs the request as it came (bucket, Host, key, query), never the URL's signature
    assert presigned["requestParameters"]["bucketName"] == name
    assert presigned["requestParameters"]["key"] == "dir/obj.txt"
    assert presigned["requestParameters"]["Host"] == f"localhost:{port}"
    assert not [k for k in presigned["requestParameters"] if k.lower().startswith("x-amz-")]
    assert "X-Amz-Signature" not in json.dumps(presigned) and url.split("X-Amz-Signature=")[1] not in json.dumps(
        presigned)
    # a denied call of the owner's own IAM user still names the bucket and its owner
    _, key = _user(account, "no-s3")
    denied = _https(server, "s3", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as caught:
        denied.get_object(Bucket=name, Key="dir/obj.txt")
    assert _one(ck, store, _rid(caught.value))["resources"][1] == {
        "accountId": account.account_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{name}"}
    acl = s3.get_bucket_acl(Bucket=name)
    assert _one(ck, store, _rid(acl))["requestParameters"] == {"bucketName": name, "Host": f"localhost:{port}",
                                                               "acl": ""}


# --- eventSource, awsRegion -------------------------------------------------------------------


def test_event_source_and_region_per_service(ck, store, account):
    region = "eu-west-1"
    calls = {
        "iam": account.client("iam", region=region).list_users(),
        "sts": account.client("sts", region=region).get_caller_identity(),
        "kms": account.client("kms", region=region).list_keys(),
        "s3": account.client("s3", region=region).list_buckets(),
    }
    with pytest.raises(ClientError) as org:
        account.client("organizations", region=region).describe_organization()
    expected = {"iam": "us-east-1", "sts": region, "kms": region, "s3": region}
    for service, response in calls.items():
        event = _one(ck, store, _rid(response))
        assert event["eventSource"] == f"{service}.amazonaws.com"
        assert event["awsRegion"] == expected[service], service
        assert event["recipientAccountId"] == account.account_id and "vpcEndpointId" not in event
    event = _one(ck, store, _rid(org.value))
    assert event["eventSource"] == "organizations.amazonaws.com" and event["awsRegion"] == "us-east-1"
    assert event["errorCode"] == org.value.response["Error"]["Code"]


# --- secrets never logged ---------------------------------------------------------------------


def _all_text(store: Store, account_id: str) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False)
                     for r in stored_records(store, audit_events.c.account_id == account_id))


def test_secrets_never_reach_any_stored_record(server, ck, store, account):
    import base64

    iam, kms = account.client("iam"), account.client("kms")
    secrets: dict[str, str] = {}
    # IAM: a user's secret access key, console passwords (created and changed)
    iam.create_user(UserName="keeper")
    secrets["secret access key"] = iam.create_access_key(UserName="keeper")["AccessKey"]["SecretAccessKey"]
    secrets["login password"] = "Initial-Pass-8f3e1c!"
    iam.create_login_profile(UserName="keeper", Password=secrets["login password"], PasswordResetRequired=False)
    secrets["updated password"] = "Updated-Pass-77d2a9!"
    iam.update_login_profile(UserName="keeper", Password=secrets["updated password"])
    # ChangePassword: the user's old and new passwords (a denied attempt too)
    _, own = _user(account, "changer", {"Effect": "Allow", "Action": "iam:ChangePassword",
                                        "Resource": f"arn:aws:iam::{account.account_id}:user/changer"})
    secrets["old password"] = "Changer-Old-3b9d1e!"
    secrets["new password"] = "Changer-New-5c0a7f!"
    secrets["wrong password"] = "Changer-Wrong-0e4b2d!"
    iam.create_login_profile(UserName="changer", Password=secrets["old password"])
    changer = client_for(ck.endpoint, "iam", own["AccessKeyId"], own["SecretAccessKey"])
    with pytest.raises(ClientError):
        changer.change_password(OldPassword=secrets["wrong password"], NewPassword=secrets["new password"])
    changer.change_password(OldPassword=secrets["old password"], NewPassword=secrets["new password"])
    # a virtual MFA device's seed
    seed = iam.create_virtual_mfa_device(VirtualMFADeviceName="phone")["VirtualMFADevice"]["Base32StringSeed"]
    secrets["mfa seed"] = seed.decode()
    secrets["mfa seed (base64)"] = base64.b64encode(seed).decode()
    # STS: temporary secret keys and session tokens
    role = _role(account, "Vault", ["sts:AssumeRole"])
    _, key = _user(account, "assumer", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]})
    assumed = client_for(ck.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=role["Arn"], RoleSessionName="vault")["Credentials"]
    session = account.client("sts").get_session_token()["Credentials"]
    secrets.update({"assumed secret": assumed["SecretAccessKey"], "assumed token": assumed["SessionToken"],
                    "session secret": session["SecretAccessKey"], "session token": session["SessionToken"],
                    "user secret": key["SecretAccessKey"]})
    # the session's own calls carry its token in the request, never in the record
    client_for(ck.endpoint, "sts", assumed["AccessKeyId"], assumed["SecretAccessKey"],
               session_token=assumed["SessionToken"]).get_caller_identity()
    # KMS: plaintext sent to Encrypt, plaintext data keys, decrypted plaintext, private keys
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    plaintext = b"top secret plaintext 41c7"
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"]
    pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="RSA_2048")["PrivateKeyPlaintext"]
    random = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    for label, value in (("kms plaintext", plaintext), ("data key", data_key), ("private key", pair),
                         ("random", random)):
        secrets[label + " (base64)"] = base64.b64encode(value).decode()
    secrets["kms plaintext"] = plaintext.decode()
    # S3: an SSE-C customer key (over HTTPS, on a bucket that allows SSE-C)
    s3 = _https(server, "s3", account.access_key_id, account.secret_access_key)
    name = bucket_name("ssec")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
         "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
    customer_key = b"K" * 16 + b"customer-key-32b"
    s3.put_object(Bucket=name, Key="c", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=customer_key)
    s3.get_object(Bucket=name, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=customer_key)
    secrets["sse-c key (base64)"] = base64.b64encode(customer_key).decode()
    secrets["sse-c key"] = customer_key.decode()

    ck.flush()
    text = _all_text(store, account.account_id)
    for name in ("CreateLoginProfile", "ChangePassword", "CreateVirtualMFADevice", "GenerateDataKeyPair",
                 "AssumeRole", "GetSessionToken", "PutObject"):
        assert f'"eventName": "{name}"' in text, name
    leaked = [label for label, value in secrets.items() if value in text]
    assert leaked == []


# --- service events (AwsServiceEvent) -------------------------------------------------------


def _service_events(ck: CloudkeepServer, store: Store, account_id: str, name: str) -> list[dict[str, Any]]:
    ck.flush()
    return [r for r in stored_records(store, audit_events.c.account_id == account_id)
            if r["eventName"] == name and r["eventType"] == "AwsServiceEvent"]


def test_kms_rotation_and_deletion_on_the_domain_clock_are_service_events(ck, store, account):
    kms = account.client("kms", region="eu-west-1")
    key = kms.create_key()["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert _service_events(ck, store, account.account_id, "RotateKey") == []
    ck.advance(91 * 86400)
    kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")           # the rotation that came due happens
    rotations = kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    [rotated] = _service_events(ck, store, account.account_id, "RotateKey")
    identity = {"accountId": account.account_id, "invokedBy": "AWS Internal"}
    resource = [{"accountId": account.account_id, "type": "AWS::KMS::Key", "ARN": key["Arn"]}]
    assert rotated == {
        "eventVersion": "1.11", "userIdentity": identity,
        "eventTime": _when(status["NextRotationDate"]),
        "eventSource": "kms.amazonaws.com", "eventName": "RotateKey", "awsRegion": "eu-west-1",
        "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal",
        "requestParameters": None, "responseElements": None, "eventID": rotated["eventID"], "readOnly": False,
        "resources": resource, "eventType": "AwsServiceEvent", "managementEvent": True,
        "recipientAccountId": account.account_id,
        "serviceEventDetails": {"rotationType": "AUTOMATIC", "keyOrigin": "AWS_KMS",
                                "previousKeyMaterialId": rotated["serviceEventDetails"]["previousKeyMaterialId"],
                                "currentKeyMaterialId": rotations[-1]["KeyMaterialId"], "keyId": key["KeyId"]},
        "eventCategory": "Management"}
    assert rotated["serviceEventDetails"]["previousKeyMaterialId"] != rotations[-1]["KeyMaterialId"]

    deletion = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)["DeletionDate"]
    ck.advance(8 * 86400)
    assert key["KeyId"] not in [k["KeyId"] for k in kms.list_keys()["Keys"]]   # ListKeys deletes it
    [deleted] = _service_events(ck, store, account.account_id, "DeleteKey")
    assert deleted["eventTime"] == _when(deletion) and deleted["responseElements"] == {"keyId": key["Arn"]}
    assert deleted["userIdentity"] == identity and deleted["resources"] == resource
    assert deleted["eventType"] == "AwsServiceEvent" and "requestID" not in deleted
    # the event history shows both
    history = account.client("cloudtrail", region="eu-west-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}])["Events"]
    names = [e["EventName"] for e in history]
    assert "RotateKey" in names and "DeleteKey" in names


def test_cloudtrails_own_kms_calls_are_recorded_as_an_aws_service(ck, store, account):
    """A trail with a KMS key: CloudTrail asks KMS for a data key for each log file as its service
    principal; the key owner's record names it as AWSService, invokedBy cloudtrail.amazonaws.com."""
    from tests.cloudtrail_delivery_support import deliver, logging_trail

    kms = account.client("kms")
    key_arn = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
         "Resource": "*"}]}))["KeyMetadata"]["Arn"]
    logging_trail(account, "with-key", KmsKeyId=key_arn)
    account.client("iam").create_user(UserName="logged")
    deliver(ck)
    ck.flush()
    found = [r for r in stored_records(store, audit_events.c.account_id == account.account_id)
             if r["userIdentity"].get("type") == "AWSService"]
    data_keys = [e for e in found if e["eventSource"] == "kms.amazonaws.com"]
    assert data_keys, f"no record of CloudTrail's data key requests: {found}"
    for event in found:      # its PutObject calls too, when the service records them
        assert event["userIdentity"] == {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}
        assert event["sourceIPAddress"] == event["userAgent"] == "cloudtrail.amazonaws.com"
        assert event["recipientAccountId"] == account.account_id and "errorCode" not in event
    for event in data_keys:
        assert event["eventName"].startswith("GenerateDataKey")
        assert event["resources"] == [{"accountId": account.account_id, "type": "AWS::KMS::Key", "ARN": key_arn}]
        assert event["requestParameters"]["encryptionContext"]["aws:cloudtrail:arn"].endswith(":trail/with-key")

def test_every_call_of_this_module_had_its_record_built(ck, store, account):
    """Runs last: no record failed to build or write on this module's server (the recorder logs
    and drops such a record rather than failing the request, so only its log can tell)."""
    s3 = account.client("s3")
    name = bucket_name("last")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="a b/c?d", Body=b"x")
    upload = s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    s3.abort_multipart_upload(Bucket=name, Key="mp", UploadId=upload)
    s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "a b/c?d"}, {"Key": "missing"}]})
    ck.flush()
    log = ck.read_output()
    for marker in ("could not build a deferred audit record", "malformed audit record", "audit batch write failed",
                   "Traceback"):
        assert marker not in log, log[log.index(marker) - 2000: log.index(marker) + 2000]
