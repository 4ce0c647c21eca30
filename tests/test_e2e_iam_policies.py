"""End to end: IAM managed policies and versions, policy tags, inline policies, attachments,
permissions boundaries and the AWS managed policies, on the real server driven by boto3.

AWS pages checked:
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html (DeleteConflict texts)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html (5 versions,
  the default version cannot be deleted)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (10 managed policies per
  entity, inline aggregates 2,048 / 5,120 / 10,240, managed 6,144, whitespace not counted)
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListEntitiesForPolicy.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
"""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _doc(*actions: str, resource: str = "*") -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]})


def _error(exc: pytest.ExceptionInfo) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def iam(cloudkeep_account):
    return cloudkeep_account.client("iam")


@pytest.fixture
def acct(cloudkeep_account):
    return cloudkeep_account.account_id


def _create(iam, name="p", path=None, doc=None, **kw):
    args = {"PolicyName": name, "PolicyDocument": doc or _doc("s3:GetObject"), **kw}
    if path:
        args["Path"] = path
    return iam.create_policy(**args)["Policy"]


# --- managed policies --------------------------------------------------------------------------------


def test_create_policy_returns_the_policy_with_arn_id_and_version_v1(iam, acct):
    p = _create(iam, "Readers", path="/team/", Description="read things", Tags=[{"Key": "k", "Value": "v"}])
    assert p["Arn"] == f"arn:aws:iam::{acct}:policy/team/Readers"
    assert re.fullmatch(r"ANPA[A-Z2-7]{17}", p["PolicyId"])
    assert (p["Path"], p["DefaultVersionId"], p["AttachmentCount"], p["PermissionsBoundaryUsageCount"],
            p["IsAttachable"]) == ("/team/", "v1", 0, 0, True)
    got = iam.get_policy(PolicyArn=p["Arn"])["Policy"]
    assert got["Description"] == "read things" and got["Tags"] == [{"Key": "k", "Value": "v"}]
    assert got["PolicyId"] == p["PolicyId"]


def test_create_policy_twice_any_case_is_entity_already_exists(iam):
    _create(iam, "Dup")
    with pytest.raises(ClientError) as exc:
        _create(iam, "dup", path="/other/")
    assert _error(exc) == ("EntityAlreadyExists",
                           "A policy called dup already exists. Duplicate names are not allowed.", 409)


def test_get_policy_unknown_or_wrong_path_is_no_such_entity(iam, acct):
    _create(iam, "pathed", path="/a/")
    for arn in (f"arn:aws:iam::{acct}:policy/nope", f"arn:aws:iam::{acct}:policy/b/pathed"):
        with pytest.raises(ClientError) as exc:
            iam.get_policy(PolicyArn=arn)
        assert _error(exc) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)


def test_policy_of_another_account_is_not_visible(iam, cloudkeep_server):
    arn = _create(iam, "mine")["Arn"]
    other = cloudkeep_server.create_account().client("iam")
    with pytest.raises(ClientError) as exc:
        other.get_policy(PolicyArn=arn)
    # another account's policy is another account's resource: no IAM resource policy grants it,
    # so even that account's root is denied (spec §2.3: the resource side must allow)
    assert _error(exc)[0] == "AccessDenied"


@pytest.mark.parametrize("doc,message", [
    ("{not json", "Syntax errors in policy."),
    (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}),
     "Policy statement must contain resources."),
    (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                                         "Principal": "*"}]}),
     "Policy document should not specify a principal."),
])
def test_malformed_documents_are_refused_with_the_parsers_message(iam, doc, message):
    with pytest.raises(ClientError) as exc:
        _create(iam, "bad", doc=doc)
    assert _error(exc) == ("MalformedPolicyDocument", message, 400)
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_managed_policy_over_6144_non_whitespace_characters_is_limit_exceeded(iam):
    actions = [f"s3:Get{'X' * 40}{i}" for i in range(200)]
    doc = _doc(*actions)
    assert len(re.sub(r"\s", "", doc)) > 6144
    with pytest.raises(ClientError) as exc:
        _create(iam, "big", doc=doc)
    assert _error(exc) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144", 409)
    # whitespace does not count: a document padded with spaces but small otherwise is accepted
    _create(iam, "spacey", doc=_doc("s3:GetObject").replace(",", "," + " " * 7000))


