"""AWS Organizations end to end, the tree and what hangs on it: OUs (nesting limit, names), policy
types (what enabling and disabling attach and detach), SCPs and RCPs (validation, quotas,
AWS managed policies), attachments (duplicates, the 5-per-target limit, the last SCP,
RCPFullAWSAccess), tags, trusted access and delegated administrators, and IAM condition keys of
Organizations (organizations:PolicyType, aws:ResourceTag).

AWS pages: https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganizationalUnit.html,
API_EnablePolicyType.html, API_DisablePolicyType.html, API_CreatePolicy.html, API_UpdatePolicy.html,
API_DeletePolicy.html, API_AttachPolicy.html, API_DetachPolicy.html, API_ListPoliciesForTarget.html,
API_ListTargetsForPolicy.html, API_DescribeEffectivePolicy.html, API_TagResource.html,
API_RegisterDelegatedAdministrator.html; quotas:
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html; RCP syntax:
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html
"""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

from cloudkeep.testing.server import client_for
from test_e2e_organizations import _email, _err, _member, _org, _reason

SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
FULL = "p-FullAWSAccess"
RCP_FULL = "p-RCPFullAWSAccess"


def _doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


DENY_S3 = _doc({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
RCP_DENY = _doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                 "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaaaaaaaa"}}})


@pytest.fixture
def org(cloudkeep_account):
    client, _ = _org(cloudkeep_account)
    return client


def _root(org) -> str:
    return org.list_roots()["Roots"][0]["Id"]


def _attached(org, target: str, policy_type: str = SCP) -> set[str]:
    return {p["Id"] for p in org.list_policies_for_target(TargetId=target, Filter=policy_type)["Policies"]}


# --- OUs -------------------------------------------------------------------------------------------


def test_ous_nest_five_levels_below_the_root_and_no_deeper(org, cloudkeep_account):
    root = _root(org)
    o = org.describe_organization()["Organization"]
    parent, made = root, []
    for level in range(1, 6):
        ou = org.create_organizational_unit(ParentId=parent, Name=f"level{level}")["OrganizationalUnit"]
        assert re.fullmatch(rf"ou-{root[2:]}-[a-z0-9]{{8}}", ou["Id"])
        assert ou == {"Id": ou["Id"], "Name": f"level{level}",
                      "Arn": f"arn:aws:organizations::{cloudkeep_account.account_id}:ou/{o['Id']}/{ou['Id']}"}
        made.append(ou["Id"])
        parent = ou["Id"]
    with pytest.raises(ClientError) as exc:
        org.create_organizational_unit(ParentId=parent, Name="level6")
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException", "OU_DEPTH_LIMIT_EXCEEDED")
    assert org.list_parents(ChildId=made[2])["Parents"] == [{"Id": made[1], "Type": "ORGANIZATIONAL_UNIT"}]
    assert org.list_parents(ChildId=made[0])["Parents"] == [{"Id": root, "Type": "ROOT"}]


def test_ou_names_are_unique_under_one_parent(org):
    root = _root(org)
    a = org.create_organizational_unit(ParentId=root, Name="Prod")["OrganizationalUnit"]
    b = org.create_organizational_unit(ParentId=root, Name="Dev")["OrganizationalUnit"]
    org.create_organizational_unit(ParentId=a["Id"], Name="Dev")                 # another parent: fine
    with pytest.raises(ClientError) as exc:
        org.create_organizational_unit(ParentId=root, Name="Prod")
    assert _err(exc) == ("DuplicateOrganizationalUnitException", "An OU with the same name already exists.", 400)
    with pytest.raises(ClientError) as exc:
        org.update_organizational_unit(OrganizationalUnitId=b["Id"], Name="Prod")
    assert _err(exc)[0] == "DuplicateOrganizationalUnitException"
    renamed = org.update_organizational_unit(OrganizationalUnitId=b["Id"], Name="Staging")["OrganizationalUnit"]
    assert renamed == {**b, "Name": "Staging"}
    assert org.describe_organizational_unit(OrganizationalUnitId=b["Id"])["OrganizationalUnit"] == renamed
    listed = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    assert sorted(o["Name"] for o in listed) == ["Prod", "Staging"]
    children = org.list_children(ParentId=root, ChildType="ORGANIZATIONAL_UNIT")["Children"]
    assert {c["Id"] for c in children} == {a["Id"], b["Id"]}


