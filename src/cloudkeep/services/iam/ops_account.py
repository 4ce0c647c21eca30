"""IAM operations on account-level state: login profiles and ChangePassword, the account password
policy, account aliases, virtual MFA devices (and ``verify_mfa`` for STS), GetAccountSummary, the
credential report and GetAccountAuthorizationDetails.

Passwords are scrypt hashes (``crypto.passwords``); MFA seeds are sealed under the master key,
bound to the device's serial number; TOTP codes are checked at the domain clock
(``call.clock.now()``), and a time step once accepted is never accepted again for that device.

Must not: import the pipeline; hold SQL (``repo_account``) or rules (``domain_account``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import enum
from typing import Any, Callable

from cloudkeep.auth.principal import PrincipalType
from cloudkeep.crypto.passwords import hash_password, verify_password
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.storage.engine import is_unique_violation
from cloudkeep.wire.errors import AccessDenied, ServiceError

from . import aws_managed
from . import domain_account as D
from . import repo_account as R
from .domain import check_tags, name_key, root_arn
from .domain_groups_roles import policy_wire
from .domain_policies import AWS_ACCOUNT, GROUP, ROLE, USER, split_policy_arn, version_id
from .errors import (DeleteConflict, EntityAlreadyExists, InvalidAuthenticationCode, InvalidInput, InvalidUserType,
                     LimitExceeded, NoSuchEntity, PasswordPolicyViolation, ReportExpired, ReportNotPresent)
from .operations import operation
from .repository import IamRepository


BAD_CODE = "Authentication code for device is not valid."


def _now(call: Call) -> _dt.datetime:
    return call.clock.now()


def _caller_user_name(call: Call) -> str | None:
    p = call.principal
    return p.user_name if p.type is PrincipalType.IAM_USER else None


def _user_name(call: Call, params: Params) -> str:
    """The user named by UserName, else the calling IAM user."""
    name = params.get("UserName") or _caller_user_name(call)
    if name is None:
        raise InvalidInput("Must specify userName when calling with non-User credentials")
    return name


def _require_user(call: Call, name: str) -> Any:
    user = IamRepository(call.uow).get_user(call.account_id, name)
    if user is None:
        raise NoSuchEntity(f"The user with name {name} cannot be found.")
    return user


def _page(items: list, params: Params, member: str) -> Result:
    """Index-based paging with an opaque marker."""
    start = 0
    if params.get("Marker"):
        try:
            start = int(base64.urlsafe_b64decode(params["Marker"].encode()).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidInput("Invalid Marker.") from None
    limit = params.get("MaxItems", 100)
    chunk = items[start:start + limit]
    out: Result = {member: chunk, "IsTruncated": start + limit < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return out


# --- passwords ---------------------------------------------------------------------------------


def _no_profile(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"Login Profile for User {name} cannot be found.")


def _check_password(call: Call, password: str) -> None:
    account = R.account_row(call.uow, call.account_id)
    forbidden = [account.email if account is not None else "", R.account_alias(call.uow, call.account_id) or ""]
    problem = D.check_password(R.get_password_policy(call.uow, call.account_id), password, forbidden)
    if problem is not None:
        raise PasswordPolicyViolation(problem)


@operation("CreateLoginProfile")
def create_login_profile(call: Call, params: Params) -> Result:
    user = _require_user(call, _user_name(call, params))
    if R.get_login_profile(call.uow, call.account_id, user.user_name) is not None:
        raise EntityAlreadyExists(f"Login Profile for User {user.user_name} already exists.")
    password = params.get("Password")
    if not password:
        raise InvalidInput("Password is required to create a login profile.")   # derived message
    _check_password(call, password)
    reset = bool(params.get("PasswordResetRequired", False))
    now = _now(call)
    try:
        R.add_login_profile(call.uow, call.account_id, user.user_name, hash_password(password), reset, now)
    except Exception as exc:
        if is_unique_violation(exc):
            raise EntityAlreadyExists(f"Login Profile for User {user.user_name} already exists.") from None
        raise
    return {"LoginProfile": D.LoginProfile(user.user_name, now, reset, now).to_wire()}


@operation("GetLoginProfile")
def get_login_profile(call: Call, params: Params) -> Result:
    user = _require_user(call, _user_name(call, params))
    found = R.get_login_profile(call.uow, call.account_id, user.user_name)
    if found is None:
        raise _no_profile(user.user_name)
    return {"LoginProfile": found[0].to_wire()}


@operation("UpdateLoginProfile")
def update_login_profile(call: Call, params: Params) -> Result:
    user = _require_user(call, params["UserName"])
    if R.get_login_profile(call.uow, call.account_id, user.user_name) is None:
        raise _no_profile(user.user_name)
    values: dict[str, Any] = {}
    if params.get("Password") is not None:
        _check_password(call, params["Password"])
        values.update(password_hash=hash_password(params["Password"]), password_changed_at=_now(call))
    if params.get("PasswordResetRequired") is not None:
        values["password_reset_required"] = bool(params["PasswordResetRequired"])
    if values:
        R.update_login_profile(call.uow, call.account_id, user.user_name, **values)
    return {}


@operation("DeleteLoginProfile")
def delete_login_profile(call: Call, params: Params) -> Result:
    user = _require_user(call, _user_name(call, params))
    if not R.delete_login_profile(call.uow, call.account_id, user.user_name):
        raise _no_profile(user.user_name)
    return {}


@operation("ChangePassword")
def change_password(call: Call, params: Params) -> Result:
    """The calling IAM user changes its own password; the root user (and any session that is
    not an IAM user's) gets InvalidUserType (aws iam change-password documentation)."""
    name = _caller_user_name(call)
    if name is None:
        raise InvalidUserType("Only IAM users can change their own password.")   # derived message
    found = R.get_login_profile(call.uow, call.account_id, name)
    if found is None:
        raise _no_profile(name)
    if not verify_password(params["OldPassword"], found[1]):
        raise AccessDenied("The old password is incorrect.")   # derived message
    _check_password(call, params["NewPassword"])
    R.update_login_profile(call.uow, call.account_id, name, password_hash=hash_password(params["NewPassword"]),
                           password_changed_at=_now(call), password_reset_required=False)
    return {}


# --- password policy ---------------------------------------------------------------------------


def _no_policy(call: Call) -> NoSuchEntity:
    return NoSuchEntity(f"The Password Policy with domain name {call.account_id} cannot be found.")


@operation("UpdateAccountPasswordPolicy")
def update_account_password_policy(call: Call, params: Params) -> Result:
    R.put_password_policy(call.uow, call.account_id, D.PasswordPolicy.from_params(dict(params)))
    return {}


@operation("GetAccountPasswordPolicy")
def get_account_password_policy(call: Call, params: Params) -> Result:
    policy = R.get_password_policy(call.uow, call.account_id)
    if policy is None:
        raise _no_policy(call)
    return {"PasswordPolicy": policy.to_wire()}


@operation("DeleteAccountPasswordPolicy")
def delete_account_password_policy(call: Call, params: Params) -> Result:
    if not R.delete_password_policy(call.uow, call.account_id):
        raise _no_policy(call)
    return {}


# --- account aliases ---------------------------------------------------------------------------


@operation("CreateAccountAlias")
def create_account_alias(call: Call, params: Params) -> Result:
    alias = params["AccountAlias"]
    if not D.alias_ok(alias):
        raise InvalidInput(f"Account alias {alias} is not valid.")   # derived message
    R.lock_account(call.uow, call.account_id)
    current = R.account_alias(call.uow, call.account_id)
    if current == alias:
        return {}
    taken = EntityAlreadyExists(f"The account alias {alias} already exists.")
    if R.alias_taken(call.uow, alias):
        raise taken
    if current is not None:
        raise LimitExceeded("Cannot exceed quota for AccountAliasesPerAccount: 1")
    try:
        R.add_alias(call.uow, call.account_id, alias, _now(call))
    except Exception as exc:
        if is_unique_violation(exc):
            raise taken from None
        raise
    return {}


@operation("ListAccountAliases")
def list_account_aliases(call: Call, params: Params) -> Result:
    alias = R.account_alias(call.uow, call.account_id)
    return {"AccountAliases": [alias] if alias else [], "IsTruncated": False}


@operation("DeleteAccountAlias")
def delete_account_alias(call: Call, params: Params) -> Result:
    alias = params["AccountAlias"]
    if not R.delete_alias(call.uow, call.account_id, alias):
        raise NoSuchEntity(f"The account alias {alias} cannot be found.")
    return {}


# --- virtual MFA devices -----------------------------------------------------------------------


def _no_device(serial: str) -> NoSuchEntity:
    return NoSuchEntity(f"MFA Device with serial number {serial} does not exist.")   # derived message


@operation("CreateVirtualMFADevice")
def create_virtual_mfa_device(call: Call, params: Params) -> Result:
    name, path = params["VirtualMFADeviceName"], params.get("Path") or "/"
    if name.lower() == D.ROOT_DEVICE_NAME and not call.principal.is_root:
        # only the root user may create the device it will assign to itself
        raise InvalidInput(f"The name {name} is reserved for the root user's MFA device.")   # derived
    tags = tuple(check_tags(params.get("Tags") or []))
    serial = D.mfa_serial(call.partition, call.account_id, path, name)
    exists = EntityAlreadyExists(f"MFA device with serial number {serial} already exists.")
    if R.device_exists(call.uow, call.account_id, name):
        raise exists
    seed = D.new_seed()
    sealed = call.sealer.seal(seed.encode(), context=D.seed_context(serial))
    try:
        R.add_device(call.uow, call.account_id, name, serial, sealed, _now(call), tags)
    except Exception as exc:
        if is_unique_violation(exc):
            raise exists from None
        raise
    device: Result = {"SerialNumber": serial, "Base32StringSeed": seed.encode(),
                      "QRCodePNG": D.qr_png(D.otpauth_uri(seed, name, call.account_id))}
    if tags:
        device["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
    return {"VirtualMFADevice": device}


def _seed(call_sealer: Any, serial: str, sealed: bytes) -> str:
    return call_sealer.open(sealed, context=D.seed_context(serial)).decode()


def _device_owner(call: Call, params: Params, serial: str) -> str | None:
    """The user a device operation is about; None for the root user acting on its own device
    (the root caller naming its root-account-mfa-device serial number)."""
    if call.principal.is_root and serial == D.root_mfa_serial(call.partition, call.account_id):
        return None
    name = params.get("UserName") or _caller_user_name(call)
    if name is None:
        raise InvalidInput("Must specify userName when calling with non-User credentials")
    return _require_user(call, name).user_name


def _owned_by(device: D.MfaDevice, user_name: str | None) -> bool:
    if user_name is None:
        return device.owner_type == D.OWNER_ROOT
    return device.owner_type == D.OWNER_USER and name_key(device.user_name or "") == name_key(user_name)


@operation("EnableMFADevice")
def enable_mfa_device(call: Call, params: Params) -> Result:
    serial = params["SerialNumber"]
    owner = _device_owner(call, params, serial)
    found = R.get_device(call.uow, call.account_id, serial, lock=True)
    if found is None:
        raise _no_device(serial)
    device, sealed = found
    if device.owner_type is not None:
        raise EntityAlreadyExists("MFA Device is already in use.")
    if len(R.devices_of(call.uow, call.account_id, owner)) >= D.DEVICES_PER_USER:
        raise LimitExceeded(f"Cannot exceed quota for MFADevicesPerUser: {D.DEVICES_PER_USER}")
    now = _now(call)
    step = D.consecutive_step(_seed(call.sealer, serial, sealed), params["AuthenticationCode1"],
                              params["AuthenticationCode2"], now, None)
    if step is None:
        raise InvalidAuthenticationCode(BAD_CODE)
    R.assign_device(call.uow, call.account_id, serial, owner, now, step)
    return {}


@operation("ResyncMFADevice")
def resync_mfa_device(call: Call, params: Params) -> Result:
    serial = params["SerialNumber"]
    owner = _device_owner(call, params, serial)
    found = R.get_device(call.uow, call.account_id, serial, lock=True)
    if found is None or not _owned_by(found[0], owner):
        raise _no_device(serial)
    device, sealed = found
    step = D.consecutive_step(_seed(call.sealer, serial, sealed), params["AuthenticationCode1"],
                              params["AuthenticationCode2"], _now(call), device.last_step,
                              window=D.RESYNC_STEPS)
    if step is None:
        raise InvalidAuthenticationCode(BAD_CODE)
    R.set_last_step(call.uow, call.account_id, serial, step)
    return {}


@operation("DeactivateMFADevice")
def deactivate_mfa_device(call: Call, params: Params) -> Result:
    serial = params["SerialNumber"]
    owner = _device_owner(call, params, serial)
    found = R.get_device(call.uow, call.account_id, serial, lock=True)
    if found is None or not _owned_by(found[0], owner):
        raise _no_device(serial)
    R.unassign_device(call.uow, call.account_id, serial)
    return {}


@operation("DeleteVirtualMFADevice")
def delete_virtual_mfa_device(call: Call, params: Params) -> Result:
    serial = params["SerialNumber"]
    found = R.get_device(call.uow, call.account_id, serial, lock=True)
    if found is None:
        raise _no_device(serial)
    if found[0].owner_type is not None:
        raise DeleteConflict("MFA VirtualDevice in use. Must deactivate first.")
    R.delete_device(call.uow, call.account_id, serial)
    return {}


@operation("ListMFADevices")
def list_mfa_devices(call: Call, params: Params) -> Result:
    name = params.get("UserName") or _caller_user_name(call)
    owner = _require_user(call, name).user_name if name is not None else None
    devices = R.devices_of(call.uow, call.account_id, owner)
    return _page([d.mfa_wire(owner or call.account_id) for d in devices], params, "MFADevices")


@operation("ListVirtualMFADevices")
def list_virtual_mfa_devices(call: Call, params: Params) -> Result:
    status = params.get("AssignmentStatus") or D.ANY
    repo = IamRepository(call.uow)
    out = []
    for device in R.list_devices(call.uow, call.account_id):
        assigned = device.owner_type is not None
        if (status == D.ASSIGNED and not assigned) or (status == D.UNASSIGNED and assigned):
            continue
        user = None
        if device.owner_type == D.OWNER_ROOT:
            user = {"Arn": root_arn(call.partition, call.account_id), "UserId": call.account_id,
                    "CreateDate": repo.account_created_at(call.account_id)}
        elif device.owner_type == D.OWNER_USER and device.user_name:
            found = repo.get_user(call.account_id, device.user_name)
            user = found.to_wire(with_tags=False) if found is not None else None
        out.append(device.virtual_wire(user))
    return _page(out, params, "VirtualMFADevices")


class MfaCheck(enum.Enum):
    OK = "ok"
    NO_DEVICE = "no device"      # the serial number names no device enabled for the caller
    BAD_CODE = "bad code"        # wrong, out of the drift window, or already used


def verify_mfa(uow: Any, sealer: Any, account_id: str, serial: str, code: str, now: _dt.datetime, *,
               user_name: str | None, record: bool = True) -> MfaCheck:
    """For STS (GetSessionToken, AssumeRole with SerialNumber and TokenCode): whether ``code`` is
    the current TOTP code of the device ``serial`` enabled for the caller (``user_name``: the IAM
    user; None: the root user). An accepted code's time step is recorded (in the caller's unit of
    work, which must be a write one), so the same code cannot be used twice; ``record=False`` only
    looks (the authorization of AssumeRole, before the operation itself uses the code)."""
    found = get_device_for_owner(uow, account_id, serial, user_name)
    if found is None:
        return MfaCheck.NO_DEVICE
    device, sealed = found
    step = D.single_step(_seed(sealer, serial, sealed), code, now, device.last_step)
    if step is None:
        return MfaCheck.BAD_CODE
    if record:  # record=False: authorization looks before the operation uses (and records) the code
        R.set_last_step(uow, account_id, serial, step)
    return MfaCheck.OK


def get_device_for_owner(uow: Any, account_id: str, serial: str,
                         user_name: str | None) -> tuple[D.MfaDevice, bytes] | None:
    found = R.get_device(uow, account_id, serial, lock=True)
    if found is None or not _owned_by(found[0], user_name):
        return None
    return found


# --- account summary and credential report ------------------------------------------------------


@operation("GetAccountSummary")
def get_account_summary(call: Call, params: Params) -> Result:
    return {"SummaryMap": D.summary_map(R.summary_counts(call.uow, call.account_id))}


def _key_facts(rows: list) -> tuple[D.KeyFacts, ...]:
    return tuple(D.KeyFacts(active=r.status == "Active", created_at=r.created_at, last_used_at=r.last_used_at,
                            last_used_region=r.last_used_region, last_used_service=r.last_used_service)
                 for r in rows)


def _report(call: Call) -> str:
    uow, acct = call.uow, call.account_id
    keys, profiles, mfa = R.all_keys(uow, acct), R.all_login_profiles(uow, acct), R.mfa_owners(uow, acct)
    account = R.account_row(uow, acct)
    rows = [D.CredentialFacts(name=D.ROOT_ROW_NAME, arn=root_arn(call.partition, acct),
                              created_at=account.created_at, root=True, password_enabled=True,
                              password_last_used=None, password_changed_at=None, mfa_active=None in mfa,
                              keys=_key_facts(keys.get(None, [])))]
    for user in R.all_users(uow, acct):
        profile = profiles.get(user.user_name_key)
        rows.append(D.CredentialFacts(
            name=user.user_name, arn=user.arn, created_at=user.created_at, root=False,
            password_enabled=profile is not None, password_last_used=user.password_last_used,
            password_changed_at=profile.password_changed_at if profile is not None else None,
            mfa_active=user.user_name_key in mfa, keys=_key_facts(keys.get(user.user_name_key, []))))
    return D.credential_report_csv(rows, R.get_password_policy(uow, acct))


@operation("GenerateCredentialReport")
def generate_credential_report(call: Call, params: Params) -> Result:
    now = _now(call)
    existing = R.get_report(call.uow, call.account_id)
    if existing is not None and now - existing[0] < D.REPORT_TTL:
        return {"State": "COMPLETE"}
    R.put_report(call.uow, call.account_id, now, _report(call))
    return {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}


@operation("GetCredentialReport")
def get_credential_report(call: Call, params: Params) -> Result:
    found = R.get_report(call.uow, call.account_id)
    if found is None:
        raise ReportNotPresent("The request was rejected because the credential report does not exist. "
                               "To generate a credential report, use GenerateCredentialReport.")
    generated, content = found
    if _now(call) - generated >= D.REPORT_TTL:
        raise ReportExpired("The request was rejected because the most recent credential report has expired. "
                            "To generate a new credential report, use GenerateCredentialReport.")
    return {"Content": content.encode(), "ReportFormat": "text/csv", "GeneratedTime": generated}


# --- GetAccountAuthorizationDetails -------------------------------------------------------------

FILTERS = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")


def _boundary(arn: str | None) -> dict:
    return {"PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}} if arn else {}


def _tags(pairs: list) -> dict:
    return {"Tags": [{"Key": k, "Value": v} for k, v in pairs]} if pairs else {}


class _Details:
    """The account's entities, read in a few bulk queries."""

    def __init__(self, call: Call) -> None:
        uow, acct = call.uow, call.account_id
        self.call = call
        self.inline = R.inline_policies(uow, acct)
        self.attached = R.attachments(uow, acct)

    def _policies(self, kind: str, key: str) -> tuple[list, list]:
        inline = [{"PolicyName": n, "PolicyDocument": policy_wire(d)} for n, d in self.inline.get((kind, key), [])]
        attached = [{"PolicyName": n, "PolicyArn": a} for n, a in self.attached.get((kind, key), [])]
        return inline, attached

    def users(self) -> list[dict]:
        uow, acct = self.call.uow, self.call.account_id
        groups, tags = R.memberships(uow, acct), R.user_tags_by_key(uow, acct)
        out = []
        for u in R.all_users(uow, acct):
            inline, attached = self._policies(USER, u.user_name_key)
            out.append({"Path": u.path, "UserName": u.user_name, "UserId": u.user_id, "Arn": u.arn,
                        "CreateDate": u.created_at, "UserPolicyList": inline,
                        "GroupList": groups.get(u.user_name_key, []), "AttachedManagedPolicies": attached,
                        **_boundary(u.permissions_boundary_arn), **_tags(tags.get(u.user_name_key, []))})
        return out

    def groups(self) -> list[dict]:
        out = []
        for g in R.all_groups(self.call.uow, self.call.account_id):
            inline, attached = self._policies(GROUP, g.group_name_key)
            out.append({"Path": g.path, "GroupName": g.group_name, "GroupId": g.group_id, "Arn": g.arn,
                        "CreateDate": g.created_at, "GroupPolicyList": inline, "AttachedManagedPolicies": attached})
        return out

    def roles(self) -> list[dict]:
        uow, acct = self.call.uow, self.call.account_id
        profiles, tags = R.profiles_of_roles(uow, acct), R.role_tags_by_key(uow, acct)
        roles = R.all_roles(uow, acct)
        summaries = {r.role_name_key: self._role_summary(r) for r in roles}
        out = []
        for r in roles:
            inline, attached = self._policies(ROLE, r.role_name_key)
            last: dict = {}
            if r.last_used_at is not None:
                last = {"LastUsedDate": r.last_used_at, **({"Region": r.last_used_region} if r.last_used_region else {})}
            out.append({**summaries[r.role_name_key],
                        "InstanceProfileList": [self._profile(p, summaries[r.role_name_key])
                                                for p in profiles.get(r.role_name_key, [])],
                        "RolePolicyList": inline, "AttachedManagedPolicies": attached,
                        **_boundary(r.permissions_boundary_arn), **_tags(tags.get(r.role_name_key, [])),
                        "RoleLastUsed": last})
        return out

    @staticmethod
    def _role_summary(r: Any) -> dict:
        out = {"Path": r.path, "RoleName": r.role_name, "RoleId": r.role_id, "Arn": r.arn,
               "CreateDate": r.created_at, "AssumeRolePolicyDocument": policy_wire(r.assume_role_policy)}
        return out

    @staticmethod
    def _profile(p: Any, role: dict) -> dict:
        return {"Path": p.path, "InstanceProfileName": p.instance_profile_name,
                "InstanceProfileId": p.instance_profile_id, "Arn": p.arn, "CreateDate": p.created_at,
                "Roles": [role]}

    def local_policies(self) -> list[dict]:
        from .repo_policies import PolicyRepository

        versions = R.policy_versions(self.call.uow, self.call.account_id)
        out = []
        for p in sorted(PolicyRepository(self.call.uow).list_policies(self.call.account_id), key=lambda p: p.name.lower()):
            wire = p.to_wire(full=False)
            if p.description:
                wire["Description"] = p.description
            wire["PolicyVersionList"] = [
                {"Document": policy_wire(v.document), "VersionId": version_id(v.version_num),
                 "IsDefaultVersion": version_id(v.version_num) == p.default_version_id, "CreateDate": v.created_at}
                for v in versions.get(name_key(p.name), [])]
            out.append(wire)
        return out

    def aws_policies(self) -> list[dict]:
        """AWS managed policies attached to something in the account."""
        counts: dict[str, int] = {}
        for pairs in self.attached.values():
            for _, arn in pairs:
                counts[arn] = counts.get(arn, 0) + 1
        out = []
        for arn, count in counts.items():
            parts = split_policy_arn(arn, self.call.partition)
            policy = aws_managed.find(parts[1], parts[2]) if parts and parts[0] == AWS_ACCOUNT else None
            if policy is None:
                continue
            managed = policy.policy(self.call.partition, attachment_count=count)
            wire = managed.to_wire(full=False)
            version = policy.default_version()
            wire["PolicyVersionList"] = [{"Document": policy_wire(version.document),
                                          "VersionId": version.version_id, "IsDefaultVersion": True,
                                          "CreateDate": version.created_at}]
            out.append(wire)
        return sorted(out, key=lambda w: w["PolicyName"].lower())


@operation("GetAccountAuthorizationDetails")
def get_account_authorization_details(call: Call, params: Params) -> Result:
    wanted = set(params.get("Filter") or FILTERS)
    details = _Details(call)
    sources: list[tuple[str, str, Callable[[], list[dict]]]] = [
        ("User", "UserDetailList", details.users), ("Group", "GroupDetailList", details.groups),
        ("Role", "RoleDetailList", details.roles), ("LocalManagedPolicy", "Policies", details.local_policies),
        ("AWSManagedPolicy", "Policies", details.aws_policies)]
    items: list[tuple[str, dict]] = []
    for kind, member, load in sources:
        if kind in wanted:
            items.extend((member, item) for item in load())
    page = _page(items, params, "_items")
    out: Result = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for member, item in page.pop("_items"):
        out[member].append(item)
    out.update(page)
    return out
