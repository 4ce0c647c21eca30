"""Organizations operations on trusted access for AWS services and delegated administrators:
EnableAWSServiceAccess, DisableAWSServiceAccess, ListAWSServiceAccessForOrganization,
RegisterDelegatedAdministrator, DeregisterDelegatedAdministrator, ListDelegatedAdministrators and
ListDelegatedServicesForAccount.

https://docs.aws.amazon.com/organizations/latest/APIReference/API_EnableAWSServiceAccess.html
https://docs.aws.amazon.com/organizations/latest/APIReference/API_RegisterDelegatedAdministrator.html
https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListDelegatedAdministrators.html

A delegated administrator may call the organization's read operations (``authz.DELEGATED``).

Must not: import the pipeline; hold SQL or rules.
"""

from __future__ import annotations

from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.storage.engine import is_unique_violation

from . import domain_delegation as DD
from . import paging
from . import repo_handshakes as HR
from . import repository as repo
from .authz import DELEGATED, MANAGEMENT, caller_for
from .errors import AccountAlreadyRegisteredException, AccountNotRegisteredException
from .operations import member_of, member_wire, operation, unique


@operation("EnableAWSServiceAccess")
def enable_aws_service_access(call: Call, params: Params) -> Result:
    """Enabling a service that already has access changes nothing."""
    caller = caller_for(call, MANAGEMENT)
    principal = params["ServicePrincipal"]
    DD.require_trusted(principal)
    DD.require_all_features(caller.org)
    if not HR.service_enabled(call.uow, caller.org.org_id, principal):
        try:
            with call.uow.savepoint():
                HR.enable_service(call.uow, caller.org.org_id, principal, call.clock.now())
        except Exception as exc:
            if not is_unique_violation(exc):   # else a concurrent request enabled it: the same outcome
                raise
    return {}


@operation("DisableAWSServiceAccess")
def disable_aws_service_access(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    principal = params["ServicePrincipal"]
    DD.require_trusted(principal)
    HR.disable_service(call.uow, caller.org.org_id, principal)
    return {}


@operation("ListAWSServiceAccessForOrganization")
def list_aws_service_access_for_organization(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    rows = HR.service_access(call.uow, caller.org.org_id)
    chunk, token = paging.page(rows, params, "ListAWSServiceAccessForOrganization", lambda r: (r.service_principal,))
    return paging.result("EnabledServicePrincipals",
                         [{"ServicePrincipal": r.service_principal, "DateEnabled": r.enabled_at} for r in chunk],
                         token)


@operation("RegisterDelegatedAdministrator")
def register_delegated_administrator(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    org_id, principal = caller.org.org_id, params["ServicePrincipal"]
    DD.require_delegatable(principal)
    member = member_of(call, caller, params["AccountId"])
    DD.check_registrable(caller, member)
    if not HR.service_enabled(call.uow, org_id, principal):
        raise DD.service_access_not_enabled()
    def already() -> AccountAlreadyRegisteredException:
        return AccountAlreadyRegisteredException(
            "The provided account is already a delegated administrator for your organization.")
    if HR.delegations(call.uow, org_id, account_id=member.account_id, principal=principal):
        raise already()
    unique(call, lambda: HR.register(call.uow, org_id, member.account_id, principal, call.clock.now()), already)
    return {}


@operation("DeregisterDelegatedAdministrator")
def deregister_delegated_administrator(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    principal = params["ServicePrincipal"]
    DD.require_delegatable(principal)
    member = member_of(call, caller, params["AccountId"])
    if not HR.deregister(call.uow, caller.org.org_id, member.account_id, principal):
        raise _not_registered()
    return {}


def _not_registered() -> AccountNotRegisteredException:
    return AccountNotRegisteredException(
        "The provided account is not a registered delegated administrator for your organization.")


@operation("ListDelegatedAdministrators")
def list_delegated_administrators(call: Call, params: Params) -> Result:
    """Each account once, with the date it first became a delegated administrator."""
    caller = caller_for(call, DELEGATED)
    principal = params.get("ServicePrincipal")
    if principal:
        DD.require_delegatable(principal)
    first: dict[str, object] = {}
    for row in HR.delegations(call.uow, caller.org.org_id, principal=principal):
        if row.account_id not in first or row.enabled_at < first[row.account_id]:  # type: ignore[operator]
            first[row.account_id] = row.enabled_at
    admins = []
    for account_id, since in first.items():
        member = repo.get_member(call.uow, account_id)
        if member is not None:
            admins.append({**member_wire(call, caller, member), "DelegationEnabledDate": since})
    chunk, token = paging.page(admins, params, f"ListDelegatedAdministrators:{principal or ''}", lambda a: (a["Id"],))
    return paging.result("DelegatedAdministrators", chunk, token)


@operation("ListDelegatedServicesForAccount")
def list_delegated_services_for_account(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    member = member_of(call, caller, params["AccountId"])
    rows = HR.delegations(call.uow, caller.org.org_id, account_id=member.account_id)
    if not rows:
        raise _not_registered()
    chunk, token = paging.page(rows, params, "ListDelegatedServicesForAccount:" + member.account_id,
                               lambda r: (r.service_principal,))
    return paging.result("DelegatedServices", [{"ServicePrincipal": r.service_principal,
                                                "DelegationEnabledDate": r.enabled_at} for r in chunk], token)