def test_an_ou_is_deleted_only_when_empty(org):
    root = _root(org)
    parent = org.create_organizational_unit(ParentId=root, Name="p")["OrganizationalUnit"]["Id"]
    child = org.create_organizational_unit(ParentId=parent, Name="c")["OrganizationalUnit"]["Id"]
    new = org.create_account(Email=_email(), AccountName="a")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=new, SourceParentId=root, DestinationParentId=child)
    for ou in (parent, child):
        with pytest.raises(ClientError) as exc:
            org.delete_organizational_unit(OrganizationalUnitId=ou)
        assert _err(exc)[0] == "OrganizationalUnitNotEmptyException"
    org.move_account(AccountId=new, SourceParentId=child, DestinationParentId=root)
    org.delete_organizational_unit(OrganizationalUnitId=child)
    org.delete_organizational_unit(OrganizationalUnitId=parent)
    with pytest.raises(ClientError) as exc:
        org.describe_organizational_unit(OrganizationalUnitId=parent)
    assert _err(exc) == ("OrganizationalUnitNotFoundException",
                         "You specified an organizational unit that doesn't exist.", 400)
    with pytest.raises(ClientError) as exc:
        org.create_organizational_unit(ParentId=parent, Name="x")
    assert _err(exc)[0] == "ParentNotFoundException"
    with pytest.raises(ClientError) as exc:
        org.list_parents(ChildId=parent)
    assert _err(exc)[0] == "ChildNotFoundException"


def test_another_organizations_ou_is_not_found(org, cloudkeep_server):
    theirs, _ = _org(cloudkeep_server.create_account())
    ou = theirs.create_organizational_unit(ParentId=_root(theirs), Name="x")["OrganizationalUnit"]["Id"]
    with pytest.raises(ClientError) as exc:
        org.describe_organizational_unit(OrganizationalUnitId=ou)
    assert _err(exc)[0] == "OrganizationalUnitNotFoundException"
    with pytest.raises(ClientError) as exc:
        org.list_children(ParentId=_root(theirs), ChildType="ACCOUNT")
    assert _err(exc)[0] == "ParentNotFoundException"


# --- policy types ------------------------------------------------------------------------------------


