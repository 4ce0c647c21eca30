"""What authorization needs from AWS Organizations about an account: its organization, the
management account, its organization path (aws:PrincipalOrgPaths / aws:ResourceOrgPaths), and
the service control policies and resource control policies of every level from the root down to
the account itself (spec §8: every level must allow).

Cheap and read-only: a handful of statements per account (its membership with its organization,
its parent OU's stored path, the enabled policy types, the attachments of every level, the
customer policies they name). The management account is answered like any other (it is in the
organization; the pipeline exempts it from SCPs itself). Everything here changes only with the
ORGANIZATIONS authorization generation (storage/generations.py), so a caller may cache views
under it.

Must not: import the pipeline; write; decide anything (the policy engine does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from cloudkeep.storage.schema import org_accounts, org_organizations

from . import repo_policies as PR
from . import repository as repo
from .domain_policies import RCP, SCP


@dataclass(frozen=True, slots=True)
class OrgView:
    org_id: str                    # "o-abcdefghij"
    management_account_id: str
    path: str                      # aws:PrincipalOrgPaths / aws:ResourceOrgPaths of the ACCOUNT: "o-x/r-x/ou-x/…/" (org, root, OUs down to the account's parent, trailing slash)
    scp_levels: tuple[tuple[tuple[str, str], ...], ...]   # one tuple per level: root, each OU down the path, the account itself; each ((policy name, policy document JSON), …); () when SCPs are not enabled
    rcp_levels: tuple[tuple[tuple[str, str], ...], ...]   # the same for RCPs; () when RCPs are not enabled


_MEMBERSHIP = (select(org_accounts.c.org_id, org_accounts.c.parent_id, org_organizations.c.management_account_id,
                      org_organizations.c.root_id)
               .join(org_organizations, org_organizations.c.org_id == org_accounts.c.org_id)
               .where(org_accounts.c.account_id == bindparam("account_id")))


def for_account(uow: Any, account_id: str) -> OrgView | None:
    """None: the account is in no organization."""
    row = uow.execute(_MEMBERSHIP, {"account_id": account_id}).first()
    if row is None:
        return None
    org_id, root_id = row.org_id, row.root_id
    ous: list[str] = []
    if row.parent_id != root_id:
        parent = repo.get_ou(uow, org_id, row.parent_id)
        ous = [] if parent is None else [p for p in parent.path.split("/")[1:] if p]
    path = "".join(f"{part}/" for part in (org_id, root_id, *ous))
    enabled = set(PR.enabled_types(uow, org_id)) & {SCP, RCP}
    levels = [root_id, *ous, account_id]
    by_level: dict[str, dict[str, list[str]]] = {level: {SCP: [], RCP: []} for level in levels}
    attached: set[str] = set()
    if enabled:
        for target_id, policy_id, policy_type in PR.attachments_of_targets(uow, org_id, levels):
            if policy_type in enabled:
                by_level[target_id][policy_type].append(policy_id)
                attached.add(policy_id)
    policies = PR.policies_by_id(uow, org_id, attached)

    def chain(policy_type: str) -> tuple[tuple[tuple[str, str], ...], ...]:
        if policy_type not in enabled:
            return ()
        return tuple(tuple(sorted((policies[pid].name, policies[pid].content)
                                  for pid in by_level[level][policy_type] if pid in policies))
                     for level in levels)

    return OrgView(org_id=org_id, management_account_id=row.management_account_id, path=path,
                   scp_levels=chain(SCP), rcp_levels=chain(RCP))