def test_list_policies_local_scope_path_prefix_and_pagination(iam):
    for i in range(5):
        _create(iam, f"pol{i}", path="/x/" if i % 2 else "/")
    names = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert names == [f"pol{i}" for i in range(5)]
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local", PathPrefix="/x/")["Policies"]] == ["pol1", "pol3"]
    first = iam.list_policies(Scope="Local", MaxItems=2)
    assert first["IsTruncated"] and [p["PolicyName"] for p in first["Policies"]] == ["pol0", "pol1"]
    rest = iam.list_policies(Scope="Local", MaxItems=10, Marker=first["Marker"])
    assert not rest["IsTruncated"] and [p["PolicyName"] for p in rest["Policies"]] == ["pol2", "pol3", "pol4"]
    assert "Description" not in first["Policies"][0] and "Tags" not in first["Policies"][0]


def test_list_policies_only_attached_and_usage_filter(iam):
    iam.create_user(UserName="u")
    a, b, _ = (_create(iam, n)["Arn"] for n in ("a", "b", "c"))
    iam.attach_user_policy(UserName="u", PolicyArn=a)
    iam.put_user_permissions_boundary(UserName="u", PermissionsBoundary=b)

    def names(**kw):
        return {p["PolicyName"] for p in iam.list_policies(Scope="Local", OnlyAttached=True, **kw)["Policies"]}
    assert names() == {"a", "b"}
    assert names(PolicyUsageFilter="PermissionsPolicy") == {"a"}
    assert names(PolicyUsageFilter="PermissionsBoundary") == {"b"}
    assert {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]} == {"a", "b", "c"}


def test_delete_policy_removes_it(iam):
    arn = _create(iam)["Arn"]
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_policy(PolicyArn=arn)
    assert _error(exc)[0] == "NoSuchEntity"
    _create(iam)  # the name is free again


def test_delete_attached_policy_is_delete_conflict(iam):
    iam.create_user(UserName="u")
    arn = _create(iam)["Arn"]
    iam.attach_user_policy(UserName="u", PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc) == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.detach_user_policy(UserName="u", PolicyArn=arn)
    iam.put_user_permissions_boundary(UserName="u", PermissionsBoundary=arn)
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc)[0] == "DeleteConflict"   # a boundary in use counts too
    iam.delete_user_permissions_boundary(UserName="u")
    iam.delete_policy(PolicyArn=arn)


def test_delete_policy_with_versions_is_delete_conflict(iam):
    arn = _create(iam)["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:PutObject"))
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc) == ("DeleteConflict", "This policy has more than one version. Before you delete a policy, "
                           "you must delete the policy's versions. The default version is deleted with the "
                           "policy.", 409)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    iam.delete_policy(PolicyArn=arn)


# --- versions ------------------------------------------------------------------------------------------


def test_versions_are_numbered_never_reused_and_limited_to_five(iam):
    arn = _create(iam)["Arn"]
    for n in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(f"s3:Get{n}"))["PolicyVersion"]
        assert (v["VersionId"], v["IsDefaultVersion"]) == (f"v{n}", False)
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:Get6"))
    assert _error(exc) == ("LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new "
                           "version, you must delete an existing version.", 409)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:Get6"), SetAsDefault=True)["PolicyVersion"]
    assert (v["VersionId"], v["IsDefaultVersion"]) == ("v6", True)
    listed = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [x["VersionId"] for x in listed] == ["v6", "v5", "v4", "v2", "v1"]
    assert [x["IsDefaultVersion"] for x in listed] == [True, False, False, False, False]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v6"


def test_get_policy_version_returns_the_document_decoded_by_boto3(iam):
    doc = _doc("s3:GetObject", "s3:ListBucket", resource="arn:aws:s3:::b/a key?&=%41+%")
    arn = _create(iam, doc=doc)["Arn"]
    v = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v["Document"] == json.loads(doc) and v["IsDefaultVersion"] is True
    with pytest.raises(ClientError) as exc:
        iam.get_policy_version(PolicyArn=arn, VersionId="v9")
    assert _error(exc) == ("NoSuchEntity", f"Policy {arn} version v9 does not exist or is not attachable.", 404)


def test_default_version_rules(iam):
    arn = _create(iam)["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:PutObject"))
    with pytest.raises(ClientError) as exc:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    assert _error(exc) == ("DeleteConflict", "Cannot delete the default version of a policy.", 409)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["IsDefaultVersion"] is False
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    with pytest.raises(ClientError) as exc:
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert _error(exc)[0] == "NoSuchEntity"


def test_create_policy_version_validates_the_document(iam):
    arn = _create(iam)["Arn"]
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument='{"Statement": []')
    assert _error(exc) == ("MalformedPolicyDocument", "Syntax errors in policy.", 400)
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]


# --- tags ----------------------------------------------------------------------------------------------


