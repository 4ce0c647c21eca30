"""What authorization reads from AWS Organizations (``authz_source.for_account``), built by the
service's own operations on SQLite and PostgreSQL: the organization, the management account,
the account's organization path (aws:PrincipalOrgPaths: org, root, OUs down to its parent) and
the SCP and RCP levels from the root down to the account itself; empty when the type is not
enabled; None for an account in no organization. Every change that can move them bumps the
ORGANIZATIONS authorization generation; reading never writes.

Spec: ../shared/spec/iam-evaluation.md §8; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgpaths
"""

from __future__ import annotations

import datetime as dt
import json

from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

from cloudkeep.auth.principal import Principal, PrincipalType
from cloudkeep.services.framework import Call
from cloudkeep.services.iam.accounts import create_account
from cloudkeep.services.organizations import SERVICE, authz_source
from cloudkeep.services.organizations.domain_policies import FULL_AWS_ACCESS, RCP_FULL_AWS_ACCESS
from cloudkeep.storage import generations
from cloudkeep.storage.clock import FixedClock
from cloudkeep.storage.generations import GenerationReader
from cloudkeep.storage.ids import Ids

CLOCK = FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
FULL = (FULL_AWS_ACCESS.name, FULL_AWS_ACCESS.content)
RCP_FULL = (RCP_FULL_AWS_ACCESS.name, RCP_FULL_AWS_ACCESS.content)
DENY_S3 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})
RCP_DENY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})


def _account(store) -> str:
    with store.unit_of_work(write=True) as uow:
        return create_account(uow, sealer=None, ids=Ids(), clock=CLOCK, root_credentials=False).account_id


def _run(store, account_id: str, operation: str, **params):
    """Run an Organizations operation as the account's root user, in its own transaction."""
    principal = Principal(type=PrincipalType.ROOT, account_id=account_id, arn=f"arn:aws:iam::{account_id}:root",
                          principal_id=account_id)
    with store.unit_of_work(write=True) as uow:
        call = Call(account_id=account_id, region="us-east-1", partition="aws", principal=principal,
                    request_id="test", clock=CLOCK, ids=Ids(), uow=uow, sealer=None)
        return SERVICE.operations.handlers[operation](call, params)


def _view(store, account_id: str):
    with store.unit_of_work(write=False) as uow:
        view = authz_source.for_account(uow, account_id)
        assert not uow.wrote
        return view


def test_for_account_gives_the_path_and_the_policy_levels_down_to_the_account(store):  # noqa: F811
    management, stranger = _account(store), _account(store)
    org_id = _run(store, management, "CreateOrganization")["Organization"]["Id"]
    root = _run(store, management, "ListRoots")["Roots"][0]["Id"]
    assert _view(store, stranger) is None
    assert _view(store, management) == authz_source.OrgView(org_id=org_id, management_account_id=management,
                                                            path=f"{org_id}/{root}/", scp_levels=(), rcp_levels=())

    reader = GenerationReader(store)
    before = reader.current(generations.ORGANIZATIONS)
    _run(store, management, "EnablePolicyType", RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    _run(store, management, "EnablePolicyType", RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    a = _run(store, management, "CreateOrganizationalUnit", ParentId=root, Name="a")["OrganizationalUnit"]["Id"]
    b = _run(store, management, "CreateOrganizationalUnit", ParentId=a, Name="b")["OrganizationalUnit"]["Id"]
    member = _run(store, management, "CreateAccount", Email="member@example.com",
                  AccountName="m")["CreateAccountStatus"]["AccountId"]
    _run(store, management, "MoveAccount", AccountId=member, SourceParentId=root, DestinationParentId=b)
    scp = _run(store, management, "CreatePolicy", Content=DENY_S3, Description="", Name="NoS3",
               Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
    rcp = _run(store, management, "CreatePolicy", Content=RCP_DENY, Description="", Name="OrgOnly",
               Type="RESOURCE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
    _run(store, management, "AttachPolicy", PolicyId=scp, TargetId=a)
    _run(store, management, "AttachPolicy", PolicyId=rcp, TargetId=member)
    assert reader.current(generations.ORGANIZATIONS) > before

    view = _view(store, member)
    assert (view.org_id, view.management_account_id, view.path) == (org_id, management, f"{org_id}/{root}/{a}/{b}/")
    assert view.scp_levels == ((FULL,), (FULL, ("NoS3", DENY_S3)), (FULL,), (FULL,))     # root, a, b, the account
    assert view.rcp_levels == ((RCP_FULL,), (RCP_FULL,), (RCP_FULL,), (("OrgOnly", RCP_DENY), RCP_FULL))
    assert _view(store, management).scp_levels == ((FULL,), (FULL,))                      # root, the account

    _run(store, management, "AttachPolicy", PolicyId=scp, TargetId=member)
    _run(store, management, "DetachPolicy", PolicyId=FULL_AWS_ACCESS.policy_id, TargetId=member)
    assert _view(store, member).scp_levels[-1] == (("NoS3", DENY_S3),)
    changed = reader.current(generations.ORGANIZATIONS)
    _run(store, management, "DisablePolicyType", RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    assert reader.current(generations.ORGANIZATIONS) > changed
    view = _view(store, member)
    assert (view.scp_levels, len(view.rcp_levels)) == ((), 4)

    _run(store, management, "MoveAccount", AccountId=member, SourceParentId=b, DestinationParentId=root)
    assert _view(store, member).path == f"{org_id}/{root}/"
    _run(store, management, "RemoveAccountFromOrganization", AccountId=member)
    assert _view(store, member) is None
