"""AWS Organizations end to end with boto3 against the real server: the organization and its
root, CreateAccount making a real tenant reachable through OrganizationAccountAccessRole,
invitations (accept, decline, cancel, expiry on the domain clock), moving, removing, closing and
leaving, who may call what (management account, member, delegated administrator, IAM users),
and paging. Policies, OUs, tags and delegated administrators are in
test_e2e_organizations_policies.py.

AWS pages: https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganization.html,
API_DescribeOrganization.html, API_CreateAccount.html, API_DescribeCreateAccountStatus.html,
API_InviteAccountToOrganization.html, API_AcceptHandshake.html, API_DeclineHandshake.html,
API_CancelHandshake.html, API_MoveAccount.html, API_RemoveAccountFromOrganization.html,
API_LeaveOrganization.html, API_CloseAccount.html, API_DeleteOrganization.html, API_ListAccounts.html;
who may call: https://docs.aws.amazon.com/organizations/latest/APIReference/action-reference.html;
the role: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from cloudkeep.testing.server import client_for

DAY = 86400


def _err(exc) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"].get("Message", ""), r["ResponseMetadata"]["HTTPStatusCode"]


def _reason(exc) -> str | None:
    return exc.value.response.get("Reason")


def _email() -> str:
    return f"acct-{uuid.uuid4().hex[:12]}@example.com"


def _org(account) -> tuple:
    """The account's client after it created an organization, and the organization."""
    org = account.client("organizations")
    return org, org.create_organization()["Organization"]


def _member(server, org) -> object:
    """Another account of the server, invited to ``org``'s organization and joined."""
    other = server.create_account()
    handshake = org.invite_account_to_organization(Target={"Id": other.account_id, "Type": "ACCOUNT"})["Handshake"]
    other.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
    return other


def _role_session(account, role_arn: str, service: str):
    """A client of a session of ``role_arn``, assumed by an IAM user of ``account`` allowed
    sts:AssumeRole (the root user may not assume roles)."""
    iam = account.client("iam")
    try:
        iam.create_user(UserName="assumer")
        iam.put_user_policy(UserName="assumer", PolicyName="assume", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "EntityAlreadyExists"
    key = iam.create_access_key(UserName="assumer")["AccessKey"]
    sts = client_for(account.endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="admin")["Credentials"]
    iam.delete_access_key(UserName="assumer", AccessKeyId=key["AccessKeyId"])
    return client_for(account.endpoint, service, creds["AccessKeyId"], creds["SecretAccessKey"],
                      session_token=creds["SessionToken"])


# --- the organization ---------------------------------------------------------------------------


def test_describe_organization_of_an_account_in_none_is_not_in_use(cloudkeep_account):
    with pytest.raises(ClientError) as exc:
        cloudkeep_account.client("organizations").describe_organization()
    assert _err(exc) == ("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.", 400)


def test_create_organization_makes_the_caller_the_management_account_of_one_root(cloudkeep_account):
    me = cloudkeep_account.account_id
    org, o = _org(cloudkeep_account)
    assert re.fullmatch(r"o-[a-z0-9]{10}", o["Id"])
    assert o["Arn"] == f"arn:aws:organizations::{me}:organization/{o['Id']}"
    assert (o["FeatureSet"], o["MasterAccountId"], o["MasterAccountEmail"]) == ("ALL", me, cloudkeep_account.email)
    assert o["MasterAccountArn"] == f"arn:aws:organizations::{me}:account/{o['Id']}/{me}"
    assert org.describe_organization()["Organization"] == o
    (root,) = org.list_roots()["Roots"]
    assert re.fullmatch(r"r-[a-z0-9]{4}", root["Id"])
    assert root == {"Id": root["Id"], "Arn": f"arn:aws:organizations::{me}:root/{o['Id']}/{root['Id']}",
                    "Name": "Root", "PolicyTypes": []}
    (account,) = org.list_accounts()["Accounts"]
    assert (account["Id"], account["Email"], account["Status"], account["State"], account["JoinedMethod"]) == \
        (me, cloudkeep_account.email, "ACTIVE", "ACTIVE", "INVITED")
    assert org.list_parents(ChildId=me)["Parents"] == [{"Id": root["Id"], "Type": "ROOT"}]


def test_an_account_in_an_organization_cannot_create_another(cloudkeep_account, cloudkeep_server):
    org, _ = _org(cloudkeep_account)
    member = _member(cloudkeep_server, org)
    for account in (cloudkeep_account, member):
        with pytest.raises(ClientError) as exc:
            account.client("organizations").create_organization()
        assert _err(exc)[0] == "AlreadyInOrganizationException"


def test_consolidated_billing_organization_cannot_use_policy_types(cloudkeep_account):
    org = cloudkeep_account.client("organizations")
    o = org.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]
    assert (o["FeatureSet"], o["AvailablePolicyTypes"]) == ("CONSOLIDATED_BILLING", [])
    root = org.list_roots()["Roots"][0]["Id"]
    with pytest.raises(ClientError) as exc:
        org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    assert _err(exc)[0] == "PolicyTypeNotAvailableForOrganizationException"
    with pytest.raises(ClientError) as exc:
        org.create_policy(Content=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}), Description="", Name="n",
            Type="SERVICE_CONTROL_POLICY")
    assert _err(exc)[0] == "PolicyTypeNotAvailableForOrganizationException"