def test_tag_untag_and_list_policy_tags(iam):
    arn = _create(iam, Tags=[{"Key": "a", "Value": "1"}])["Arn"]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}]
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "b", "Value": "3"}]
    with pytest.raises(ClientError) as exc:
        iam.tag_policy(PolicyArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert _error(exc)[0] == "LimitExceeded"


# --- AWS managed policies --------------------------------------------------------------------------------


def test_aws_managed_administrator_access_is_readable_with_its_real_document(iam):
    p = iam.get_policy(PolicyArn=ADMIN)["Policy"]
    assert (p["PolicyName"], p["Path"], p["IsAttachable"]) == ("AdministratorAccess", "/", True)
    v = iam.get_policy_version(PolicyArn=ADMIN, VersionId=p["DefaultVersionId"])["PolicyVersion"]
    assert v["Document"] == {"Version": "2012-10-17",
                             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    service_role = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/service-role/AWS_ConfigRole")["Policy"]
    assert service_role["Path"] == "/service-role/"


def test_list_policies_scope_aws_lists_aws_managed_policies(iam):
    _create(iam, "local-one")
    pager = iam.get_paginator("list_policies")
    aws = [p for page in pager.paginate(Scope="AWS") for p in page["Policies"]]
    assert len(aws) > 1000 and all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws)
    assert len({p["Arn"] for p in aws}) == len(aws)
    assert "AdministratorAccess" in {p["PolicyName"] for p in aws}
    job = iam.list_policies(Scope="AWS", PathPrefix="/job-function/")["Policies"]
    assert job and all(p["Path"] == "/job-function/" for p in job)
    every = [p for page in pager.paginate(Scope="All") for p in page["Policies"]]
    assert len(every) == len(aws) + 1


def test_aws_managed_policies_cannot_be_changed(iam):
    for call in (lambda: iam.delete_policy(PolicyArn=ADMIN),
                 lambda: iam.create_policy_version(PolicyArn=ADMIN, PolicyDocument=_doc("s3:*")),
                 lambda: iam.tag_policy(PolicyArn=ADMIN, Tags=[{"Key": "a", "Value": "b"}])):
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc)[0] == "AccessDenied"
    iam.get_policy(PolicyArn=ADMIN)


def test_attach_aws_managed_policy_counts_attachments_per_account(iam, cloudkeep_server):
    iam.create_user(UserName="u")
    iam.attach_user_policy(UserName="u", PolicyArn=READ_ONLY)
    assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 1
    assert iam.list_attached_user_policies(UserName="u")["AttachedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    attached = iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
    assert [p["Arn"] for p in attached] == [READ_ONLY]
    other = cloudkeep_server.create_account().client("iam")
    assert other.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 0


def test_service_linked_role_policies_are_not_attachable(iam):
    iam.create_user(UserName="u")
    arn = "arn:aws:iam::aws:policy/aws-service-role/AWSConfigServiceRolePolicy"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["IsAttachable"] is False
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName="u", PolicyArn=arn)
    assert _error(exc) == ("PolicyNotAttachable", "Cannot attach a Service Role Policy to a Customer Role.", 400)


