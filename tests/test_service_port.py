"""The port through which one service calls another for the caller: authorized like a request,
run in the caller's transaction, audited with ``invokedBy``. Driven in process through the
real runner with a real store, a stand-in calling service and botocore-signed requests."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudkeep.audit.recorder import AuditRecorder
from cloudkeep.crypto.envelope import Sealer
from cloudkeep.pipeline.deps import Deps
from cloudkeep.pipeline.keyuse import KeyUseTracker
from cloudkeep.pipeline.runner import handle
from cloudkeep.services.framework import EXEMPT, Operations, Service
from cloudkeep.services.iam.accounts import create_account
from cloudkeep.services.iam.credentials import IamCredentialResolver
from cloudkeep.services.iam.repository import IamRepository
from cloudkeep.services.registry import SERVICES
from cloudkeep.storage.clock import SystemClock
from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.ids import Ids
from cloudkeep.storage.uow import NeedsWrite
from cloudkeep.testing.audit import stored_records
from cloudkeep.wire.http import HttpRequest

caller_ops = Operations()


@caller_ops("CreateAccount")
def _creates_a_user_through_the_port(call, params):
    # a stand-in for Organizations creating an account's role in IAM
    call.port.call("iam", "CreateUser", {"UserName": "made-by-port"}, via="organizations.amazonaws.com")
    return {"CreateAccountStatus": {"Id": "car-0123456789abcdef", "State": "IN_PROGRESS"}}


#: unit-of-work kinds the stand-in STS operation ran in, in order
_RUNS: list[bool] = []


@caller_ops("DescribeOrganization")
def _reads_through_the_port(call, params):
    # a read whose nested call finds a change due first (a KMS key due for rotation)
    call.port.call("sts", "GetCallerIdentity", {}, via="organizations.amazonaws.com")
    return {"Organization": {"Id": "o-exampleorg1"}}


_sts_ops = Operations()


@_sts_ops("GetCallerIdentity")
def _needs_a_write_first(call, params):
    _RUNS.append(call.uow.write)
    if not call.uow.write:
        raise NeedsWrite("due")
    return {"Account": call.account_id, "Arn": call.principal.arn, "UserId": call.account_id}


@pytest.fixture
def deps(tmp_path):
    store = Store.open(sqlite_url(tmp_path))
    sealer = Sealer(b"k" * 32)
    services = dict(SERVICES)
    services["organizations"] = Service(name="organizations", action_prefix="organizations",
                                        operations=caller_ops,
                                        authz={"CreateAccount": EXEMPT, "DescribeOrganization": EXEMPT})
    services["sts"] = Service(name="sts", action_prefix="sts", operations=_sts_ops,
                              authz={"GetCallerIdentity": EXEMPT})
    d = Deps(store=store, sealer=sealer, clock=SystemClock(), ids=Ids(),
             resolvers=(IamCredentialResolver(store, sealer),), recorder=AuditRecorder(store),
             key_use=KeyUseTracker(store, lambda uow, uses: IamRepository(uow).record_key_use(uses)),
             services=services)
    yield d
    d.recorder.close()
    d.key_use.close()
    store.close()


ORG_BODY = json.dumps({"Email": "new@example.com", "AccountName": "new"})


def _signed(service: str, body: str, key: str, secret: str, target: str = "CreateAccount") -> HttpRequest:
    headers = ({"Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AWSOrganizationsV20161128.{target}"} if service == "organizations"
               else {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    req = AWSRequest(method="POST", url="http://127.0.0.1:4566/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(req)
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    headers = tuple((k.lower(), v) for k, v in prepared.headers.items()) + (("host", parts.netloc),)
    return HttpRequest(method="POST", path=parts.path or "/", query=parts.query, headers=headers,
                       body=prepared.body.encode() if isinstance(prepared.body, str) else prepared.body)


def _events(store):
    return stored_records(store)


def test_a_call_through_the_port_is_authorized_run_in_the_callers_transaction_and_audited(deps):
    with deps.store.unit_of_work(write=True) as uow:
        root = create_account(uow, sealer=deps.sealer, ids=deps.ids, clock=deps.clock)
    response = handle(_signed("organizations", ORG_BODY, root.access_key_id, root.secret_access_key), deps)
    assert response.status == 200, response.body
    with deps.store.unit_of_work() as uow:
        assert IamRepository(uow).get_user(root.account_id, "made-by-port") is not None
    deps.recorder.flush()
    nested = [e for e in _events(deps.store) if e["eventName"] == "CreateUser"]
    assert len(nested) == 1
    assert nested[0]["userIdentity"]["invokedBy"] == "organizations.amazonaws.com"
    assert nested[0]["sourceIPAddress"] == "organizations.amazonaws.com"
    outer = [e for e in _events(deps.store) if e["eventName"] == "CreateAccount"]
    assert len(outer) == 1 and "invokedBy" not in outer[0]["userIdentity"]
    assert nested[0]["userIdentity"]["arn"] == f"arn:aws:iam::{root.account_id}:root"


def test_a_call_through_the_port_that_is_denied_fails_the_caller_and_writes_nothing(deps):
    with deps.store.unit_of_work(write=True) as uow:
        root = create_account(uow, sealer=deps.sealer, ids=deps.ids, clock=deps.clock)
    iam_body = "Action=CreateUser&Version=2010-05-08&UserName=alice"
    assert handle(_signed("iam", iam_body, root.access_key_id, root.secret_access_key), deps).status == 200
    key_body = "Action=CreateAccessKey&Version=2010-05-08&UserName=alice"
    created = handle(_signed("iam", key_body, root.access_key_id, root.secret_access_key), deps).body.decode()
    key_id = created.split("<AccessKeyId>")[1].split("<")[0]
    secret = created.split("<SecretAccessKey>")[1].split("<")[0]
    response = handle(_signed("organizations", ORG_BODY, key_id, secret), deps)
    assert response.status == 400 and json.loads(response.body)["__type"] == "AccessDeniedException"
    with deps.store.unit_of_work() as uow:
        assert IamRepository(uow).get_user(root.account_id, "made-by-port") is None
    deps.recorder.flush()
    denied = [e for e in _events(deps.store) if e["eventName"] == "CreateUser" and e.get("errorCode")]
    assert denied and denied[0]["userIdentity"]["invokedBy"] == "organizations.amazonaws.com"
    assert denied[0]["userIdentity"]["userName"] == "alice"


def test_a_read_whose_nested_call_needs_a_write_runs_again_writing_and_is_recorded_once(deps):
    """storage.uow.NeedsWrite raised through the port: the runner rolls the read back, runs the
    stage again in a write unit of work, and the nested call is recorded once (not for the
    abandoned attempt)."""
    with deps.store.unit_of_work(write=True) as uow:
        root = create_account(uow, sealer=deps.sealer, ids=deps.ids, clock=deps.clock)
    _RUNS.clear()
    response = handle(_signed("organizations", "{}", root.access_key_id, root.secret_access_key,
                              target="DescribeOrganization"), deps)
    assert response.status == 200, response.body
    assert _RUNS == [False, True]
    deps.recorder.flush()
    nested = [e for e in _events(deps.store) if e["eventName"] == "GetCallerIdentity"]
    assert len(nested) == 1 and "errorCode" not in nested[0]
    assert len([e for e in _events(deps.store) if e["eventName"] == "DescribeOrganization"]) == 1