def test_delete_organization_only_once_the_members_are_gone(cloudkeep_account, cloudkeep_server):
    org, o = _org(cloudkeep_account)
    member = _member(cloudkeep_server, org)
    with pytest.raises(ClientError) as exc:
        org.delete_organization()
    assert _err(exc)[0] == "OrganizationNotEmptyException"
    org.remove_account_from_organization(AccountId=member.account_id)
    org.delete_organization()
    with pytest.raises(ClientError) as exc:
        org.describe_organization()
    assert _err(exc)[0] == "AWSOrganizationsNotInUseException"
    assert org.create_organization()["Organization"]["Id"] != o["Id"]     # free to make a new one


# --- CreateAccount ----------------------------------------------------------------------------------


def test_create_account_makes_a_tenant_reachable_only_through_its_admin_role(cloudkeep_account):
    org, o = _org(cloudkeep_account)
    email = _email()
    status = org.create_account(Email=email, AccountName="Production")["CreateAccountStatus"]
    assert re.fullmatch(r"car-[a-z0-9]{32}", status["Id"])
    assert (status["State"], status["AccountName"]) == ("SUCCEEDED", "Production")
    new = status["AccountId"]
    assert re.fullmatch(r"\d{12}", new) and "FailureReason" not in status
    assert org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"] == status
    account = org.describe_account(AccountId=new)["Account"]
    assert account == {"Id": new, "Arn": f"arn:aws:organizations::{cloudkeep_account.account_id}:account/{o['Id']}/{new}",
                       "Email": email, "Name": "Production", "Status": "ACTIVE", "State": "ACTIVE",
                       "JoinedMethod": "CREATED", "JoinedTimestamp": account["JoinedTimestamp"]}

    role_arn = f"arn:aws:iam::{new}:role/OrganizationAccountAccessRole"
    iam = _role_session(cloudkeep_account, role_arn, "iam")
    role = iam.get_role(RoleName="OrganizationAccountAccessRole")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{cloudkeep_account.account_id}:root"},
        "Action": "sts:AssumeRole"}]
    assert iam.list_role_policies(RoleName="OrganizationAccountAccessRole")["PolicyNames"] == ["AdministratorAccess"]
    document = iam.get_role_policy(RoleName="OrganizationAccountAccessRole",
                                   PolicyName="AdministratorAccess")["PolicyDocument"]
    assert document["Statement"] == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    iam.create_user(UserName="admin-made-here")                      # administrator in the new account
    assert iam.get_user(UserName="admin-made-here")["User"]["Arn"] == f"arn:aws:iam::{new}:user/admin-made-here"
    assert iam.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 0   # root has no key
    who = _role_session(cloudkeep_account, role_arn, "sts").get_caller_identity()
    assert who["Account"] == new
    iam.generate_credential_report()
    report = iam.get_credential_report()["Content"].decode().splitlines()
    header, root = report[0].split(","), report[1].split(",")
    assert root[0] == "<root_account>"
    assert root[header.index("access_key_1_active")] == "false"


