"""IAM account-level entities and rules, pure: login profiles and the password policy, account
aliases, virtual MFA devices (TOTP, RFC 6238), the account summary and the credential report.

- Password policy and AWS's default rules when none is set:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
- Virtual MFA (30-second TOTP, 6 digits; two consecutive codes to enable or resync):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html
- Credential report columns and values:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
- Account summary keys: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html

Must not: do I/O (no SQL, no clock: times come in as arguments).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from dataclasses import dataclass
from typing import Final, Sequence
from urllib.parse import quote

import pyotp
import segno

# --- passwords ---------------------------------------------------------------------------------

#: the characters AWS counts as symbols
SYMBOLS: Final = frozenset("!@#$%^&*()_+-=[]{}|'")
MAX_PASSWORD_LENGTH: Final = 128


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    minimum_password_length: int = 6
    require_symbols: bool = False
    require_numbers: bool = False
    require_uppercase: bool = False
    require_lowercase: bool = False
    allow_users_to_change_password: bool = False
    max_password_age: int | None = None
    password_reuse_prevention: int | None = None
    hard_expiry: bool | None = None

    @classmethod
    def from_params(cls, params: dict) -> "PasswordPolicy":
        """UpdateAccountPasswordPolicy: a member left out takes its default value (AWS resets it)."""
        age = params.get("MaxPasswordAge")
        return cls(minimum_password_length=params.get("MinimumPasswordLength", 6),
                   require_symbols=bool(params.get("RequireSymbols", False)),
                   require_numbers=bool(params.get("RequireNumbers", False)),
                   require_uppercase=bool(params.get("RequireUppercaseCharacters", False)),
                   require_lowercase=bool(params.get("RequireLowercaseCharacters", False)),
                   allow_users_to_change_password=bool(params.get("AllowUsersToChangePassword", False)),
                   max_password_age=age or None,
                   password_reuse_prevention=params.get("PasswordReusePrevention"),
                   hard_expiry=params.get("HardExpiry"))

    def to_wire(self) -> dict:
        out: dict = {"MinimumPasswordLength": self.minimum_password_length,
                     "RequireSymbols": self.require_symbols, "RequireNumbers": self.require_numbers,
                     "RequireUppercaseCharacters": self.require_uppercase,
                     "RequireLowercaseCharacters": self.require_lowercase,
                     "AllowUsersToChangePassword": self.allow_users_to_change_password,
                     "ExpirePasswords": self.max_password_age is not None}
        if self.max_password_age is not None:
            out["MaxPasswordAge"] = self.max_password_age
        if self.password_reuse_prevention is not None:
            out["PasswordReusePrevention"] = self.password_reuse_prevention
        if self.hard_expiry is not None:
            out["HardExpiry"] = self.hard_expiry
        return out

    def violation(self, password: str) -> str | None:
        """AWS's PasswordPolicyViolation message for the first rule the password breaks."""
        if len(password) < self.minimum_password_length:
            return f"Password should have a minimum length of {self.minimum_password_length}"
        if len(password) > MAX_PASSWORD_LENGTH:
            return f"Password should have a maximum length of {MAX_PASSWORD_LENGTH}"
        if self.require_lowercase and not any(c.islower() for c in password):
            return "Password should have at least one lowercase letter"
        if self.require_uppercase and not any(c.isupper() for c in password):
            return "Password should have at least one uppercase letter"
        if self.require_numbers and not any(c.isdigit() for c in password):
            return "Password should have at least one number"
        if self.require_symbols and not any(c in SYMBOLS for c in password):
            return "Password should have at least one symbol"
        return None


def default_violation(password: str, forbidden: Sequence[str]) -> str | None:
    """AWS's rules when the account has no password policy: at least 8 characters, at least three
    of uppercase, lowercase, numbers and symbols, and not the account name or email address."""
    if len(password) < 8:
        return "Password should have a minimum length of 8"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password should have a maximum length of {MAX_PASSWORD_LENGTH}"
    kinds = (any(c.isupper() for c in password), any(c.islower() for c in password),
             any(c.isdigit() for c in password), any(c in SYMBOLS for c in password))
    if sum(kinds) < 3:
        return ("Password should have at least three of the following character types: uppercase letters, "
                "lowercase letters, numbers and symbols")   # derived message
    if any(password.lower() == f.lower() for f in forbidden if f):
        return "Password should not be identical to the account name or email address"   # derived message
    return None