def test_enabling_scps_attaches_full_aws_access_everywhere_and_to_what_comes_later(org):
    root = _root(org)
    ou = org.create_organizational_unit(ParentId=root, Name="early")["OrganizationalUnit"]["Id"]
    early = org.create_account(Email=_email(), AccountName="early")["CreateAccountStatus"]["AccountId"]
    me = org.describe_organization()["Organization"]["MasterAccountId"]
    assert _attached(org, root) == set()
    result = org.enable_policy_type(RootId=root, PolicyType=SCP)["Root"]
    assert result["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    assert org.list_roots()["Roots"][0]["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    late_ou = org.create_organizational_unit(ParentId=root, Name="late")["OrganizationalUnit"]["Id"]
    late = org.create_account(Email=_email(), AccountName="late")["CreateAccountStatus"]["AccountId"]
    for target in (root, ou, early, me, late_ou, late):
        assert _attached(org, target) == {FULL}
    targets = org.list_targets_for_policy(PolicyId=FULL)["Targets"]
    assert {(t["TargetId"], t["Type"]) for t in targets} == {
        (root, "ROOT"), (ou, "ORGANIZATIONAL_UNIT"), (late_ou, "ORGANIZATIONAL_UNIT"),
        (early, "ACCOUNT"), (me, "ACCOUNT"), (late, "ACCOUNT")}
    assert {t["Name"] for t in targets if t["Type"] == "ROOT"} == {"Root"}
    with pytest.raises(ClientError) as exc:
        org.enable_policy_type(RootId=root, PolicyType=SCP)
    assert _err(exc)[0] == "PolicyTypeAlreadyEnabledException"
    with pytest.raises(ClientError) as exc:
        org.enable_policy_type(RootId="r-zzzz", PolicyType=SCP)
    assert _err(exc) == ("RootNotFoundException", "You specified a root that doesn't exist.", 400)


def test_disabling_scps_detaches_every_scp_and_reenabling_starts_from_full_aws_access(org):
    root = _root(org)
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    custom = org.create_policy(Content=DENY_S3, Description="no s3", Name="NoS3", Type=SCP)["Policy"]
    pid = custom["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=pid, TargetId=root)
    assert _attached(org, root) == {FULL, pid}
    assert org.disable_policy_type(RootId=root, PolicyType=SCP)["Root"]["PolicyTypes"] == []
    assert _attached(org, root) == set()
    with pytest.raises(ClientError) as exc:
        org.disable_policy_type(RootId=root, PolicyType=SCP)
    assert _err(exc)[0] == "PolicyTypeNotEnabledException"
    with pytest.raises(ClientError) as exc:
        org.attach_policy(PolicyId=pid, TargetId=root)
    assert _err(exc)[0] == "PolicyTypeNotEnabledException"
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    assert _attached(org, root) == {FULL}


def test_rcps_attach_rcp_full_aws_access_which_is_never_detached(org):
    root = _root(org)
    org.enable_policy_type(RootId=root, PolicyType=RCP)
    assert _attached(org, root, RCP) == {RCP_FULL}
    described = org.describe_policy(PolicyId=RCP_FULL)["Policy"]
    assert described["PolicySummary"] == {
        "Id": RCP_FULL, "Arn": "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess",
        "Name": "RCPFullAWSAccess", "Description": "Allows access to every resource", "Type": RCP, "AwsManaged": True}
    assert json.loads(described["Content"]) == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
    with pytest.raises(ClientError) as exc:
        org.detach_policy(PolicyId=RCP_FULL, TargetId=root)
    assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "NON_DETACHABLE_POLICY")
    deny = org.create_policy(Content=RCP_DENY, Description="", Name="OrgOnly", Type=RCP)["Policy"]["PolicySummary"]
    assert deny["Arn"].split(":policy/")[1].startswith(f"{org.describe_organization()['Organization']['Id']}"
                                                       f"/resource_control_policy/p-")
    org.attach_policy(PolicyId=deny["Id"], TargetId=root)
    org.detach_policy(PolicyId=deny["Id"], TargetId=root)                   # customer RCPs detach freely
    assert _attached(org, root, RCP) == {RCP_FULL}


def test_other_policy_types_are_not_available_and_have_no_effective_policy(org, cloudkeep_account):
    with pytest.raises(ClientError) as exc:
        org.enable_policy_type(RootId=_root(org), PolicyType="TAG_POLICY")
    assert _err(exc)[0] == "PolicyTypeNotAvailableForOrganizationException"
    with pytest.raises(ClientError) as exc:
        org.describe_effective_policy(PolicyType="TAG_POLICY", TargetId=cloudkeep_account.account_id)
    assert _err(exc)[0] == "EffectivePolicyNotFoundException"
    with pytest.raises(ClientError) as exc:
        org.describe_effective_policy(PolicyType="TAG_POLICY", TargetId=_root(org))
    assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "TARGET_NOT_SUPPORTED")
    with pytest.raises(ClientError) as exc:               # SCPs have no effective-policy view: not in the enum
        org.describe_effective_policy(PolicyType=SCP)
    # AWS answers InvalidInputException (INVALID_ENUM); input validation is the wire validator's
    # (wire/validate.py), which names the error ValidationException for every JSON service
    code, message, status = _err(exc)
    assert code in ("InvalidInputException", "ValidationException") and status == 400
    assert "SERVICE_CONTROL_POLICY" in message or code == "InvalidInputException"


# --- policies -----------------------------------------------------------------------------------------