def test_create_account_with_a_role_name_and_tags(cloudkeep_account):
    org, _ = _org(cloudkeep_account)
    status = org.create_account(Email=_email(), AccountName="Dev", RoleName="OrgAdmin",
                                Tags=[{"Key": "team", "Value": "blue"}])["CreateAccountStatus"]
    new = status["AccountId"]
    assert org.list_tags_for_resource(ResourceId=new)["Tags"] == [{"Key": "team", "Value": "blue"}]
    iam = _role_session(cloudkeep_account, f"arn:aws:iam::{new}:role/OrgAdmin", "iam")
    assert iam.get_role(RoleName="OrgAdmin")["Role"]["RoleName"] == "OrgAdmin"
    with pytest.raises(ClientError) as exc:
        org.create_account(Email=_email(), AccountName="x", RoleName="AWSServiceRoleForX")
    assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "INVALID_ROLE_NAME")


def test_create_account_with_an_email_already_in_use_fails_with_email_already_exists(cloudkeep_account):
    org, _ = _org(cloudkeep_account)
    taken = _email()
    assert org.create_account(Email=taken, AccountName="first")["CreateAccountStatus"]["State"] == "SUCCEEDED"
    for email in (taken, taken.upper(), cloudkeep_account.email):
        status = org.create_account(Email=email, AccountName="second")["CreateAccountStatus"]
        assert (status["State"], status["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
        assert "AccountId" not in status
    assert len(org.list_accounts()["Accounts"]) == 2
    listed = org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"]
    assert [s["State"] for s in listed] == ["FAILED"] * 3
    assert [s["State"] for s in org.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"]] == \
        ["SUCCEEDED"]


def test_unknown_create_account_request_and_unknown_account(cloudkeep_account, cloudkeep_server):
    org, _ = _org(cloudkeep_account)
    with pytest.raises(ClientError) as exc:
        org.describe_create_account_status(CreateAccountRequestId="car-" + "a" * 32)
    assert _err(exc)[0] == "CreateAccountStatusNotFoundException"
    stranger = cloudkeep_server.create_account()
    with pytest.raises(ClientError) as exc:
        org.describe_account(AccountId=stranger.account_id)
    assert _err(exc) == ("AccountNotFoundException", "You specified an account that doesn't exist.", 400)


# --- who may call --------------------------------------------------------------------------------


def test_a_member_reads_its_organization_but_management_operations_are_denied(cloudkeep_account, cloudkeep_server):
    org, o = _org(cloudkeep_account)
    member = _member(cloudkeep_server, org)
    theirs = member.client("organizations")
    assert theirs.describe_organization()["Organization"] == o
    calls = [lambda: theirs.list_accounts(), lambda: theirs.list_roots(),
             lambda: theirs.create_account(Email=_email(), AccountName="x"),
             lambda: theirs.describe_account(AccountId=cloudkeep_account.account_id),
             lambda: theirs.delete_organization()]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("AccessDeniedException", "You don't have permissions to access this resource.", 400)


def test_an_account_in_no_organization_gets_not_in_use(cloudkeep_account):
    org = cloudkeep_account.client("organizations")
    for call in (org.list_accounts, org.list_roots, org.leave_organization, org.delete_organization):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)[0] == "AWSOrganizationsNotInUseException"


def test_iam_users_of_the_management_account_need_organizations_permissions(cloudkeep_account):
    org, _ = _org(cloudkeep_account)
    iam = cloudkeep_account.client("iam")
    iam.create_user(UserName="ops")
    iam.put_user_policy(UserName="ops", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "organizations:ListAccounts",
                                                "Resource": "*"}]}))
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    ops = client_for(cloudkeep_account.endpoint, "organizations", key["AccessKeyId"], key["SecretAccessKey"])
    assert len(ops.list_accounts()["Accounts"]) == 1
    with pytest.raises(ClientError) as exc:
        ops.list_roots()
    code, message, _ = _err(exc)
    assert code == "AccessDeniedException"
    assert "is not authorized to perform: organizations:ListRoots" in message


