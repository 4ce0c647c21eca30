"""The fixed vocabulary of the IAM policy grammar: element names, condition operators, the STS
actions a trust policy may name, size quotas, and the error texts AWS answers with. ``parse.py``
applies them; nothing here decides anything.

Error texts are AWS's own where a real IAM/S3/Organizations answer was found (cited in
tests/test_policy_parse.py); the few marked *derived* follow the same wording for a case no
public AWS output was found for.

Must not: import anything outside the standard library; do I/O.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final, Mapping

from .model import PolicyKind

# -- elements ------------------------------------------------------------------------------

TOP_ELEMENTS: Final = frozenset({"Version", "Id", "Statement"})
STATEMENT_ELEMENTS: Final = frozenset({
    "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
    "Principal", "NotPrincipal", "Condition",
})
PRINCIPAL_KEYS: Final = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
TRUST_PRINCIPAL_KEYS: Final = frozenset({"AWS", "Service", "Federated"})

#: kinds written through IAM (their principal is implicit)
NO_PRINCIPAL_KINDS: Final = frozenset({PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION})
#: kinds whose statements need Resource or NotResource
RESOURCE_REQUIRED_KINDS: Final = NO_PRINCIPAL_KINDS
#: Organizations policies (their own error texts and code)
ORG_KINDS: Final = frozenset({PolicyKind.SCP, PolicyKind.RCP})
#: IAM accepts only [0-9A-Za-z]* as Sid; resource policies (S3, KMS…) accept spaces and more
ALNUM_SID_KINDS: Final = frozenset({
    PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.TRUST,
    PolicyKind.SCP, PolicyKind.RCP,
})

# -- condition operators (spec §5.3) -------------------------------------------------------

CONDITION_OPERATORS: Final = frozenset({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike",
    "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals",
    "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
    "DateGreaterThan", "DateGreaterThanEquals",
    "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
    "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
    "Null",
})
SET_QUALIFIERS: Final = ("ForAllValues", "ForAnyValue")
IF_EXISTS: Final = "IfExists"

# -- trust policies --------------------------------------------------------------------------

#: the actions a role trust policy may name (IAM User Guide, "Role trust policy"; session tags,
#: source identity and context are granted in the same statement as the assume action)
TRUST_ACTIONS: Final = frozenset({
    "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
    "sts:tagsession", "sts:setsourceidentity", "sts:setcontext",
})
#: every STS action, so a wildcard in a trust policy can be checked to reach only TRUST_ACTIONS
STS_ACTIONS: Final = TRUST_ACTIONS | frozenset({
    "sts:assumeroot", "sts:decodeauthorizationmessage", "sts:getaccesskeyinfo",
    "sts:getcalleridentity", "sts:getfederationtoken", "sts:getservicebearertoken",
    "sts:getsessiontoken", "sts:getwebidentitytoken", "sts:getdelegatedaccesstoken",
})

# -- quotas (IAM and STS quotas page; Organizations quotas page) ---------------------------

QUOTAS: Final[Mapping[str, int]] = MappingProxyType({
    "managed": 6144,          # customer managed policy (also a permissions boundary)
    "inline_user": 2048,      # aggregate of a user's inline policies
    "inline_group": 5120,     # aggregate of a group's inline policies
    "inline_role": 10240,     # aggregate of a role's inline policies
    "trust": 2048,            # role trust policy, default (ACLSizePerRole)
    "trust_max": 4096,        # role trust policy, highest raisable value
    "session": 2048,          # inline session policy (plus managed ARNs) of AssumeRole*/GetFederationToken
    "scp": 5120,
    "rcp": 5120,
})

# -- messages ----------------------------------------------------------------------------------

MALFORMED: Final = "MalformedPolicyDocument"
ORG_MALFORMED: Final = "MalformedPolicyDocumentException"
LIMIT_EXCEEDED: Final = "LimitExceeded"

SYNTAX: Final = "Syntax errors in policy."
INVALID_JSON_TRUST: Final = "This policy contains invalid Json"
LEGACY: Final = "The policy failed legacy parsing"
VERSION_2012_REQUIRED: Final = "Policy document must be version 2012-10-17 or greater."
SID_NOT_ALNUM: Final = ("Statement IDs (SID) must be alpha-numeric. Check that your input "
                        "satisfies the regular expression [0-9A-Za-z]*")
SID_NOT_UNIQUE: Final = "Statement IDs (SID) in a single policy must be unique."
NEEDS_ACTIONS: Final = "Policy statement must contain actions."
NEEDS_RESOURCES: Final = "Policy statement must contain resources."
NO_VENDOR: Final = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON: Final = "Actions/Condition can contain only one colon."
BAD_VENDOR: Final = "Vendor {vendor} is not valid"
RESOURCE_NOT_ARN: Final = 'Resource {resource} must be in ARN format or "*".'
RESOURCE_PARTITION: Final = 'Partition "{partition}" is not valid for resource "{arn}".'
RESOURCE_VENDOR: Final = "Resource vendor must be fully qualified and cannot contain regexes."
PRINCIPAL_FORBIDDEN: Final = "Policy document should not specify a principal."
PRINCIPAL_MISSING: Final = "Missing required field Principal"
PRINCIPAL_INVALID: Final = "Invalid principal in policy"
PRINCIPAL_INVALID_DETAIL: Final = 'Invalid principal in policy: "{key}":"{value}"'
TRUST_NO_PRINCIPAL: Final = ("Invalid principal in policy: com.amazon.balsa.error."
                             "InvalidPolicyException: The passed in policy has a statement "
                             "with no principals!")
TRUST_RESOURCE: Final = "Has prohibited field {field}"
TRUST_NOT_PRINCIPAL: Final = "AssumeRole policy must not contain NotPrincipal field."  # derived
TRUST_ACTION: Final = "AssumeRole policy may only specify STS AssumeRole actions."
ORG_INVALID: Final = ("The provided policy document does not meet the requirements of the "
                      "specified policy type.")

QUOTA_EXCEEDED: Final = "Cannot exceed quota for {name}: {limit}"
INLINE_EXCEEDED: Final = "Maximum policy size of {limit} bytes exceeded for {entity} {name}"