def test_create_describe_list_update_and_delete_an_scp(org, cloudkeep_account):
    o = org.describe_organization()["Organization"]
    created = org.create_policy(Content=DENY_S3, Description="no s3", Name="NoS3", Type=SCP,
                                Tags=[{"Key": "owner", "Value": "sec"}])["Policy"]
    summary = created["PolicySummary"]
    assert re.fullmatch(r"p-[a-z0-9]{8}", summary["Id"])
    assert summary == {"Id": summary["Id"], "Name": "NoS3", "Description": "no s3", "Type": SCP, "AwsManaged": False,
                       "Arn": f"arn:aws:organizations::{cloudkeep_account.account_id}:policy/{o['Id']}"
                              f"/service_control_policy/{summary['Id']}"}
    assert created["Content"] == DENY_S3
    assert org.describe_policy(PolicyId=summary["Id"])["Policy"] == created
    listed = org.list_policies(Filter=SCP)["Policies"]
    assert [p["Id"] for p in listed] == [FULL, summary["Id"]]
    assert listed[0] == {"Id": FULL, "Arn": "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
                         "Name": "FullAWSAccess", "Description": "Allows access to every operation", "Type": SCP,
                         "AwsManaged": True}
    assert org.list_tags_for_resource(ResourceId=summary["Id"])["Tags"] == [{"Key": "owner", "Value": "sec"}]
    with pytest.raises(ClientError) as exc:
        org.create_policy(Content=DENY_S3, Description="", Name="NoS3", Type=SCP)
    assert _err(exc) == ("DuplicatePolicyException", "A policy with the same name already exists.", 400)
    deny_ec2 = _doc({"Effect": "Deny", "Action": "ec2:*", "Resource": "*"})
    updated = org.update_policy(PolicyId=summary["Id"], Name="NoEC2", Content=deny_ec2)["Policy"]
    assert (updated["PolicySummary"]["Name"], updated["PolicySummary"]["Description"], updated["Content"]) == \
        ("NoEC2", "no s3", deny_ec2)
    for call in (lambda: org.update_policy(PolicyId=FULL, Name="x"), lambda: org.delete_policy(PolicyId=FULL)):
        with pytest.raises(ClientError) as exc:
            call()
        assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "IMMUTABLE_POLICY")
    org.delete_policy(PolicyId=summary["Id"])
    with pytest.raises(ClientError) as exc:
        org.describe_policy(PolicyId=summary["Id"])
    assert _err(exc) == ("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.",
                         400)


