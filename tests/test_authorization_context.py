"""The authorize stage's request context (pipeline/authorization.LazyContext): the condition keys
are built only when the policy engine reads one, once, and read the same as the built mapping,
multivalued keys included (a multivalued key refuses to be a policy variable, spec §6)."""

from __future__ import annotations

import gc
import json
import weakref

import pytest

from cloudkeep.pipeline.authorization import LazyContext
from cloudkeep.policy.evaluate import evaluate
from cloudkeep.policy.model import (ApplicablePolicies, AuthzRequest, PolicyKind, PolicyRef, PrincipalKind,
                                    RequestPrincipal)
from cloudkeep.policy.parse import parse_policy

USER = RequestPrincipal(PrincipalKind.USER, "arn:aws:iam::111122223333:user/alice", "111122223333")
KEYS = {"aws:username": ("alice",), "aws:tagkeys": ("a", "b"), "aws:sourceip": ("10.0.0.1",)}


class Counted:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return dict(KEYS)


def _decide(statement: dict, build: Counted):
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}), PolicyKind.IDENTITY)
    context = LazyContext(build)
    request = AuthzRequest(principal=USER, action="s3:GetObject", resource="arn:aws:s3:::b/alice/k",
                           resource_account="111122223333", context=context, multivalued=context.multivalued())
    return evaluate(request, ApplicablePolicies(identity=(PolicyRef("p", policy),)))


def test_a_policy_without_conditions_or_variables_never_builds_the_context():
    build = Counted()
    decision = _decide({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, build)
    assert decision.allowed and build.calls == 0


@pytest.mark.parametrize("statement, allowed", [
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
      "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}, True),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
      "Condition": {"IpAddress": {"aws:SourceIp": "192.168.0.0/16"}}}, False),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}, True),
    # a multivalued key is never substituted for a variable
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:TagKeys}/*"}, False),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
      "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b", "c"]}}}, True),
])
def test_a_condition_or_variable_builds_the_context_once(statement, allowed):
    build = Counted()
    assert _decide(statement, build).allowed is allowed
    assert build.calls == 1


def test_the_lazy_mapping_reads_as_the_built_one():
    build = Counted()
    context = LazyContext(build)
    assert build.calls == 0
    assert dict(context) == KEYS and len(context) == 3 and "aws:username" in context
    assert context["aws:sourceip"] == ("10.0.0.1",) and context.get("nope") is None
    assert "aws:tagkeys" in context.multivalued() and "aws:username" not in context.multivalued()
    assert set(context.multivalued()) == {"aws:tagkeys"}
    assert build.calls == 1


def test_a_decision_leaves_no_reference_cycle_behind():
    """The context, its multivalued view and what its builder holds (the request's exchange) go
    as soon as the decision is dropped, without waiting for the garbage collector."""
    build = Counted()
    gone = weakref.ref(build)
    gc.disable()
    try:
        # no condition: the context is never built, so it holds its builder to the end
        decision = _decide({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, build)
        assert decision.allowed and build.calls == 0
        del build, decision
        assert gone() is None
    finally:
        gc.enable()