def test_a_delegated_administrator_reads_the_organization_within_its_iam_permissions(cloudkeep_account,
                                                                                      cloudkeep_server):
    org, o = _org(cloudkeep_account)
    admin = _member(cloudkeep_server, org)
    theirs = admin.client("organizations")
    with pytest.raises(ClientError) as exc:
        theirs.list_accounts()
    assert _err(exc)[0] == "AccessDeniedException"
    org.enable_aws_service_access(ServicePrincipal="securityhub.amazonaws.com")
    org.register_delegated_administrator(AccountId=admin.account_id, ServicePrincipal="securityhub.amazonaws.com")
    assert {a["Id"] for a in theirs.list_accounts()["Accounts"]} == {cloudkeep_account.account_id, admin.account_id}
    assert theirs.describe_account(AccountId=cloudkeep_account.account_id)["Account"]["Id"] == \
        cloudkeep_account.account_id
    assert theirs.list_roots()["Roots"][0]["Id"].startswith("r-")
    with pytest.raises(ClientError) as exc:          # reads only
        theirs.create_organizational_unit(ParentId=theirs.list_roots()["Roots"][0]["Id"], Name="x")
    assert _err(exc)[0] == "AccessDeniedException"
    iam = admin.client("iam")                        # its own IAM users still need permissions
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = client_for(admin.endpoint, "organizations", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        reader.describe_account(AccountId=cloudkeep_account.account_id)
    assert "is not authorized to perform: organizations:DescribeAccount" in _err(exc)[1]
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "organizations:Describe*",
                                                "Resource": "*"}]}))
    assert reader.describe_account(AccountId=cloudkeep_account.account_id)["Account"]["Arn"].endswith(
        f"{o['Id']}/{cloudkeep_account.account_id}")


# --- invitations ---------------------------------------------------------------------------------