@pytest.mark.parametrize("policy_type,content", [
    (SCP, _doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"})),    # no Principal in an SCP
    (SCP, "{not json"),
    (SCP, _doc({"Effect": "Deny", "Action": "s3", "Resource": "*"})),                      # action without a vendor
    (RCP, _doc({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})),                    # an RCP names Principal "*"
    (RCP, _doc({"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"})),
    (RCP, _doc({"Effect": "Deny", "NotPrincipal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"})),
    (RCP, _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"})),   # only RCPFullAWSAccess allows
], ids=["scp-principal", "scp-json", "scp-action", "rcp-no-principal", "rcp-account-principal", "rcp-notprincipal",
        "rcp-allow"])
def test_a_malformed_policy_document_is_refused(org, policy_type, content):
    with pytest.raises(ClientError) as exc:
        org.create_policy(Content=content, Description="", Name="bad", Type=policy_type)
    assert _err(exc) == ("MalformedPolicyDocumentException",
                         "The provided policy document does not meet the requirements of the specified policy type.",
                         400)
    assert [p["Id"] for p in org.list_policies(Filter=policy_type)["Policies"]] == \
        [FULL if policy_type == SCP else RCP_FULL]


def test_a_policy_of_more_than_5120_characters_is_refused_whitespace_included(org):
    statement = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}
    content = _doc(statement)
    padded = content[:-1] + " " * (5120 - len(content)) + "}"
    assert len(padded) == 5120
    org.create_policy(Content=padded, Description="", Name="exactly", Type=SCP)
    with pytest.raises(ClientError) as exc:
        org.create_policy(Content=padded[:-1] + " }", Description="", Name="one-more", Type=SCP)
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException", "POLICY_CONTENT_LIMIT_EXCEEDED")


# --- attachments -------------------------------------------------------------------------------------


def test_attachments_duplicates_limit_and_the_last_scp(org):
    root = _root(org)
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    ou = org.create_organizational_unit(ParentId=root, Name="ou")["OrganizationalUnit"]["Id"]
    ids = [org.create_policy(Content=DENY_S3, Description="", Name=f"p{i}", Type=SCP)["Policy"]["PolicySummary"]["Id"]
           for i in range(5)]
    for pid in ids[:4]:
        org.attach_policy(PolicyId=pid, TargetId=ou)
    with pytest.raises(ClientError) as exc:
        org.attach_policy(PolicyId=ids[0], TargetId=ou)
    assert _err(exc)[0] == "DuplicatePolicyAttachmentException"
    with pytest.raises(ClientError) as exc:                       # FullAWSAccess and 4 more: 5 attached
        org.attach_policy(PolicyId=ids[4], TargetId=ou)
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException",
                                            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    assert {t["TargetId"] for t in org.list_targets_for_policy(PolicyId=ids[0])["Targets"]} == {ou}
    with pytest.raises(ClientError) as exc:
        org.delete_policy(PolicyId=ids[0])
    assert _err(exc)[0] == "PolicyInUseException"
    with pytest.raises(ClientError) as exc:
        org.detach_policy(PolicyId=ids[4], TargetId=ou)
    assert _err(exc)[0] == "PolicyNotAttachedException"
    org.detach_policy(PolicyId=FULL, TargetId=ou)                 # others remain: allowed
    for pid in ids[:3]:
        org.detach_policy(PolicyId=pid, TargetId=ou)
    with pytest.raises(ClientError) as exc:
        org.detach_policy(PolicyId=ids[3], TargetId=ou)
    assert _err(exc) == ("ConstraintViolationException", "You cannot remove the last policy attached to the "
                         "specified target. You must have at least one attached at all times.", 400)
    assert _reason(exc) == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    assert _attached(org, ou) == {ids[3]}


def test_attaching_to_unknown_targets_and_unknown_policies(org, cloudkeep_server):
    root = _root(org)
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    pid = org.create_policy(Content=DENY_S3, Description="", Name="x", Type=SCP)["Policy"]["PolicySummary"]["Id"]
    stranger = cloudkeep_server.create_account().account_id
    for target in (stranger, "r-zzzz", root.replace("r-", "ou-") + "-zzzzzzzz"):
        with pytest.raises(ClientError) as exc:
            org.attach_policy(PolicyId=pid, TargetId=target)
        assert _err(exc) == ("TargetNotFoundException", "You specified a target that doesn't exist.", 400)
    with pytest.raises(ClientError) as exc:
        org.attach_policy(PolicyId="p-zzzzzzzz", TargetId=root)
    assert _err(exc)[0] == "PolicyNotFoundException"


# --- tags -------------------------------------------------------------------------------------------


def test_tags_on_the_root_ous_accounts_and_policies(org, cloudkeep_account):
    root = _root(org)
    ou = org.create_organizational_unit(ParentId=root, Name="t", Tags=[{"Key": "a", "Value": "1"}])
    ou_id = ou["OrganizationalUnit"]["Id"]
    pid = org.create_policy(Content=DENY_S3, Description="", Name="t", Type=SCP)["Policy"]["PolicySummary"]["Id"]
    for resource in (root, ou_id, cloudkeep_account.account_id, pid):
        org.tag_resource(ResourceId=resource, Tags=[{"Key": "team", "Value": "blue"}, {"Key": "b", "Value": "2"}])
        org.untag_resource(ResourceId=resource, TagKeys=["b"])
    assert org.list_tags_for_resource(ResourceId=ou_id)["Tags"] == [{"Key": "a", "Value": "1"},
                                                                    {"Key": "team", "Value": "blue"}]
    for resource in (root, cloudkeep_account.account_id, pid):
        assert org.list_tags_for_resource(ResourceId=resource)["Tags"] == [{"Key": "team", "Value": "blue"}]
    with pytest.raises(ClientError) as exc:
        org.tag_resource(ResourceId=FULL, Tags=[{"Key": "k", "Value": "v"}])
    assert _err(exc)[0] == "TargetNotFoundException"
    with pytest.raises(ClientError) as exc:
        org.tag_resource(ResourceId=root, Tags=[{"Key": "aws:x", "Value": "v"}])
    assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "INVALID_SYSTEM_TAGS_PARAMETER")
    with pytest.raises(ClientError) as exc:
        org.tag_resource(ResourceId=root, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException", "MAX_TAG_LIMIT_EXCEEDED")
    assert len(org.list_tags_for_resource(ResourceId=root)["Tags"]) == 1


# --- trusted access and delegated administrators --------------------------------------------------------


def test_delegated_administrators_need_trusted_access_and_a_member_account(org, cloudkeep_account, cloudkeep_server):
    member = _member(cloudkeep_server, org)
    service = "guardduty.amazonaws.com"
    with pytest.raises(ClientError) as exc:
        org.register_delegated_administrator(AccountId=member.account_id, ServicePrincipal=service)
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException", "SERVICE_ACCESS_NOT_ENABLED")
    org.enable_aws_service_access(ServicePrincipal=service)
    org.enable_aws_service_access(ServicePrincipal=service)                          # again: no change
    assert [s["ServicePrincipal"] for s in org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]] \
        == [service]
    org.register_delegated_administrator(AccountId=member.account_id, ServicePrincipal=service)
    with pytest.raises(ClientError) as exc:
        org.register_delegated_administrator(AccountId=member.account_id, ServicePrincipal=service)
    assert _err(exc)[0] == "AccountAlreadyRegisteredException"
    with pytest.raises(ClientError) as exc:
        org.register_delegated_administrator(AccountId=cloudkeep_account.account_id, ServicePrincipal=service)
    assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException",
                                            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR")
    with pytest.raises(ClientError) as exc:
        org.register_delegated_administrator(AccountId=member.account_id, ServicePrincipal="nope.amazonaws.com")
    assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")
    (admin,) = org.list_delegated_administrators()["DelegatedAdministrators"]
    assert (admin["Id"], admin["JoinedMethod"], admin["Status"]) == (member.account_id, "INVITED", "ACTIVE")
    assert "DelegationEnabledDate" in admin
    assert org.list_delegated_administrators(ServicePrincipal="ssm.amazonaws.com")["DelegatedAdministrators"] == []
    services = org.list_delegated_services_for_account(AccountId=member.account_id)["DelegatedServices"]
    assert [s["ServicePrincipal"] for s in services] == [service]
    for call in (lambda: org.remove_account_from_organization(AccountId=member.account_id),
                 lambda: member.client("organizations").leave_organization()):
        with pytest.raises(ClientError) as exc:
            call()
        assert (_err(exc)[0], _reason(exc)) == ("ConstraintViolationException",
                                                "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG")
    org.deregister_delegated_administrator(AccountId=member.account_id, ServicePrincipal=service)
    for call in (lambda: org.deregister_delegated_administrator(AccountId=member.account_id, ServicePrincipal=service),
                 lambda: org.list_delegated_services_for_account(AccountId=member.account_id)):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)[0] == "AccountNotRegisteredException"
    org.remove_account_from_organization(AccountId=member.account_id)
    org.disable_aws_service_access(ServicePrincipal=service)
    assert org.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []
    with pytest.raises(ClientError) as exc:
        org.disable_aws_service_access(ServicePrincipal="nope.amazonaws.com")
    assert (_err(exc)[0], _reason(exc)) == ("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")