def check_password(policy: PasswordPolicy | None, password: str, forbidden: Sequence[str]) -> str | None:
    return default_violation(password, forbidden) if policy is None else policy.violation(password)


@dataclass(frozen=True, slots=True)
class LoginProfile:
    user_name: str
    created_at: _dt.datetime
    password_reset_required: bool
    password_changed_at: _dt.datetime

    def to_wire(self) -> dict:
        return {"UserName": self.user_name, "CreateDate": self.created_at,
                "PasswordResetRequired": self.password_reset_required}


# --- account aliases ---------------------------------------------------------------------------

#: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html
_ALIAS = re.compile(r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$")


def alias_ok(alias: str) -> bool:
    return bool(_ALIAS.match(alias)) and not alias.isdigit()


# --- virtual MFA -------------------------------------------------------------------------------

ROOT_DEVICE_NAME: Final = "root-account-mfa-device"
STEP: Final = 30
#: accepted clock drift, in time steps either side of the server's
DRIFT_STEPS: Final = 1
#: ResyncMFADevice looks further for a device whose clock has drifted
RESYNC_STEPS: Final = 10
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (MFA devices in use
#: per user); the account may hold as many virtual devices as users + 1
DEVICES_PER_USER: Final = 8
OWNER_USER, OWNER_ROOT = "user", "root"
ASSIGNED, UNASSIGNED, ANY = "Assigned", "Unassigned", "Any"


def mfa_serial(partition: str, account_id: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:mfa{path}{name}"


def root_mfa_serial(partition: str, account_id: str) -> str:
    return mfa_serial(partition, account_id, "/", ROOT_DEVICE_NAME)


def serial_name(serial: str, account_id: str) -> str | None:
    """The device name of a virtual device's serial number in this account, else None."""
    parts = serial.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or parts[4] != account_id or not parts[5].startswith("mfa/"):
        return None
    return parts[5].rsplit("/", 1)[1] or None


def seed_context(serial: str) -> bytes:
    """What a device's sealed seed is bound to: it opens only as that device's seed."""
    return b"iam-mfa-seed:" + serial.encode()


def new_seed() -> str:
    return pyotp.random_base32()


def otpauth_uri(seed: str, device_name: str, account_id: str) -> str:
    """The provisioning URI the QR code carries (Google Authenticator's Key Uri Format)."""
    issuer = "Amazon Web Services"
    label = quote(f"{issuer}:{device_name}@{account_id}", safe=":@")
    return f"otpauth://totp/{label}?secret={seed}&issuer={quote(issuer)}"


def qr_png(uri: str) -> bytes:
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="png", scale=4)
    return buf.getvalue()


def step_of(now: _dt.datetime) -> int:
    return int(now.timestamp()) // STEP


def code_at_step(seed: str, step: int) -> str:
    return pyotp.TOTP(seed).at(step * STEP)


def _same(a: str, b: str) -> bool:
    import hmac
    return hmac.compare_digest(a.encode(), b.encode())


def consecutive_step(seed: str, code1: str, code2: str, now: _dt.datetime, after: int | None, *,
                     window: int = DRIFT_STEPS) -> int | None:
    """The time step of ``code2`` when ``code1`` is the code of the step before it, within the drift
    window around ``now`` and later than ``after`` (a step already used); None otherwise."""
    current = step_of(now)
    for step in range(current - window, current + window + 1):
        if after is not None and step - 1 <= after:
            continue
        if _same(code_at_step(seed, step), code2) and _same(code_at_step(seed, step - 1), code1):
            return step
    return None


def single_step(seed: str, code: str, now: _dt.datetime, after: int | None) -> int | None:
    """The time step of one code within the drift window, later than ``after``; else None."""
    current = step_of(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if _same(code_at_step(seed, step), code):
            return step
    return None


@dataclass(frozen=True, slots=True)
class MfaDevice:
    account_id: str
    serial_number: str
    created_at: _dt.datetime
    owner_type: str | None = None        # None (unassigned), "user" or "root"
    user_name: str | None = None         # the IAM user's name when owner_type is "user"
    enabled_at: _dt.datetime | None = None
    last_step: int | None = None
    tags: tuple[tuple[str, str], ...] = ()

    def virtual_wire(self, user: dict | None) -> dict:
        out: dict = {"SerialNumber": self.serial_number}
        if user is not None:
            out["User"] = user
        if self.enabled_at is not None:
            out["EnableDate"] = self.enabled_at
        if self.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags]
        return out

    def mfa_wire(self, owner_name: str) -> dict:
        return {"UserName": owner_name, "SerialNumber": self.serial_number, "EnableDate": self.enabled_at}


# --- account summary ---------------------------------------------------------------------------

#: the quotas GetAccountSummary reports (IAM's current defaults)
QUOTAS: Final = {
    "AccessKeysPerUserQuota": 2, "AssumeRolePolicySizeQuota": 2048, "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10, "AttachedPoliciesPerUserQuota": 10, "GlobalEndpointTokenVersion": 1,
    "GroupPolicySizeQuota": 5120, "GroupsPerUserQuota": 10, "GroupsQuota": 300, "InstanceProfilesQuota": 1000,
    "PoliciesQuota": 1500, "PolicySizeQuota": 6144, "PolicyVersionsInUseQuota": 10000,
    "RolePolicySizeQuota": 10240, "RolesQuota": 1000, "ServerCertificatesQuota": 20,
    "SigningCertificatesPerUserQuota": 2, "UserPolicySizeQuota": 2048, "UsersQuota": 5000,
    "VersionsPerPolicyQuota": 5,
}


def summary_map(counts: dict[str, int]) -> dict[str, int]:
    """The SummaryMap: the quotas and the account's counts (missing counts are 0)."""
    out = dict(QUOTAS)
    for key in ("Users", "Groups", "Roles", "Policies", "InstanceProfiles", "MFADevices", "MFADevicesInUse",
                "PolicyVersionsInUse", "Providers", "ServerCertificates", "AccountMFAEnabled",
                "AccountAccessKeysPresent", "AccountSigningCertificatesPresent"):
        out[key] = counts.get(key, 0)
    return dict(sorted(out.items()))


# --- credential report -------------------------------------------------------------------------

#: a report younger than this is returned as is; older, GetCredentialReport says ReportExpired
REPORT_TTL: Final = _dt.timedelta(hours=4)
ROOT_ROW_NAME: Final = "<root_account>"
COLUMNS: Final = (
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
    "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
)


def report_time(value: _dt.datetime) -> str:
    """ISO 8601 as the report writes it: ``2024-01-02T03:04:05+00:00``."""
    return value.astimezone(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class KeyFacts:
    active: bool
    created_at: _dt.datetime
    last_used_at: _dt.datetime | None
    last_used_region: str | None
    last_used_service: str | None


@dataclass(frozen=True, slots=True)
class CredentialFacts:
    """What the report says about one identity (a user, or the root user with ``root``)."""

    name: str
    arn: str
    created_at: _dt.datetime
    root: bool
    password_enabled: bool
    password_last_used: _dt.datetime | None
    password_changed_at: _dt.datetime | None
    mfa_active: bool
    keys: tuple[KeyFacts, ...]


def _key_columns(key: KeyFacts | None) -> list[str]:
    if key is None:
        return ["false", "N/A", "N/A", "N/A", "N/A"]
    if key.last_used_at is None:
        used = ["N/A", "N/A", "N/A"]
    else:
        used = [report_time(key.last_used_at), key.last_used_region or "N/A", key.last_used_service or "N/A"]
    return ["true" if key.active else "false", report_time(key.created_at), *used]


def report_row(facts: CredentialFacts, policy: PasswordPolicy | None) -> list[str]:
    if facts.root:
        password = ["not_supported", report_time(facts.password_last_used) if facts.password_last_used
                    else "no_information", "not_supported", "not_supported"]
    elif not facts.password_enabled:
        password = ["false", "N/A", "N/A", "N/A"]
    else:
        changed = facts.password_changed_at
        rotation = "N/A"
        if policy is not None and policy.max_password_age and changed is not None:
            rotation = report_time(changed + _dt.timedelta(days=policy.max_password_age))
        password = ["true", report_time(facts.password_last_used) if facts.password_last_used else "no_information",
                    report_time(changed) if changed else "N/A", rotation]
    keys = list(facts.keys)[:2]
    columns = [facts.name, facts.arn, report_time(facts.created_at), *password,
               "true" if facts.mfa_active else "false"]
    for i in range(2):
        columns += _key_columns(keys[i] if i < len(keys) else None)
    return columns + ["false", "N/A", "false", "N/A"]


def credential_report_csv(rows: Sequence[CredentialFacts], policy: PasswordPolicy | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for facts in rows:
        writer.writerow(report_row(facts, policy))
    return out.getvalue().rstrip("\n")