def test_invitation_accepted_puts_the_account_under_the_root(cloudkeep_account, cloudkeep_server):
    org, o = _org(cloudkeep_account)
    me = cloudkeep_account.account_id
    other = cloudkeep_server.create_account()
    h = org.invite_account_to_organization(Target={"Id": other.account_id, "Type": "ACCOUNT"}, Notes="join us",
                                           Tags=[{"Key": "env", "Value": "prod"}])["Handshake"]
    assert re.fullmatch(r"h-[a-z0-9]{8,32}", h["Id"])
    assert h["Arn"] == f"arn:aws:organizations::{me}:handshake/{o['Id']}/invite/{h['Id']}"
    assert (h["State"], h["Action"]) == ("OPEN", "INVITE")
    assert h["Parties"] == [{"Id": o["Id"], "Type": "ORGANIZATION"}, {"Id": other.account_id, "Type": "ACCOUNT"}]
    assert h["Resources"] == [
        {"Type": "ORGANIZATION", "Value": o["Id"], "Resources": [
            {"Type": "MASTER_EMAIL", "Value": cloudkeep_account.email}, {"Type": "MASTER_NAME", "Value": me},
            {"Type": "ORGANIZATION_FEATURE_SET", "Value": "ALL"}]},
        {"Type": "ACCOUNT", "Value": other.account_id}, {"Type": "NOTES", "Value": "join us"}]
    assert (h["ExpirationTimestamp"] - h["RequestedTimestamp"]).total_seconds() == 15 * DAY
    theirs = other.client("organizations")
    assert [x["Id"] for x in theirs.list_handshakes_for_account()["Handshakes"]] == [h["Id"]]
    assert theirs.describe_handshake(HandshakeId=h["Id"])["Handshake"] == h
    assert [x["Id"] for x in org.list_handshakes_for_organization()["Handshakes"]] == [h["Id"]]
    accepted = theirs.accept_handshake(HandshakeId=h["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    account = org.describe_account(AccountId=other.account_id)["Account"]
    assert (account["JoinedMethod"], account["Email"], account["Status"]) == ("INVITED", other.email, "ACTIVE")
    assert org.list_parents(ChildId=other.account_id)["Parents"][0]["Type"] == "ROOT"
    assert org.list_tags_for_resource(ResourceId=other.account_id)["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert theirs.describe_organization()["Organization"]["Id"] == o["Id"]
    with pytest.raises(ClientError) as exc:
        theirs.accept_handshake(HandshakeId=h["Id"])
    assert _err(exc)[0] == "HandshakeAlreadyInStateException"


def test_invitation_by_email_finds_the_account_with_that_root_email(cloudkeep_account, cloudkeep_server):
    org, _ = _org(cloudkeep_account)
    other = cloudkeep_server.create_account(email=_email())
    h = org.invite_account_to_organization(Target={"Id": other.email, "Type": "EMAIL"})["Handshake"]
    assert h["Parties"][1] == {"Id": other.email, "Type": "EMAIL"}
    other.client("organizations").accept_handshake(HandshakeId=h["Id"])
    assert other.account_id in {a["Id"] for a in org.list_accounts()["Accounts"]}
    with pytest.raises(ClientError) as exc:
        org.invite_account_to_organization(Target={"Id": _email(), "Type": "EMAIL"})
    assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "INVALID_EMAIL_ADDRESS_TARGET")


def test_invitations_to_members_and_duplicate_invitations_are_refused(cloudkeep_account, cloudkeep_server):
    org, _ = _org(cloudkeep_account)
    member = _member(cloudkeep_server, org)
    for target in (member.account_id, cloudkeep_account.account_id):
        with pytest.raises(ClientError) as exc:
            org.invite_account_to_organization(Target={"Id": target, "Type": "ACCOUNT"})
        assert (_err(exc)[0], _reason(exc)) == ("HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")
    other = cloudkeep_server.create_account()
    org.invite_account_to_organization(Target={"Id": other.account_id, "Type": "ACCOUNT"})
    with pytest.raises(ClientError) as exc:
        org.invite_account_to_organization(Target={"Id": other.account_id, "Type": "ACCOUNT"})
    assert _err(exc)[0] == "DuplicateHandshakeException"


def test_decline_and_cancel_end_an_invitation_and_only_the_right_party_may(cloudkeep_account, cloudkeep_server):
    org, _ = _org(cloudkeep_account)
    other, stranger = cloudkeep_server.create_account(), cloudkeep_server.create_account()
    theirs = other.client("organizations")
    first = org.invite_account_to_organization(Target={"Id": other.account_id, "Type": "ACCOUNT"})["Handshake"]
    with pytest.raises(ClientError) as exc:
        stranger.client("organizations").describe_handshake(HandshakeId=first["Id"])
    assert _err(exc)[0] == "HandshakeNotFoundException"
    for call in (lambda: org.accept_handshake(HandshakeId=first["Id"]),
                 lambda: theirs.cancel_handshake(HandshakeId=first["Id"])):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)[0] == "AccessDeniedException"
    assert theirs.decline_handshake(HandshakeId=first["Id"])["Handshake"]["State"] == "DECLINED"
    with pytest.raises(ClientError) as exc:
        theirs.decline_handshake(HandshakeId=first["Id"])
    assert _err(exc)[0] == "HandshakeAlreadyInStateException"
    with pytest.raises(ClientError) as exc:
        theirs.accept_handshake(HandshakeId=first["Id"])
    assert _err(exc)[0] == "InvalidHandshakeTransitionException"
    second = org.invite_account_to_organization(Target={"Id": other.account_id, "Type": "ACCOUNT"})["Handshake"]
    assert org.cancel_handshake(HandshakeId=second["Id"])["Handshake"]["State"] == "CANCELED"
    with pytest.raises(ClientError) as exc:
        theirs.accept_handshake(HandshakeId=second["Id"])
    assert _err(exc)[0] == "InvalidHandshakeTransitionException"
    states = {h["Id"]: h["State"] for h in theirs.list_handshakes_for_account()["Handshakes"]}
    assert states == {first["Id"]: "DECLINED", second["Id"]: "CANCELED"}
    assert len(org.list_accounts()["Accounts"]) == 1


def test_invitation_expires_after_15_days_and_is_gone_30_days_later(cloudkeep_account, cloudkeep_server):
    org, _ = _org(cloudkeep_account)
    other = cloudkeep_server.create_account()
    h = org.invite_account_to_organization(Target={"Id": other.account_id, "Type": "ACCOUNT"})["Handshake"]
    cloudkeep_server.advance(15 * DAY + 60)
    theirs = other.client("organizations")
    assert theirs.describe_handshake(HandshakeId=h["Id"])["Handshake"]["State"] == "EXPIRED"
    with pytest.raises(ClientError) as exc:
        theirs.accept_handshake(HandshakeId=h["Id"])
    assert _err(exc)[0] == "InvalidHandshakeTransitionException"
    again = org.invite_account_to_organization(Target={"Id": other.account_id, "Type": "ACCOUNT"})["Handshake"]
    assert again["State"] == "OPEN"                   # an expired invitation is no duplicate
    cloudkeep_server.advance(30 * DAY)
    with pytest.raises(ClientError) as exc:
        theirs.describe_handshake(HandshakeId=h["Id"])
    assert _err(exc)[0] == "HandshakeNotFoundException"
    assert [x["State"] for x in theirs.list_handshakes_for_account()["Handshakes"]] == ["EXPIRED"]


# --- moving, removing, leaving, closing ----------------------------------------------------------


def test_move_account_between_the_root_and_an_ou(cloudkeep_account):
    org, _ = _org(cloudkeep_account)
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    new = org.create_account(Email=_email(), AccountName="w")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=new, SourceParentId=root, DestinationParentId=ou)
    assert [a["Id"] for a in org.list_accounts_for_parent(ParentId=ou)["Accounts"]] == [new]
    assert org.list_parents(ChildId=new)["Parents"] == [{"Id": ou, "Type": "ORGANIZATIONAL_UNIT"}]
    assert org.list_children(ParentId=ou, ChildType="ACCOUNT")["Children"] == [{"Id": new, "Type": "ACCOUNT"}]
    missing = ou[:-8] + "zzzzzzzz"
    cases = [(dict(SourceParentId=missing, DestinationParentId=root), "SourceParentNotFoundException"),
             (dict(SourceParentId=ou, DestinationParentId=missing), "DestinationParentNotFoundException"),
             (dict(SourceParentId=root, DestinationParentId=ou), "DuplicateAccountException"),
             (dict(SourceParentId=ou, DestinationParentId=ou), "DuplicateAccountException")]
    for params, code in cases:
        with pytest.raises(ClientError) as exc:
            org.move_account(AccountId=new, **params)
        assert _err(exc)[0] == code
    other = org.create_organizational_unit(ParentId=root, Name="Other")["OrganizationalUnit"]["Id"]
    with pytest.raises(ClientError) as exc:                # not in the source parent
        org.move_account(AccountId=new, SourceParentId=other, DestinationParentId=root)
    assert _err(exc)[0] == "AccountNotFoundException"
    org.move_account(AccountId=new, SourceParentId=ou, DestinationParentId=root)
    assert org.list_accounts_for_parent(ParentId=ou)["Accounts"] == []


