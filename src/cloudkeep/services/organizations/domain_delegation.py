"""Trusted access for AWS services and delegated administrators: which service principals
Organizations recognizes, which of them take a delegated administrator, and the rules of
registering one. Pure: no SQL, no I/O.

The service principals are those of "AWS services that you can use with AWS Organizations"
(the "Trusted access" and "Delegated administrator" columns):
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_integrate_services_list.html
Registering needs trusted access first (ConstraintViolationException SERVICE_ACCESS_NOT_ENABLED:
"You attempted to register a delegated administrator before you enabled service access. Call
the EnableAWSServiceAccess API first.") and a member account that is not the management account
and not closed. https://docs.aws.amazon.com/organizations/latest/APIReference/API_RegisterDelegatedAdministrator.html

Must not: touch storage.
"""

from __future__ import annotations

from .domain import ACTIVE, ALL, Caller, Member, Organization
from .errors import ConstraintViolationException, InvalidInputException

#: service principals that support a delegated administrator (each also takes trusted access)
DELEGATABLE = frozenset({
    "access-analyzer.amazonaws.com", "account.amazonaws.com", "auditmanager.amazonaws.com",
    "backup.amazonaws.com", "member.org.stacksets.cloudformation.amazonaws.com", "cloudtrail.amazonaws.com",
    "compute-optimizer.amazonaws.com", "config.amazonaws.com", "config-multiaccountsetup.amazonaws.com",
    "cost-optimization-hub.bcm.amazonaws.com", "detective.amazonaws.com", "devops-guru.amazonaws.com",
    "fms.amazonaws.com", "guardduty.amazonaws.com", "health.amazonaws.com", "iam.amazonaws.com",
    "inspector2.amazonaws.com", "ipam.amazonaws.com", "license-manager.amazonaws.com", "macie.amazonaws.com",
    "networkmanager.amazonaws.com", "reachabilityanalyzer.networkinsights.amazonaws.com",
    "reporting.trustedadvisor.amazonaws.com", "resource-explorer-2.amazonaws.com",
    "securityhub.amazonaws.com", "securitylake.amazonaws.com", "servicecatalog.amazonaws.com",
    "sso.amazonaws.com", "ssm.amazonaws.com", "storage-lens.s3.amazonaws.com", "wellarchitected.amazonaws.com",
})
#: every service principal that can be given trusted access
TRUSTED = DELEGATABLE | frozenset({
    "aws-artifact-account-sync.amazonaws.com", "controltower.amazonaws.com", "ds.amazonaws.com",
    "license-management.marketplace.amazonaws.com", "mgn.amazonaws.com", "ram.amazonaws.com",
    "servicequotas.amazonaws.com", "tagpolicies.tag.amazonaws.com",
})


def _unrecognized() -> InvalidInputException:
    return InvalidInputException("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified an unrecognized service principal.")


def require_trusted(principal: str) -> None:
    if principal not in TRUSTED:
        raise _unrecognized()


def require_delegatable(principal: str) -> None:
    if principal not in DELEGATABLE:
        raise _unrecognized()


def require_all_features(org: Organization) -> None:
    if org.feature_set != ALL:
        raise ConstraintViolationException("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
                                           "You attempted to perform an operation that requires the organization to "
                                           "be configured to support all features.")


def check_registrable(caller: Caller, member: Member) -> None:
    """The account to register: not the management account, not closed."""
    if member.account_id == caller.org.management_account_id:
        raise ConstraintViolationException("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
                                           "You cannot register master account/yourself as delegated administrator "
                                           "for your organization.")
    if member.status != ACTIVE:
        raise ConstraintViolationException("CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR",
                                           "You cannot register a suspended account as a delegated administrator.")


def service_access_not_enabled() -> ConstraintViolationException:
    return ConstraintViolationException("SERVICE_ACCESS_NOT_ENABLED",
                                        "You attempted to register a delegated administrator before you enabled "
                                        "service access. Call the EnableAWSServiceAccess API first.")


def cannot_remove_delegated_admin() -> ConstraintViolationException:
    return ConstraintViolationException("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
                                        "You attempted to remove an account that is registered as a delegated "
                                        "administrator for a service integrated with your organization. To complete "
                                        "this operation, you must first deregister this account as a delegated "
                                        "administrator.")