# --- inline policies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_inline_policy_put_get_list_delete(iam, kind):
    E = kind.capitalize()
    member = f"{E}Name"
    if kind == "user":
        iam.create_user(UserName="Ent")
    elif kind == "group":
        iam.create_group(GroupName="Ent")
    else:
        iam.create_role(RoleName="Ent", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
    put, get = getattr(iam, f"put_{kind}_policy"), getattr(iam, f"get_{kind}_policy")
    lst, dele = getattr(iam, f"list_{kind}_policies"), getattr(iam, f"delete_{kind}_policy")
    put(**{member: "ent", "PolicyName": "b", "PolicyDocument": _doc("s3:GetObject")})
    put(**{member: "Ent", "PolicyName": "a", "PolicyDocument": _doc("s3:PutObject")})
    put(**{member: "Ent", "PolicyName": "b", "PolicyDocument": _doc("s3:ListBucket")})  # replaces
    assert lst(**{member: "Ent"})["PolicyNames"] == ["a", "b"]
    got = get(**{member: "ent", "PolicyName": "b"})
    assert got[member] == "Ent" and got["PolicyName"] == "b"
    assert got["PolicyDocument"] == json.loads(_doc("s3:ListBucket"))
    dele(**{member: "Ent", "PolicyName": "a"})
    assert lst(**{member: "Ent"})["PolicyNames"] == ["b"]
    with pytest.raises(ClientError) as exc:
        get(**{member: "Ent", "PolicyName": "a"})
    assert _error(exc) == ("NoSuchEntity", f"The {kind} policy with name a cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        dele(**{member: "Ent", "PolicyName": "a"})
    assert _error(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        put(**{member: "ghost", "PolicyName": "a", "PolicyDocument": _doc("s3:GetObject")})
    assert _error(exc) == ("NoSuchEntity", f"The {kind} with name ghost cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        put(**{member: "Ent", "PolicyName": "c", "PolicyDocument": '{"Version": "2012-10-17"'})
    assert _error(exc) == ("MalformedPolicyDocument", "Syntax errors in policy.", 400)


@pytest.mark.parametrize("kind,limit", [("user", 2048), ("group", 5120), ("role", 10240)])
def test_inline_policies_aggregate_quota(iam, kind, limit):
    E = kind.capitalize()
    member = f"{E}Name"
    if kind == "user":
        iam.create_user(UserName="q")
    elif kind == "group":
        iam.create_group(GroupName="q")
    else:
        iam.create_role(RoleName="q", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
    put = getattr(iam, f"put_{kind}_policy")

    def doc_of_size(n: int) -> str:
        base = _doc("s3:GetObject", resource="arn:aws:s3:::")
        pad = n - len(re.sub(r"\s", "", base))
        return _doc("s3:GetObject", resource="arn:aws:s3:::" + "x" * pad)

    half = doc_of_size(limit // 2)
    assert len(re.sub(r"\s", "", half)) == limit // 2
    put(**{member: "q", "PolicyName": "one", "PolicyDocument": half})
    put(**{member: "q", "PolicyName": "two", "PolicyDocument": half})          # exactly the limit
    put(**{member: "q", "PolicyName": "two", "PolicyDocument": half})          # replacing is measured without itself
    with pytest.raises(ClientError) as exc:
        put(**{member: "q", "PolicyName": "three", "PolicyDocument": doc_of_size(60)})
    assert _error(exc) == ("LimitExceeded", f"Maximum policy size of {limit} bytes exceeded for {kind} q", 409)


# --- attachments -------------------------------------------------------------------------------------------


def test_attach_detach_list_attached_user_policies(iam, acct):
    iam.create_user(UserName="u")
    arn = _create(iam, "Mine", path="/p/")["Arn"]
    iam.attach_user_policy(UserName="u", PolicyArn=arn)
    iam.attach_user_policy(UserName="u", PolicyArn=arn)   # idempotent
    iam.attach_user_policy(UserName="u", PolicyArn=ADMIN)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert iam.list_attached_user_policies(UserName="u")["AttachedPolicies"] == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN}, {"PolicyName": "Mine", "PolicyArn": arn}]
    assert iam.list_attached_user_policies(UserName="u", PathPrefix="/p/")["AttachedPolicies"] == [
        {"PolicyName": "Mine", "PolicyArn": arn}]
    iam.detach_user_policy(UserName="u", PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.detach_user_policy(UserName="u", PolicyArn=arn)
    assert _error(exc) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)
    missing = f"arn:aws:iam::{acct}:policy/none"
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName="u", PolicyArn=missing)
    assert _error(exc) == ("NoSuchEntity", f"Policy {missing} does not exist or is not attachable.", 404)
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName="nobody", PolicyArn=arn)
    assert _error(exc) == ("NoSuchEntity", "The user with name nobody cannot be found.", 404)


@pytest.mark.parametrize("kind,quota", [("user", "PoliciesPerUser"), ("group", "PoliciesPerGroup"),
                                        ("role", "PoliciesPerRole")])
def test_at_most_ten_managed_policies_per_entity(iam, kind, quota):
    member = f"{kind.capitalize()}Name"
    if kind == "user":
        iam.create_user(UserName="e")
    elif kind == "group":
        iam.create_group(GroupName="e")
    else:
        iam.create_role(RoleName="e", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
    attach = getattr(iam, f"attach_{kind}_policy")
    arns = [_create(iam, f"p{i}")["Arn"] for i in range(11)]
    for arn in arns[:10]:
        attach(**{member: "e", "PolicyArn": arn})
    with pytest.raises(ClientError) as exc:
        attach(**{member: "e", "PolicyArn": arns[10]})
    assert _error(exc) == ("LimitExceeded", f"Cannot exceed quota for {quota}: 10", 409)
    listed = getattr(iam, f"list_attached_{kind}_policies")(**{member: "e"})["AttachedPolicies"]
    assert len(listed) == 10


def test_list_entities_for_policy(iam):
    iam.create_user(UserName="u1", Path="/eng/")
    iam.create_user(UserName="u2")
    iam.create_group(GroupName="g")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    arn = _create(iam)["Arn"]
    iam.attach_user_policy(UserName="u1", PolicyArn=arn)
    iam.attach_group_policy(GroupName="g", PolicyArn=arn)
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    iam.put_user_permissions_boundary(UserName="u2", PermissionsBoundary=arn)
    out = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in out["PolicyUsers"]] == ["u1", "u2"]
    assert [g["GroupName"] for g in out["PolicyGroups"]] == ["g"]
    assert [r["RoleName"] for r in out["PolicyRoles"]] == ["r"]
    assert all(u["UserId"].startswith("AIDA") for u in out["PolicyUsers"])
    only = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")
    assert [u["UserName"] for u in only["PolicyUsers"]] == ["u1"]
    bound = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")
    assert [u["UserName"] for u in bound["PolicyUsers"]] == ["u2"] and bound["PolicyGroups"] == []
    users = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User", PathPrefix="/eng/")
    assert [u["UserName"] for u in users["PolicyUsers"]] == ["u1"] and users["PolicyRoles"] == []
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (p["AttachmentCount"], p["PermissionsBoundaryUsageCount"]) == (3, 1)


# --- permissions boundaries ------------------------------------------------------------------------------------


def test_user_and_role_permissions_boundaries(iam, acct):
    iam.create_user(UserName="u")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    arn = _create(iam, "boundary")["Arn"]
    iam.put_user_permissions_boundary(UserName="u", PermissionsBoundary=arn)
    iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary=READ_ONLY)
    assert iam.get_user(UserName="u")["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}
    assert iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    iam.delete_user_permissions_boundary(UserName="u")
    iam.delete_role_permissions_boundary(RoleName="r")
    assert "PermissionsBoundary" not in iam.get_user(UserName="u")["User"]
    assert "PermissionsBoundary" not in iam.get_role(RoleName="r")["Role"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 0


def test_permissions_boundary_must_be_an_existing_managed_policy(iam, acct):
    iam.create_user(UserName="u")
    missing = f"arn:aws:iam::{acct}:policy/DemoUser"
    with pytest.raises(ClientError) as exc:
        iam.put_user_permissions_boundary(UserName="u", PermissionsBoundary=missing)
    assert _error(exc) == ("NoSuchEntity", f"Scope ARN: {missing} does not exist or is not attachable.", 404)
    with pytest.raises(ClientError) as exc:
        iam.put_role_permissions_boundary(RoleName="nobody", PermissionsBoundary=READ_ONLY)
    assert _error(exc) == ("NoSuchEntity", "The role with name nobody cannot be found.", 404)


# --- what DeleteUser/DeleteGroup/DeleteRole and the authorization stage read (repo_policies) ------------------


@pytest.fixture
def server_store(cloudkeep_server):
    from cloudkeep.storage.engine import Store, sqlite_url
    if cloudkeep_server.store_url is not None:
        pytest.skip("reads the embedded SQLite store of the test server")
    store = Store.open(sqlite_url(cloudkeep_server.data_dir), migrate=False)
    try:
        yield store
    finally:
        store.close()


def test_policies_for_boundary_for_and_entity_has_policies_read_the_stored_state(iam, acct, server_store):
    from cloudkeep.services.iam.repo_policies import boundary_for, entity_has_policies, policies_for

    iam.create_user(UserName="Reader")
    iam.create_group(GroupName="empty")
    arn = _create(iam, "mine")["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:PutObject"), SetAsDefault=True)
    iam.put_user_policy(UserName="Reader", PolicyName="inline", PolicyDocument=_doc("sqs:SendMessage"))
    iam.attach_user_policy(UserName="Reader", PolicyArn=arn)
    iam.attach_user_policy(UserName="Reader", PolicyArn=ADMIN)
    iam.put_user_permissions_boundary(UserName="Reader", PermissionsBoundary=READ_ONLY)
    with server_store.unit_of_work() as uow:
        found = dict(policies_for(uow, acct, "user", "reader"))
        boundary = boundary_for(uow, acct, "user", "reader")
        has = (entity_has_policies(uow, acct, "user", "reader"), entity_has_policies(uow, acct, "group", "empty"))
        none = boundary_for(uow, acct, "group", "empty")
    assert set(found) == {"inline", arn, ADMIN}
    assert json.loads(found["inline"]) == json.loads(_doc("sqs:SendMessage"))
    assert json.loads(found[arn]) == json.loads(_doc("s3:PutObject"))   # the default version
    assert json.loads(found[ADMIN])["Statement"][0]["Action"] == "*"
    assert boundary is not None and boundary[0] == READ_ONLY and "Statement" in json.loads(boundary[1])
    assert has == (True, False) and none is None
