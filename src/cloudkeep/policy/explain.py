"""AccessDenied message texts for a denying ``Decision``, in AWS's current wording
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html):

    User: ARN is not authorized to perform: ACTION on resource: RESOURCE with an explicit deny in a TYPE
    User: ARN is not authorized to perform: ACTION on resource: RESOURCE because no TYPE allows the ACTION action

where TYPE is "identity-based policy", "resource-based policy", "permissions boundary",
"session policy", "service control policy" or "resource control policy". S3's enhanced messages
put the resource in double quotes (``quote_resource``); IAM's own do not. Since 2025 AWS may
append the denying policy's ARN to an explicit deny in the same account/organization
(``with_policy``: the name of the first deciding statement's policy, when it is an ARN).

Must not: decide anything (``evaluate`` does); import anything outside the standard library and
``cloudkeep.policy``; do I/O.
"""

from __future__ import annotations

from cloudkeep.policy.model import Decision, Outcome, PolicyKind

POLICY_TYPE: dict[PolicyKind, str] = {
    PolicyKind.IDENTITY: "identity-based policy",
    PolicyKind.RESOURCE: "resource-based policy",
    PolicyKind.TRUST: "resource-based policy",
    PolicyKind.BOUNDARY: "permissions boundary",
    PolicyKind.SESSION: "session policy",
    PolicyKind.SCP: "service control policy",
    PolicyKind.RCP: "resource control policy",
}


def reason(action: str, decision: Decision, *, with_policy: bool = False) -> str:
    """The part after the resource: "with an explicit deny in a …" / "because no … allows …"."""
    if decision.outcome is Outcome.ALLOW:
        raise ValueError("an allowed decision has no AccessDenied message")
    layer = decision.denied_by or PolicyKind.IDENTITY
    kind = POLICY_TYPE[layer]
    if decision.outcome is Outcome.EXPLICIT_DENY:
        text = f"with an explicit deny in a{'n' if kind[0] in 'aeiou' else ''} {kind}"
        if with_policy and decision.deciding and decision.deciding[0].policy_name.startswith("arn:"):
            text += ": " + decision.deciding[0].policy_name
        return text
    return f"because no {kind} allows the {action} action"


def access_denied_message(principal_arn: str, action: str, resource: str, decision: Decision, *,
                          principal_label: str = "User", quote_resource: bool = False,
                          with_policy: bool = False) -> str:
    """The AccessDenied message for a denying decision. ``principal_arn == "*"`` (an anonymous
    caller) gives "Anonymous user" without an ARN, as cloudkeep's pipeline already says."""
    who = "Anonymous user" if principal_arn == "*" else f"{principal_label}: {principal_arn}"
    shown = f'"{resource}"' if quote_resource else resource
    return (f"{who} is not authorized to perform: {action} on resource: {shown} "
            f"{reason(action, decision, with_policy=with_policy)}")
