"""Organization trails: who may make one, which accounts' events one delivers, and how a member
account sees its organization's trails. Read through Organizations' public functions
(``authz_source``, its repository's reads), never its tables.

- Only the management account of an organization with all features, with trusted access for
  ``cloudtrail.amazonaws.com`` enabled, makes an organization trail.
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-an-organizational-trail-prepare.html
- Member accounts see their organization's trails (DescribeTrails, GetTrail, GetTrailStatus)
  but cannot change them.
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html

Must not: import the pipeline; write Organizations' state.
"""

from __future__ import annotations

from typing import Any

from cloudkeep.services.organizations import authz_source as org_source
from cloudkeep.services.organizations import repo_handshakes as org_access
from cloudkeep.services.organizations import repository as org_repo

from . import trails_repo as repo
from .errors import (CloudTrailAccessNotEnabledException, NotOrganizationMasterAccountException,
                     OrganizationNotInAllFeaturesModeException, OrganizationsNotInUseException)
from .trails_domain import Trail

SERVICE_PRINCIPAL = "cloudtrail.amazonaws.com"


def check_management(uow: Any, account_id: str) -> str:
    """The organization id, if ``account_id`` may make an organization trail; else AWS's error."""
    view = org_source.for_account(uow, account_id)
    if view is None:
        raise OrganizationsNotInUseException("This account is not a member of an organization.")
    if view.management_account_id != account_id:
        raise NotOrganizationMasterAccountException(
            f"The account {account_id} is not the management account for an organization.")
    org = org_repo.get_org(uow, view.org_id)
    if org is None or org.feature_set != "ALL":
        raise OrganizationNotInAllFeaturesModeException(
            "This operation requires that all features are enabled in your organization.")
    if not org_access.service_enabled(uow, view.org_id, SERVICE_PRINCIPAL):
        raise CloudTrailAccessNotEnabledException(
            "The request could not be processed because your organization hasn\u2019t enabled CloudTrail service "
            "access. Enable service access for CloudTrail, and then try again.")
    return view.org_id


def organization_id(uow: Any, trail: Trail) -> str | None:
    """The organization whose events an organization trail delivers (None if it no longer has one)."""
    view = org_source.for_account(uow, trail.account_id)
    if view is None or view.management_account_id != trail.account_id:
        return None
    return view.org_id


def sources(uow: Any, trail: Trail) -> tuple[list[str], dict[str, str]]:
    """(accounts whose events the trail delivers, account → key root "<org-id>/" or "")."""
    org_id = organization_id(uow, trail) if trail.organization else None
    if org_id is None:
        return [trail.account_id], {trail.account_id: ""}
    accounts = [m.account_id for m in org_repo.members(uow, org_id)]
    if trail.account_id not in accounts:
        accounts.append(trail.account_id)
    return accounts, {a: f"{org_id}/" for a in accounts}


def visible_to_member(uow: Any, account_id: str) -> list[Trail]:
    """The organization trails of the management account of ``account_id``'s organization."""
    view = org_source.for_account(uow, account_id)
    if view is None or view.management_account_id == account_id:
        return []
    return [t for t in repo.of_account(uow, view.management_account_id) if t.organization]