# --- IAM condition keys -----------------------------------------------------------------------------


def _user(account, *statements):
    iam = account.client("iam")
    iam.create_user(UserName="u")
    iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=_doc(*statements))
    key = iam.create_access_key(UserName="u")["AccessKey"]
    return client_for(account.endpoint, "organizations", key["AccessKeyId"], key["SecretAccessKey"])


def test_organizations_policy_type_condition_key(org, cloudkeep_account):
    user = _user(cloudkeep_account, {"Effect": "Allow", "Action": "organizations:*", "Resource": "*"},
                 {"Effect": "Deny", "Action": "organizations:CreatePolicy", "Resource": "*",
                  "Condition": {"StringEquals": {"organizations:PolicyType": RCP}}})
    user.create_policy(Content=DENY_S3, Description="", Name="ok", Type=SCP)
    with pytest.raises(ClientError) as exc:
        user.create_policy(Content=RCP_DENY, Description="", Name="no", Type=RCP)
    code, message, _ = _err(exc)
    assert code == "AccessDeniedException" and "explicit deny in an identity-based policy" in message


def test_resource_tags_of_ous_decide_iam_access(org, cloudkeep_account):
    root = _root(org)
    blue = org.create_organizational_unit(ParentId=root, Name="blue",
                                          Tags=[{"Key": "team", "Value": "blue"}])["OrganizationalUnit"]["Id"]
    red = org.create_organizational_unit(ParentId=root, Name="red")["OrganizationalUnit"]["Id"]
    user = _user(cloudkeep_account, {"Effect": "Allow", "Action": "organizations:DescribeOrganizationalUnit",
                                     "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}})
    assert user.describe_organizational_unit(OrganizationalUnitId=blue)["OrganizationalUnit"]["Name"] == "blue"
    with pytest.raises(ClientError) as exc:
        user.describe_organizational_unit(OrganizationalUnitId=red)
    assert _err(exc)[0] == "AccessDeniedException"
