"""Block Public Access: the four settings, their effective value (bucket OR account), and what
AWS counts as a public bucket policy or ACL.

"The meaning of public" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status):
a policy is non-public only if every Allow statement grants to fixed principals (no "*", no
wildcard, no account-less principal) or is pinned by a condition on one of the keys below to
fixed values (no wildcard, no policy variable); aws:SourceIp pins only with CIDRs no broader
than /8 (IPv4) or /32 (IPv6) outside the RFC 1918 ranges. An ACL is public when it grants to
AllUsers or AuthenticatedUsers.

New buckets have all four settings on (April 2023):
https://aws.amazon.com/about-aws/whats-new/2022/12/amazon-s3-automatically-enable-block-public-access-disable-access-control-lists-buckets-april-2023/

Must not: read storage (callers pass the settings), decide access.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from typing import Any, Mapping

SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
ALL_ON: Mapping[str, bool] = {name: True for name in SETTINGS}

#: condition keys that pin a public statement to non-public callers when set to fixed values
_PINNING = frozenset(k.lower() for k in (
    "aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner", "aws:SourceAccount",
    "aws:PrincipalOrgID", "aws:PrincipalAccount", "aws:userid", "aws:PrincipalArn",
    "s3:DataAccessPointArn", "s3:DataAccessPointAccount", "s3:x-amz-server-side-encryption-aws-kms-key-id"))
_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_POSITIVE = ("stringequals", "stringequalsignorecase", "arnequals", "arnlike", "stringlike")


def config(settings: Mapping[str, Any] | None) -> dict[str, bool]:
    """The four settings, False where absent."""
    return {name: bool((settings or {}).get(name, False)) for name in SETTINGS}


def effective(bucket: Mapping[str, Any] | None, account: Mapping[str, Any] | None) -> dict[str, bool]:
    """A setting applies when the bucket's or the account's has it on."""
    b, a = config(bucket), config(account)
    return {name: b[name] or a[name] for name in SETTINGS}


def _fixed(value: Any) -> bool:
    text = str(value)
    return not any(c in text for c in "*?") and "${" not in text


def _pinned_ip(value: Any) -> bool:
    try:
        network = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return False
    if network.version == 4:
        return network.prefixlen >= 8 and not any(network.subnet_of(p) for p in _PRIVATE)
    return network.prefixlen >= 32


def _pinned(condition: Mapping[str, Any]) -> bool:
    for operator, block in condition.items():
        op = operator.lower()
        if op.endswith("ifexists") or op.startswith("forallvalues:") or not isinstance(block, Mapping):
            continue
        op = op.removeprefix("foranyvalue:")
        for key, values in block.items():
            items = values if isinstance(values, list) else [values]
            if not items:
                continue
            name = key.lower()
            if name == "aws:sourceip" and op == "ipaddress" and all(_pinned_ip(v) for v in items):
                return True
            if name in _PINNING and op in _POSITIVE and all(_fixed(v) for v in items):
                return True
    return False


def _public_principal(statement: Mapping[str, Any]) -> bool:
    if "NotPrincipal" in statement:
        return True
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    values = principal.get("AWS", [])
    for value in values if isinstance(values, list) else [values]:
        if not _fixed(value):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def policy_is_public(text: str | None) -> bool:
    """True when some Allow statement of the policy grants to the public."""
    if not text:
        return False
    document = json.loads(text)
    found = document.get("Statement", [])
    for statement in found if isinstance(found, list) else [found]:
        if statement.get("Effect") != "Allow":
            continue
        if _public_principal(statement) and not _pinned(statement.get("Condition") or {}):
            return True
    return False
