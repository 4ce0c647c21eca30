"""Decisions per second of cloudkeep's policy engine, against moto's IAM policy evaluator and
cedarpy on equivalent workloads, in the same run. Not a test (nothing here is collected by CI).

    .venv/bin/python benchmarks/policy_engine.py            # ~20 s
    .venv/bin/python benchmarks/policy_engine.py --quick    # a smoke run
    .venv/bin/python benchmarks/policy_engine.py --check    # exit 1 when a target is missed

Workload (cloudkeep): an IAM user with 10 managed policies totalling 60 statements (conditions on
region, source IP, MFA, principal and resource tags; policy variables in resources and condition
values; NotAction and Deny statements), a bucket policy of 4 statements and 3 SCP levels
(FullAWSAccess everywhere, region and leave-organization denies), over 200 requests of mixed
actions, resources and contexts; warm caches (steady state of a server). A second line builds a
new ``ApplicablePolicies`` per decision (same Policy objects), so the per-set cache never hits.

moto (``moto.iam.access_control.IAMPolicy(...).is_action_permitted``): the same identity and
bucket policies without their Condition blocks (moto's evaluator only knows trust-policy
conditions) — the subset it supports, one call per policy, deny wins.

cedarpy (``cedarpy.is_authorized`` with a pre-parsed ``PolicySet`` and ``Entities``): an
RBAC+ABAC set of 60 policies of the same shape (role membership, action groups, conditions on
context region/IP/MFA and on resource owner = principal name), one call per decision; the
batch API is shown for information.

Targets: ≥ 50,000 decisions/s on one core; ≥ 10× moto; ≥ cedarpy through its Python API.
Setup: moto comes with the ``bench`` extra; cedarpy is installed by hand into .venv
(``.venv/bin/python -m pip install cedarpy``) — the benchmark runs without it if absent.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Callable

from cloudkeep.policy.evaluate import evaluate
from cloudkeep.policy.model import (
    ApplicablePolicies,
    AuthzRequest,
    PolicyKind,
    PolicyRef,
    PrincipalKind,
    RequestPrincipal,
)
from cloudkeep.policy.parse import parse_policy

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/bob"
SERVICES = ["s3", "ec2", "dynamodb", "sqs", "sns", "lambda", "logs", "kms", "iam", "cloudwatch"]
READ = ["Get{}", "Describe{}", "List{}"]
NOUNS = ["Object", "Instances", "Table", "Queue", "Topic", "Function", "LogEvents", "Key", "User", "Alarms"]


def arn(service: str, path: str) -> str:
    if service == "s3":
        return f"arn:aws:s3:::{path}"
    region = "" if service == "iam" else "eu-west-1"
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{path}"


def identity_documents() -> list[dict]:
    docs = []
    for i, svc in enumerate(SERVICES):
        noun = NOUNS[i]
        docs.append({"Version": "2012-10-17", "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": [f"{svc}:Get*", f"{svc}:Describe*", f"{svc}:List*"],
             "Resource": arn(svc, "*"),
             "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}},
            {"Sid": "OwnPrefix", "Effect": "Allow", "Action": [f"{svc}:Put*", f"{svc}:Create*", f"{svc}:Update*"],
             "Resource": arn(svc, "home/${aws:username}/*")},
            {"Sid": "OwnedByMe", "Effect": "Allow", "Action": f"{svc}:*{noun}*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}},
            {"Sid": "Office", "Effect": "Allow", "Action": [f"{svc}:Tag*", f"{svc}:Untag*"], "Resource": arn(svc, "*"),
             "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.7"]}}},
            {"Sid": "Team", "Effect": "Allow", "Action": f"{svc}:Start*", "Resource": arn(svc, "*"),
             "Condition": {"StringLike": {"aws:PrincipalTag/team": ["data-*", "ops"]}}},
            {"Sid": "NoDeleteWithoutMfa", "Effect": "Deny", "Action": f"{svc}:Delete*", "Resource": "*",
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
        ]})
    return docs


BUCKET_DOC = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:*",
     "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"]},
    {"Sid": "TLS", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "Reader", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/reader"},
     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"},
    {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::data/public/*"},
]}
FULL = {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}
SCP_DOCS = [
    [{"Version": "2012-10-17", "Statement": [FULL]}],
    [{"Version": "2012-10-17", "Statement": [FULL]},
     {"Version": "2012-10-17", "Statement": [
         {"Sid": "Regions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*"], "Resource": "*",
          "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}},
         {"Sid": "StayInOrg", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}],
    [{"Version": "2012-10-17", "Statement": [
        FULL, {"Sid": "NoRootKeys", "Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*",
               "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}]}],
]


def build_policies() -> ApplicablePolicies:
    identity = tuple(PolicyRef(f"arn:aws:iam::{ACCOUNT}:policy/p{i}", parse_policy(json.dumps(d), PolicyKind.IDENTITY))
                     for i, d in enumerate(identity_documents()))
    bucket = PolicyRef("bucket policy", parse_policy(json.dumps(BUCKET_DOC), PolicyKind.RESOURCE))
    scps = tuple(tuple(PolicyRef(f"scp-{n}-{j}", parse_policy(json.dumps(d), PolicyKind.SCP)) for j, d in enumerate(level))
                 for n, level in enumerate(SCP_DOCS))
    return ApplicablePolicies(identity=identity, resource=bucket, scps=scps)


def workload(n: int, seed: int = 7) -> list[tuple[str, str, dict[str, str]]]:
    """(action, resource, context) triples shared by every engine."""
    rnd = random.Random(seed)
    verbs = ["Get", "Describe", "List", "Put", "Create", "Delete", "Tag", "Start", "Update", "Reboot"]
    out = []
    for _ in range(n):
        i = rnd.randrange(len(SERVICES))
        svc, noun = SERVICES[i], NOUNS[i]
        action = f"{svc}:{rnd.choice(verbs)}{noun}"
        where = rnd.choice(["home/bob/x", "home/eve/x", "shared/y", "data/public/a", "data/k"])
        resource = arn(svc, where) if svc != "s3" or not where.startswith("data") else f"arn:aws:s3:::{where}"
        ctx = {"aws:RequestedRegion": rnd.choice(["eu-west-1", "us-east-1", "ap-south-1"]),
               "aws:SourceIp": rnd.choice(["203.0.113.9", "192.0.2.1"]),
               "aws:SecureTransport": rnd.choice(["true", "true", "false"]),
               "aws:username": "bob", "aws:PrincipalArn": USER,
               "aws:PrincipalTag/team": rnd.choice(["data-eng", "web"])}
        if rnd.random() < 0.5:
            ctx["aws:ResourceTag/owner"] = rnd.choice(["bob", "eve"])
        if rnd.random() < 0.3:
            ctx["aws:MultiFactorAuthPresent"] = "true"
        out.append((action, resource, ctx))
    return out


def measure(fn: Callable[[], int], seconds: float) -> float:
    """Decisions/s of ``fn`` (one pass over the workload, returning its size), repeated for
    about ``seconds``; process CPU time, so other load on the machine matters less."""
    fn()   # warm-up
    done, start = 0, time.process_time()
    while True:
        done += fn()
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return done / elapsed


def cloudkeep_runner(items) -> Callable[[], int]:
    policies = build_policies()
    bob = RequestPrincipal(PrincipalKind.USER, USER, ACCOUNT)
    requests = [AuthzRequest(bob, a, r, ACCOUNT, {k.lower(): (v,) for k, v in c.items()}) for a, r, c in items]

    def run() -> int:
        for request in requests:
            evaluate(request, policies)
        return len(requests)
    allowed = sum(evaluate(r, policies).allowed for r in requests)
    print(f"  cloudkeep: {allowed}/{len(requests)} requests allowed")
    return run


def cloudkeep_fresh_runner(items) -> Callable[[], int]:
    """The same, but a new ApplicablePolicies object per decision (the same Policy objects), as
    a server that assembles the policy set per request would: no per-set layer cache hit."""
    base = build_policies()
    bob = RequestPrincipal(PrincipalKind.USER, USER, ACCOUNT)
    requests = [AuthzRequest(bob, a, r, ACCOUNT, {k.lower(): (v,) for k, v in c.items()}) for a, r, c in items]

    def run() -> int:
        for request in requests:
            evaluate(request, ApplicablePolicies(identity=base.identity, resource=base.resource, scps=base.scps))
        return len(requests)
    return run


def _strip_conditions(doc: dict) -> dict:
    return {**doc, "Statement": [{k: v for k, v in s.items() if k != "Condition"} for s in doc["Statement"]]}


def moto_runner(items) -> Callable[[], int] | None:
    try:
        from moto.iam.access_control import IAMPolicy, PermissionResult
    except ImportError:
        return None
    identity = [IAMPolicy(json.dumps(_strip_conditions(d))) for d in identity_documents()]
    bucket = IAMPolicy(json.dumps(_strip_conditions(BUCKET_DOC)))
    denied, permitted = PermissionResult.DENIED, PermissionResult.PERMITTED

    def decide(action: str, resource: str) -> bool:
        allowed = False
        for policy in identity:
            result = policy.is_action_permitted(action, resource)
            if result is denied:
                return False
            allowed = allowed or result is permitted
        result = bucket.is_action_permitted(action, resource, principal=USER)
        return result is not denied and (allowed or result is permitted)

    def run() -> int:
        for action, resource, _ in items:
            decide(action, resource)
        return len(items)
    return run


def cedar_text() -> str:
    policies = []
    for i, svc in enumerate(SERVICES):
        noun = NOUNS[i]

        def acts(*verbs: str) -> str:
            return ", ".join(f'Action::"{svc}:{v}{noun}"' for v in verbs)
        policies += [
            f'permit(principal in Role::"dev", action in [{acts("Get", "Describe", "List")}], resource) '
            f'when {{ context.region == "eu-west-1" || context.region == "us-east-1" }};',
            f'permit(principal in Role::"dev", action in [{acts("Put", "Create", "Update")}], resource) '
            f'when {{ resource.path like "home/*" && resource.home == principal.name }};',
            f'permit(principal in Role::"dev", action in [{acts("Get", "Put", "Delete", "Tag", "Start")}], resource) '
            f'when {{ resource has owner && resource.owner == principal.name }};',
            f'permit(principal in Role::"dev", action in [{acts("Tag")}], resource) '
            f'when {{ context.ip == "203.0.113.9" || context.ip == "198.51.100.7" }};',
            f'permit(principal in Role::"dev", action in [{acts("Start")}], resource) '
            f'when {{ principal.team like "data-*" || principal.team == "ops" }};',
            f'forbid(principal, action in [{acts("Delete")}], resource) unless {{ context.mfa }};',
        ]
    return "\n".join(policies)


def cedar_runner(items) -> tuple[Callable[[], int], Callable[[], int]] | None:
    try:
        import cedarpy
    except ImportError:
        return None
    policy_set = cedarpy.PolicySet.from_str(cedar_text())
    entities_list = [
        {"uid": {"type": "Role", "id": "dev"}, "attrs": {}, "parents": []},
        {"uid": {"type": "User", "id": "bob"}, "attrs": {"name": "bob", "team": "data-eng"},
         "parents": [{"type": "Role", "id": "dev"}]},
    ]
    requests = []
    seen = set()
    for action, resource, ctx in items:
        if resource not in seen:
            seen.add(resource)
            path = resource.rsplit(":", 1)[-1]
            attrs = {"path": path, "home": path.split("/")[1] if path.startswith("home/") else ""}
            if ctx.get("aws:ResourceTag/owner"):
                attrs["owner"] = ctx["aws:ResourceTag/owner"]
            entities_list.append({"uid": {"type": "Resource", "id": resource}, "attrs": attrs, "parents": []})
        requests.append({"principal": 'User::"bob"', "action": f'Action::"{action}"',
                         "resource": {"type": "Resource", "id": resource},
                         "context": {"region": ctx["aws:RequestedRegion"], "ip": ctx["aws:SourceIp"],
                                     "mfa": ctx.get("aws:MultiFactorAuthPresent") == "true"}})
    entities = cedarpy.Entities.from_json_str(json.dumps(entities_list))
    allowed = sum(cedarpy.is_authorized(r, policy_set, entities).allowed for r in requests)
    print(f"  cedarpy: {allowed}/{len(requests)} requests allowed")

    def single() -> int:
        for request in requests:
            cedarpy.is_authorized(request, policy_set, entities)
        return len(requests)

    def batch() -> int:
        cedarpy.is_authorized_batch(requests, policy_set, entities)
        return len(requests)
    return single, batch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    seconds = 0.7 if args.quick else args.seconds
    items = workload(args.requests)
    statements = sum(len(d["Statement"]) for d in identity_documents())
    print(f"workload: {len(items)} requests; 10 identity policies / {statements} statements, "
          f"bucket policy {len(BUCKET_DOC['Statement'])} statements, {len(SCP_DOCS)} SCP levels")

    results: dict[str, float] = {"cloudkeep": measure(cloudkeep_runner(items), seconds),
                                 "cloudkeep, new policy set per call": measure(cloudkeep_fresh_runner(items), seconds)}
    moto = moto_runner(items)
    if moto is not None:
        results["moto IAMPolicy (no conditions)"] = measure(moto, seconds)
    cedar = cedar_runner(items)
    if cedar is not None:
        results["cedarpy is_authorized"] = measure(cedar[0], seconds)
        results["cedarpy is_authorized_batch (info)"] = measure(cedar[1], seconds)

    ours = results["cloudkeep"]
    print(f"\n{'engine':<38}{'decisions/s':>14}{'cloudkeep ×':>14}")
    for name, rate in results.items():
        print(f"{name:<38}{rate:>14,.0f}{ours / rate:>13.2f}×")
    checks = [("≥ 50,000 decisions/s", ours >= 50_000)]
    if moto is not None:
        checks.append(("≥ 10× moto", ours >= 10 * results["moto IAMPolicy (no conditions)"]))
    if cedar is not None:
        checks.append(("≥ cedarpy is_authorized", ours >= results["cedarpy is_authorized"]))
    print("\ntargets: " + "; ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in checks))
    return 1 if args.check and not all(ok for _, ok in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
