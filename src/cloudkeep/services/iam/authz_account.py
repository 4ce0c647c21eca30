"""IAM's authorization entries for login profiles and passwords, the account password policy,
account aliases, virtual MFA devices, the account summary, the credential report and
GetAccountAuthorizationDetails (merged into ``authz.AUTHZ``).

Actions, resource types and condition keys from the Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
(the password policy, aliases, summary, report and authorization details take no resource: "*";
MFA device creation and deletion act on the ``mfa`` resource, the device's serial number ARN;
enabling, resyncing, deactivating and listing act on the ``user``).
"""

from __future__ import annotations

from cloudkeep.services.framework import AuthzContext, Check

from .authz import REQUEST_TAGS, TAG_KEYS, named_user_arn, request_tags


def new_mfa_arn(ctx: AuthzContext) -> str:
    """The device CreateVirtualMFADevice makes: arn:…:mfa<path><name>."""
    path = ctx.params.get("Path") or "/"
    name = ctx.params.get("VirtualMFADeviceName") or "*"
    return f"arn:{ctx.partition}:iam::{ctx.account_id}:mfa{path}{name}"


def serial_mfa_arn(ctx: AuthzContext) -> str:
    """The device a SerialNumber names (a virtual device's serial number is its ARN)."""
    serial = ctx.params.get("SerialNumber") or ""
    if serial.startswith(f"arn:{ctx.partition}:iam::") and ":mfa/" in serial:
        return serial
    return f"arn:{ctx.partition}:iam::{ctx.account_id}:mfa/*"


ACCOUNT: dict = {
    # login profiles and passwords
    "CreateLoginProfile": [Check("iam:CreateLoginProfile", resource=named_user_arn)],
    "GetLoginProfile": [Check("iam:GetLoginProfile", resource=named_user_arn)],
    "UpdateLoginProfile": [Check("iam:UpdateLoginProfile", resource=named_user_arn)],
    "DeleteLoginProfile": [Check("iam:DeleteLoginProfile", resource=named_user_arn)],
    "ChangePassword": [Check("iam:ChangePassword", resource=named_user_arn)],
    # account password policy
    "UpdateAccountPasswordPolicy": [Check("iam:UpdateAccountPasswordPolicy")],
    "GetAccountPasswordPolicy": [Check("iam:GetAccountPasswordPolicy")],
    "DeleteAccountPasswordPolicy": [Check("iam:DeleteAccountPasswordPolicy")],
    # account aliases
    "CreateAccountAlias": [Check("iam:CreateAccountAlias")],
    "ListAccountAliases": [Check("iam:ListAccountAliases")],
    "DeleteAccountAlias": [Check("iam:DeleteAccountAlias")],
    # virtual MFA devices
    "CreateVirtualMFADevice": [Check("iam:CreateVirtualMFADevice", resource=new_mfa_arn,
                                     keys=(REQUEST_TAGS, TAG_KEYS), context=request_tags)],
    "EnableMFADevice": [Check("iam:EnableMFADevice", resource=named_user_arn)],
    "ResyncMFADevice": [Check("iam:ResyncMFADevice", resource=named_user_arn)],
    "DeactivateMFADevice": [Check("iam:DeactivateMFADevice", resource=named_user_arn)],
    "DeleteVirtualMFADevice": [Check("iam:DeleteVirtualMFADevice", resource=serial_mfa_arn)],
    "ListMFADevices": [Check("iam:ListMFADevices", resource=named_user_arn)],
    "ListVirtualMFADevices": [Check("iam:ListVirtualMFADevices")],
    # account-wide reads
    "GetAccountSummary": [Check("iam:GetAccountSummary")],
    "GenerateCredentialReport": [Check("iam:GenerateCredentialReport")],
    "GetCredentialReport": [Check("iam:GetCredentialReport")],
    "GetAccountAuthorizationDetails": [Check("iam:GetAccountAuthorizationDetails")],
}