def test_a_removed_account_stays_on_the_server_out_of_the_organization(cloudkeep_account):
    org, _ = _org(cloudkeep_account)
    new = org.create_account(Email=_email(), AccountName="gone")["CreateAccountStatus"]["AccountId"]
    org.remove_account_from_organization(AccountId=new)
    assert [a["Id"] for a in org.list_accounts()["Accounts"]] == [cloudkeep_account.account_id]
    with pytest.raises(ClientError) as exc:
        org.describe_account(AccountId=new)
    assert _err(exc)[0] == "AccountNotFoundException"
    orgs = _role_session(cloudkeep_account, f"arn:aws:iam::{new}:role/OrganizationAccountAccessRole",
                         "organizations")
    with pytest.raises(ClientError) as exc:                # still a tenant, in no organization
        orgs.describe_organization()
    assert _err(exc)[0] == "AWSOrganizationsNotInUseException"
    with pytest.raises(ClientError) as exc:
        org.remove_account_from_organization(AccountId=cloudkeep_account.account_id)
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException", "ACCOUNT_CANNOT_LEAVE_ORGANIZATION")


def test_a_member_leaves_but_the_management_account_cannot(cloudkeep_account, cloudkeep_server):
    org, _ = _org(cloudkeep_account)
    member = _member(cloudkeep_server, org)
    member.client("organizations").leave_organization()
    assert [a["Id"] for a in org.list_accounts()["Accounts"]] == [cloudkeep_account.account_id]
    with pytest.raises(ClientError) as exc:
        member.client("organizations").describe_organization()
    assert _err(exc)[0] == "AWSOrganizationsNotInUseException"
    with pytest.raises(ClientError) as exc:
        org.leave_organization()
    assert _err(exc)[0] == "MasterCannotLeaveOrganizationException"


