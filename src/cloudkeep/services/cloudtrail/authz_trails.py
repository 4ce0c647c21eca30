"""Authorization entries of the trail operations: the trail ARN each acts on (from its Name,
TrailName or ResourceId, a name or an ARN), and the tag keys of CreateTrail and AddTags.
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html

Must not: import the pipeline.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from cloudkeep.services.framework import AuthzContext, Check

from .trails_domain import TRAIL_ARN, trail_arn

REQUEST_TAGS = ("aws:RequestTag/${TagKey}", "aws:TagKeys")


def _arn_of(member: str):
    def build(ctx: AuthzContext) -> str:
        value = str(ctx.params.get(member) or "")
        if TRAIL_ARN.fullmatch(value):
            return value
        return trail_arn(ctx.partition, ctx.region, ctx.account_id, value or "*")
    return build


def _first_id(ctx: AuthzContext) -> str:
    ids = ctx.params.get("ResourceIdList") or [""]
    return _arn_of("ResourceId")(AuthzContext(params={"ResourceId": ids[0]}, account_id=ctx.account_id,
                                              region=ctx.region, partition=ctx.partition, principal=ctx.principal))


LIST_TAGS = Check("cloudtrail:ListTags", resource=lambda ctx: _arn_of("ResourceId")(ctx))


def _request_tags(ctx: AuthzContext) -> Mapping[str, tuple[str, ...]]:
    tags = [t for t in ctx.params.get("TagsList") or [] if isinstance(t, Mapping) and "Key" in t]
    out: dict[str, tuple[str, ...]] = {f"aws:RequestTag/{t['Key']}": (str(t.get("Value") or ""),) for t in tags}
    if tags:
        out["aws:TagKeys"] = tuple(str(t["Key"]) for t in tags)
    return out


def _on_trail(action: str, member: str = "Name") -> list[Check]:
    return [Check(f"cloudtrail:{action}", resource=_arn_of(member))]


def _organization_grant(action: str, member: str = "Name"):
    """A member account reads its organization's trails (the management account's) with its own
    IAM permissions: the organization is what lets that account in, so the check carries a
    resource policy naming it for this read action."""
    def load(ctx: AuthzContext, uow: Any) -> tuple[str, str] | None:
        arn = _arn_of(member)(ctx)
        if uow is None or arn.split(":")[4] == ctx.account_id:
            return None
        from .trails_org import visible_to_member
        if not any(t.arn == arn for t in visible_to_member(uow, ctx.account_id)):
            return None
        return (f"organization trail {arn}", json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:{ctx.partition}:iam::{ctx.account_id}:root"},
            "Action": f"cloudtrail:{action}", "Resource": arn}]}))
    return load


def _org_read(action: str, member: str = "Name") -> list[Check]:
    return [Check(f"cloudtrail:{action}", resource=_arn_of(member), resource_policy=_organization_grant(action, member))]


AUTHZ: dict[str, Any] = {
    "CreateTrail": [Check("cloudtrail:CreateTrail", resource=_arn_of("Name"), keys=REQUEST_TAGS,
                          context=_request_tags)],
    "UpdateTrail": _on_trail("UpdateTrail"),
    "DeleteTrail": _on_trail("DeleteTrail"),
    "GetTrail": _org_read("GetTrail"),
    "GetTrailStatus": _org_read("GetTrailStatus"),
    "StartLogging": _on_trail("StartLogging"),
    "StopLogging": _on_trail("StopLogging"),
    "PutEventSelectors": _on_trail("PutEventSelectors", "TrailName"),
    "GetEventSelectors": _org_read("GetEventSelectors", "TrailName"),
    "DescribeTrails": [Check("cloudtrail:DescribeTrails")],
    "ListTrails": [Check("cloudtrail:ListTrails")],
    "ListPublicKeys": [Check("cloudtrail:ListPublicKeys")],
    "AddTags": [Check("cloudtrail:AddTags", resource=_arn_of("ResourceId"), keys=REQUEST_TAGS,
                      context=_request_tags)],
    "RemoveTags": [Check("cloudtrail:RemoveTags", resource=_arn_of("ResourceId"), keys=("aws:TagKeys",),
                         context=_request_tags)],
    # the first resource here; the operation asks the same for every other one (LIST_TAGS)
    "ListTags": [Check("cloudtrail:ListTags", resource=_first_id)],
}
