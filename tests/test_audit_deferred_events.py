"""A deferred record (``pipeline.auditing.DeferredEvents``) that copies the previous one built on
its thread when the call is the same, and sets its time, request id and event id: every record
it gives must be the record ``events_for`` builds from scratch, but for the event id. Driven in
process through the real runner with a real store and botocore-signed requests."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudkeep.audit.recorder import AuditRecorder
from cloudkeep.crypto.envelope import Sealer
from cloudkeep.pipeline import auditing
from cloudkeep.pipeline.deps import Deps
from cloudkeep.pipeline.keyuse import KeyUseTracker
from cloudkeep.pipeline.runner import handle
from cloudkeep.services.iam.accounts import create_account
from cloudkeep.services.iam.credentials import IamCredentialResolver
from cloudkeep.services.iam.repository import IamRepository
from cloudkeep.services.registry import SERVICES
from cloudkeep.storage.clock import SystemClock
from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.storage.ids import Ids
from cloudkeep.wire.http import HttpRequest


class _Capturing(AuditRecorder):
    """Keeps the deferred builders it is given, in order (and queues them as usual)."""

    def __init__(self, store):
        super().__init__(store)
        self.builders = []

    def enqueue_deferred(self, build, **kw):
        self.builders.append(build)
        super().enqueue_deferred(build, **kw)


@pytest.fixture
def deps(tmp_path):
    store = Store.open(sqlite_url(tmp_path))
    sealer = Sealer(b"k" * 32)
    d = Deps(store=store, sealer=sealer, clock=SystemClock(), ids=Ids(),
             resolvers=(IamCredentialResolver(store, sealer),), recorder=_Capturing(store),
             key_use=KeyUseTracker(store, lambda uow, uses: IamRepository(uow).record_key_use(uses)),
             services=dict(SERVICES))
    yield d
    d.recorder.close()
    d.key_use.close()
    store.close()


def _request(service: str, body: str, key: str, secret: str, *, agent: str = "agent/1",
             client_ip: str = "127.0.0.1", region: str = "us-east-1") -> HttpRequest:
    req = AWSRequest(method="POST", url="http://127.0.0.1:4566/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                              "User-Agent": agent})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(req)
    prepared = req.prepare()
    headers = tuple((k.lower(), v) for k, v in prepared.headers.items()) + (("host", urlsplit(prepared.url).netloc),)
    return HttpRequest(method="POST", path="/", query="", headers=headers, client_ip=client_ip,
                       body=prepared.body.encode() if isinstance(prepared.body, str) else prepared.body)


GCI = "Action=GetCallerIdentity&Version=2011-06-15"


def _get_user(name: str) -> str:
    return f"Action=GetUser&Version=2010-05-08&UserName={name}"


def test_every_reused_record_is_the_record_built_from_scratch_but_for_its_event_id(deps):
    with deps.store.unit_of_work(write=True) as uow:
        root = create_account(uow, sealer=deps.sealer, ids=deps.ids, clock=deps.clock)
    key, secret = root.access_key_id, root.secret_access_key

    def call(service, body, k=key, s=secret, **kw):
        return handle(_request(service, body, k, s, **kw), deps)

    for name in ("alice", "bob"):
        assert call("iam", f"Action=CreateUser&Version=2010-05-08&UserName={name}").status == 200
    created = call("iam", "Action=CreateAccessKey&Version=2010-05-08&UserName=alice").body.decode()
    alice_key = created.split("<AccessKeyId>")[1].split("<")[0]
    alice_secret = created.split("<SecretAccessKey>")[1].split("<")[0]

    policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}'
    assert call("iam", "Action=PutUserPolicy&Version=2010-05-08&UserName=alice&PolicyName=list"
                f"&PolicyDocument={quote(policy)}").status == 200
    base = ("sts", GCI, {})
    users = ("iam", "Action=ListUsers&Version=2010-05-08", {})
    # each variant differs from the call before it in one thing only
    calls = [
        base, base, base,                                         # reused twice
        ("sts", GCI, {"agent": "agent/2"}), base,                 # another user agent
        ("sts", GCI, {"client_ip": "10.0.0.9"}), base,            # another source address
        ("sts", GCI, {"region": "eu-west-1"}), base,              # another region
        ("sts", GCI, {"k": alice_key, "s": alice_secret}),        # another caller
        ("sts", GCI, {"k": alice_key, "s": alice_secret}),        # reused
        users, users,                                             # reused
        ("iam", "Action=ListUsers&Version=2010-05-08", {"k": alice_key, "s": alice_secret}),  # caller only
        ("iam", "Action=ListUsers&Version=2010-05-08&MaxItems=100", {}),   # other parameters, same result
        ("iam", _get_user("alice"), {}), ("iam", _get_user("alice"), {}),  # reused
        ("iam", _get_user("bob"), {}),                            # other parameters and result
        ("iam", _get_user("nobody"), {}), ("iam", _get_user("nobody"), {}),   # failed: never reused
        ("iam", _get_user("alice"), {"k": alice_key, "s": alice_secret}),     # denied: never reused
        ("iam", _get_user("alice"), {}),
        ("iam", "Action=TagUser&Version=2010-05-08&UserName=alice&Tags.member.1.Key=k&Tags.member.1.Value=v", {}),
        ("iam", _get_user("alice"), {}),                          # the same call, a new result (tags)
        ("iam", _get_user("alice"), {}),                          # reused
    ]
    deps.recorder.builders.clear()
    for service, body, kw in calls:
        call(service, body, **kw)
    builders = [b for b in deps.recorder.builders if isinstance(b, auditing.DeferredEvents)]
    assert len(builders) == len(calls) - 1        # TagUser is a write: recorded in its transaction

    auditing._LAST.built = None
    reused = 0
    previous: list[dict] = []
    for builder in builders:
        got = builder()
        fresh = auditing.events_for(builder.ex, builder.deps, builder.error)
        assert len(got) == len(fresh) == 1
        assert got[0]["eventID"] != fresh[0]["eventID"]
        assert {**got[0], "eventID": ""} == {**fresh[0], "eventID": ""}
        assert list(got[0]) == list(fresh[0])                    # the same fields, in the same order
        if previous and got[0]["userIdentity"] is previous[0]["userIdentity"]:
            reused += 1
        previous = got
    assert reused == 6      # the calls marked "reused" above, and no other


def test_like_failed_calls_are_each_built_in_full(deps):
    with deps.store.unit_of_work(write=True) as uow:
        root = create_account(uow, sealer=deps.sealer, ids=deps.ids, clock=deps.clock)
    deps.recorder.builders.clear()
    for body in (_get_user("ghost"), _get_user("ghost")):
        handle(_request("iam", body, root.access_key_id, root.secret_access_key), deps)
    auditing._LAST.built = None
    first, second = (b() for b in deps.recorder.builders)
    assert first[0]["errorCode"] == second[0]["errorCode"] == "NoSuchEntity"
    assert first[0]["requestID"] != second[0]["requestID"]
    assert first[0]["userIdentity"] is not second[0]["userIdentity"]