def test_close_account_suspends_it_once(cloudkeep_account):
    org, _ = _org(cloudkeep_account)
    new = org.create_account(Email=_email(), AccountName="closing")["CreateAccountStatus"]["AccountId"]
    org.close_account(AccountId=new)
    account = org.describe_account(AccountId=new)["Account"]
    assert (account["Status"], account["State"]) == ("SUSPENDED", "SUSPENDED")
    with pytest.raises(ClientError) as exc:
        org.close_account(AccountId=new)
    assert _err(exc)[0] == "AccountAlreadyClosedException"
    with pytest.raises(ClientError) as exc:
        org.close_account(AccountId=cloudkeep_account.account_id)
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException", "CANNOT_CLOSE_MANAGEMENT_ACCOUNT")


def test_at_most_ten_accounts_close_in_thirty_days(cloudkeep_account, cloudkeep_server):
    org, _ = _org(cloudkeep_account)
    accounts = [org.create_account(Email=_email(), AccountName=f"a{i}")["CreateAccountStatus"]["AccountId"]
                for i in range(11)]
    for account_id in accounts[:10]:
        org.close_account(AccountId=account_id)
    with pytest.raises(ClientError) as exc:
        org.close_account(AccountId=accounts[10])
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException", "CLOSE_ACCOUNT_QUOTA_EXCEEDED")
    cloudkeep_server.advance(31 * DAY)
    org.close_account(AccountId=accounts[10])


# --- paging --------------------------------------------------------------------------------------


def test_list_accounts_pages_with_next_token(cloudkeep_account):
    org, _ = _org(cloudkeep_account)
    made = {org.create_account(Email=_email(), AccountName=f"p{i}")["CreateAccountStatus"]["AccountId"]
            for i in range(3)}
    first = org.list_accounts(MaxResults=2)
    assert len(first["Accounts"]) == 2 and "NextToken" in first
    second = org.list_accounts(MaxResults=2, NextToken=first["NextToken"])
    assert len(second["Accounts"]) == 2 and "NextToken" not in second
    assert {a["Id"] for a in first["Accounts"] + second["Accounts"]} == made | {cloudkeep_account.account_id}
    paginated = [a["Id"] for page in org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 1})
                 for a in page["Accounts"]]
    assert len(paginated) == 4 and set(paginated) == made | {cloudkeep_account.account_id}
    root = org.list_roots()["Roots"][0]["Id"]
    for token in ("not-a-token", org.list_children(ParentId=root, ChildType="ACCOUNT", MaxResults=1)["NextToken"]):
        with pytest.raises(ClientError) as exc:
            org.list_accounts(NextToken=token)
        assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "INVALID_NEXT_TOKEN")


def test_concurrent_create_organization_makes_exactly_one(cloudkeep_account):
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_):
        try:
            return cloudkeep_account.client("organizations").create_organization()["Organization"]["Id"]
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    made = [o for o in outcomes if o.startswith("o-")]
    assert len(made) == 1
    assert sorted(set(outcomes) - set(made)) == ["AlreadyInOrganizationException"]
    assert cloudkeep_account.client("organizations").describe_organization()["Organization"]["Id"] == made[0]
