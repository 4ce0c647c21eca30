"""Tests of the audit package: CloudTrail records, redaction, access levels and the recorder."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import exc, func, select

from cloudkeep.audit.access import access_level, is_management_event, is_read_only
from cloudkeep.audit.record import EVENT_VERSION, EventContext, build_event
from cloudkeep.audit.recorder import (JOURNAL_BATCH, AuditRecorder, decode_record, drain_all, drain_journal,
                                      event_row, journal, journal_waiting, record_json, record_text)
from cloudkeep.audit.redact import HIDDEN, cloudtrail_date, redact
from cloudkeep.auth.principal import ANONYMOUS, Principal, PrincipalType
from cloudkeep.storage import schema
from cloudkeep.storage.engine import Store
from cloudkeep.testing.audit import stored_records
from cloudkeep.wire.model import load_service

UTC = dt.timezone.utc
ACCOUNT = "123456789012"
WHEN = dt.datetime(2026, 11, 29, 23, 42, 18, 123456, tzinfo=UTC)

ROOT = Principal(type=PrincipalType.ROOT, account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:root",
                 principal_id=ACCOUNT, access_key_id="AKIAIOSFODNN7EXAMPLE")
ALICE = Principal(type=PrincipalType.IAM_USER, account_id=ACCOUNT,
                  arn=f"arn:aws:iam::{ACCOUNT}:user/Alice", principal_id="AIDAJ45Q7YFFAREXAMPLE",
                  access_key_id="AKIAI44QH8DHBEXAMPLE", user_name="Alice")


def ctx(**changes: object) -> EventContext:
    base: dict[str, object] = dict(
        event_id="11111111-2222-3333-4444-555555555555", request_id="req-1", event_time=WHEN,
        event_source="iam.amazonaws.com", event_name="CreateUser", aws_region="us-east-1",
        source_ip="192.0.2.10", user_agent="aws-cli/2.15.0", principal=ALICE,
        recipient_account_id=ACCOUNT, read_only=False, management_event=True,
        request_parameters={"userName": "bob"},
        response_elements={"user": {"userName": "bob"}}, error_code=None, error_message=None)
    base.update(changes)
    return EventContext(**base)  # type: ignore[arg-type]


# -- build_event ---------------------------------------------------------------------------

def test_root_user_record_matches_cloudtrail_format_field_for_field() -> None:
    event = build_event(ctx(principal=ROOT))
    assert event == {
        "eventVersion": "1.11",
        "userIdentity": {"type": "Root", "principalId": ACCOUNT,
                         "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT,
                         "accessKeyId": "AKIAIOSFODNN7EXAMPLE"},
        "eventTime": "2026-11-29T23:42:18Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"userName": "bob"},
        "responseElements": {"user": {"userName": "bob"}},
        "requestID": "req-1",
        "eventID": "11111111-2222-3333-4444-555555555555",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    assert list(event) == ["eventVersion", "userIdentity", "eventTime", "eventSource",
                           "eventName", "awsRegion", "sourceIPAddress", "userAgent",
                           "requestParameters", "responseElements", "requestID", "eventID",
                           "readOnly", "eventType", "managementEvent", "recipientAccountId",
                           "eventCategory"]
    assert EVENT_VERSION == "1.11"


def test_iam_user_identity_has_user_name_and_access_key() -> None:
    identity = build_event(ctx())["userIdentity"]
    assert identity == {"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE",
                        "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice", "accountId": ACCOUNT,
                        "accessKeyId": "AKIAI44QH8DHBEXAMPLE", "userName": "Alice"}


def test_failed_call_has_error_fields_after_user_agent_and_null_response() -> None:
    event = build_event(ctx(error_code="EntityAlreadyExists",
                            error_message="User with name bob already exists."))
    assert event["errorCode"] == "EntityAlreadyExists"
    assert event["errorMessage"] == "User with name bob already exists."
    assert event["responseElements"] is None
    assert event["requestParameters"] == {"userName": "bob"}
    keys = list(event)
    assert keys.index("errorCode") == keys.index("userAgent") + 1
    assert keys.index("errorMessage") == keys.index("errorCode") + 1


def test_successful_call_has_no_error_fields() -> None:
    event = build_event(ctx())
    assert "errorCode" not in event and "errorMessage" not in event


def test_read_only_call_has_null_response_elements_but_sts_credentials_are_kept() -> None:
    read = build_event(ctx(event_name="GetUser", read_only=True))
    assert read["responseElements"] is None and read["readOnly"] is True
    creds = {"credentials": {"accessKeyId": "ASIAEXAMPLE", "sessionToken": "tok"}}
    assumed = build_event(ctx(event_source="sts.amazonaws.com", event_name="AssumeRole",
                              read_only=True, response_elements=creds))
    assert assumed["responseElements"] == creds


def test_call_without_parameters_records_null_request_parameters() -> None:
    event = build_event(ctx(event_source="sts.amazonaws.com", event_name="GetCallerIdentity",
                            read_only=True, request_parameters=None))
    assert event["requestParameters"] is None
    assert build_event(ctx(request_parameters={}))["requestParameters"] is None


def test_unknown_principal_anonymous_and_service_identities() -> None:
    unknown = build_event(ctx(principal=None, access_key_id="AKIAUNKNOWNEXAMPLE1",
                              error_code="SignatureDoesNotMatch", error_message="x"))
    assert unknown["userIdentity"] == {"type": "Unknown", "principalId": "", "accountId": ACCOUNT,
                                       "accessKeyId": "AKIAUNKNOWNEXAMPLE1"}
    anonymous = build_event(ctx(principal=ANONYMOUS))
    assert anonymous["userIdentity"] == {"type": "AWSAccount", "principalId": "",
                                         "accountId": "ANONYMOUS_PRINCIPAL"}
    service = Principal(type=PrincipalType.AWS_SERVICE, account_id="", arn="",
                        principal_id="cloudtrail.amazonaws.com")
    assert build_event(ctx(principal=service))["userIdentity"] == {
        "type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}


def test_assumed_role_identity_carries_session_context() -> None:
    role = Principal(type=PrincipalType.ASSUMED_ROLE, account_id=ACCOUNT,
                     arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/s1",
                     principal_id="AROAIDPPEZS35WEXAMPLE:s1", access_key_id="ASIAEXAMPLE")
    session = {"sessionIssuer": {"type": "Role", "userName": "Dev"},
               "attributes": {"creationDate": "2026-11-29T23:00:00Z", "mfaAuthenticated": "false"}}
    identity = build_event(ctx(principal=role, session_context=session))["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["sessionContext"] == session
    assert "userName" not in identity


def test_optional_fields_appear_only_when_set() -> None:
    plain = build_event(ctx())
    for key in ("tlsDetails", "sessionCredentialFromConsole", "additionalEventData", "resources"):
        assert key not in plain
    tls = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
           "clientProvidedHostHeader": "iam.amazonaws.com"}
    full = build_event(ctx(tls_details=tls, session_credential_from_console=True,
                           additional_event_data={"SignatureVersion": "SigV4"}))
    assert full["tlsDetails"] == tls
    assert full["sessionCredentialFromConsole"] == "true"
    assert full["additionalEventData"] == {"SignatureVersion": "SigV4"}
    assert list(full)[-2:] == ["tlsDetails", "sessionCredentialFromConsole"]


def test_data_event_category() -> None:
    event = build_event(ctx(event_source="s3.amazonaws.com", event_name="GetObject",
                            management_event=False, read_only=True))
    assert event["eventCategory"] == "Data" and event["managementEvent"] is False


def test_naive_event_time_is_taken_as_utc_and_other_zones_converted() -> None:
    plus2 = dt.timezone(dt.timedelta(hours=2))
    assert build_event(ctx(event_time=dt.datetime(2026, 1, 2, 5, 0, 0, tzinfo=plus2)))[
        "eventTime"] == "2026-01-02T03:00:00Z"


# -- redaction -------------------------------------------------------------------------------

def test_create_access_key_response_drops_secret_and_formats_names_and_dates() -> None:
    shape = load_service("iam").operation_model("CreateAccessKey").output_shape
    result = {"AccessKey": {"UserName": "bob", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE",
                            "Status": "Active", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
                            "CreateDate": WHEN}}
    original = copy.deepcopy(result)
    out = redact(shape, result)
    assert out == {"accessKey": {"userName": "bob", "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                                 "status": "Active", "createDate": "Nov 29, 2026, 11:42:18 PM"}}
    assert result == original  # the input is not modified
    assert "wJalrXUtnFEMI" not in json.dumps(out)


def test_sensitive_placeholder_when_asked() -> None:
    shape = load_service("iam").operation_model("CreateAccessKey").output_shape
    out = redact(shape, {"AccessKey": {"AccessKeyId": "AKIA1", "SecretAccessKey": "s"}},
                 hidden=HIDDEN)
    assert out == {"accessKey": {"accessKeyId": "AKIA1",
                                 "secretAccessKey": "HIDDEN_DUE_TO_SECURITY_REASONS"}}


def test_sensitive_request_parameters_are_left_out() -> None:
    shape = load_service("iam").operation_model("CreateLoginProfile").input_shape
    out = redact(shape, {"UserName": "bob", "Password": "hunter2-Secret!",
                         "PasswordResetRequired": False})
    assert out == {"userName": "bob", "passwordResetRequired": False}


def test_assume_role_credentials_keep_neither_secret_nor_session_token() -> None:
    # issue 8: secret keys and session tokens are never logged (audit/redact.py)
    shape = load_service("sts").operation_model("AssumeRole").output_shape
    out = redact(shape, {"Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "sek",
                                         "SessionToken": "tok",
                                         "Expiration": dt.datetime(2026, 1, 5, 0, 7, 9,
                                                                   tzinfo=UTC)},
                         "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn"}})
    assert out == {"credentials": {"accessKeyId": "ASIAEXAMPLE",
                                   "expiration": "Jan 5, 2026, 12:07:09 AM"},
                   "assumedRoleUser": {"assumedRoleId": "AROA:s", "arn": "arn"}}


def test_blobs_are_omitted_and_map_keys_keep_their_case() -> None:
    shape = load_service("kms").operation_model("Decrypt").input_shape
    out = redact(shape, {"CiphertextBlob": b"\x01\x02", "KeyId": "alias/x",
                         "EncryptionContext": {"Department": "Engineering"}})
    assert out == {"keyId": "alias/x", "encryptionContext": {"Department": "Engineering"}}


def test_empty_or_missing_input_is_null_and_unknown_members_dropped() -> None:
    iam = load_service("iam")
    assert redact(None, {"A": 1}) is None
    assert redact(iam.operation_model("ListUsers").input_shape, {}) is None
    assert redact(iam.operation_model("GetUser").input_shape,
                  {"UserName": "bob", "NotInModel": "x"}) == {"userName": "bob"}


def test_lists_of_structures_are_converted() -> None:
    shape = load_service("iam").operation_model("CreateUser").input_shape
    out = redact(shape, {"UserName": "bob", "Tags": [{"Key": "k", "Value": "v"}]})
    assert out == {"userName": "bob", "tags": [{"key": "k", "value": "v"}]}


@pytest.mark.parametrize(("when", "text"), [
    (dt.datetime(2026, 3, 1, 0, 5, 0, tzinfo=UTC), "Mar 1, 2026, 12:05:00 AM"),
    (dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC), "Mar 1, 2026, 12:00:00 PM"),
    (dt.datetime(2026, 12, 31, 13, 9, 59, tzinfo=UTC), "Dec 31, 2026, 1:09:59 PM"),
])
def test_cloudtrail_date_format(when: dt.datetime, text: str) -> None:
    assert cloudtrail_date(when) == text


@settings(deadline=None)
@given(secret=st.text(min_size=8, alphabet=st.characters(codec="utf-8",
                                                         exclude_categories=("Cs",))),
       password=st.text(min_size=8, alphabet="abcdefXYZ0123456789!#"))
def test_secrets_never_reach_the_record(secret: str, password: str) -> None:
    secret, password = "sEcReT~" + secret, "pAsS~" + password  # never part of the rest of a record
    iam = load_service("iam")
    response = redact(iam.operation_model("CreateAccessKey").output_shape,
                      {"AccessKey": {"UserName": "u", "AccessKeyId": "AKIAZZZZZZZZZZZZZZZZ",
                                     "Status": "Active", "SecretAccessKey": secret}})
    request = redact(iam.operation_model("ChangePassword").input_shape,
                     {"OldPassword": password, "NewPassword": password + "x"})
    event = build_event(ctx(request_parameters=request, response_elements=response))
    text = json.dumps(event, ensure_ascii=False)
    assert secret not in text and password not in text


# -- access levels -------------------------------------------------------------------------

def test_access_levels_from_service_authorization_reference() -> None:
    assert access_level("iam", "CreateUser") == "Write"
    assert access_level("iam", "GetUser") == "Read"
    assert access_level("iam", "ListUsers") == "List"
    assert access_level("iam", "TagRole") == "Tagging"
    assert access_level("iam", "PutUserPolicy") == "Permissions management"
    assert access_level("sts", "GetCallerIdentity") == "Read"
    assert access_level("IAM", "getuser") == "Read"
    assert access_level("iam", "NoSuchAction") is None
    assert access_level("no-such-service", "X") is None
    assert access_level("../etc", "passwd") is None


def test_read_only_follows_access_level_with_documented_exceptions() -> None:
    assert is_read_only("iam", "CreateUser") is False
    assert is_read_only("iam", "GetUser") is True
    assert is_read_only("iam", "ListUsers") is True
    assert is_read_only("sts", "GetCallerIdentity") is True
    assert is_read_only("iam", "TagRole") is False
    assert is_read_only("kms", "Decrypt") is True      # Write in the reference, readOnly in CloudTrail
    assert is_read_only("sts", "AssumeRole") is True
    assert is_read_only("kms", "ScheduleKeyDeletion") is False
    assert is_read_only("iam", "NoSuchAction") is False  # unknown counts as a write


def test_management_and_data_events() -> None:
    assert is_management_event("iam.amazonaws.com", "CreateUser") is True
    assert is_management_event("sts.amazonaws.com", "AssumeRole") is True
    assert is_management_event("kms.amazonaws.com", "Decrypt") is True
    assert is_management_event("organizations.amazonaws.com", "ListAccounts") is True
    assert is_management_event("s3.amazonaws.com", "CreateBucket") is True
    assert is_management_event("s3.amazonaws.com", "PutBucketPolicy") is True
    assert is_management_event("s3.amazonaws.com", "GetObject") is False
    assert is_management_event("s3.amazonaws.com", "PutObject") is False
    assert is_management_event("s3.amazonaws.com", "DeleteObjects") is False


# -- recorder ------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    st_ = Store.open(f"sqlite:///{tmp_path / 'audit.db'}", migrate=False)
    schema.metadata.create_all(st_.engine)
    yield st_
    st_.close()


def _event(n: int, account: str | None = ACCOUNT) -> dict:
    return build_event(ctx(event_id=f"00000000-0000-0000-0000-{n:012d}",
                           recipient_account_id=account, event_name="GetUser", read_only=True))


def _count(store: Store) -> int:
    """Records stored (a row of the recorder's batches may stand for several)."""
    return len(stored_records(store))


def _rows(store: Store) -> list:
    with store.unit_of_work() as uow:
        return list(uow.execute(select(schema.audit_events)).mappings())


def _journal(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        return list(uow.execute(select(schema.audit_journal.c.record).order_by(schema.audit_journal.c.seq)).scalars())


def test_write_in_journals_the_record_in_the_callers_transaction_and_the_writer_moves_it(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        event = build_event(ctx())
        with store.unit_of_work(write=True) as uow:
            assert recorder.write_in(uow, event) is True
            journaled = uow.execute(select(schema.audit_journal.c.record)).scalars().all()
            assert journaled == [record_json(event)]          # in the caller's transaction
            assert list(uow.execute(select(schema.audit_events.c.seq))) == []
        # committed with the caller's change: still in the journal, or already moved by the
        # writer's first drain at its start (which a loaded machine may run only now)
        assert _journal(store) == [record_json(event)] or stored_records(store) == [event]
        recorder.flush()
        assert _journal(store) == []
        [row] = _rows(store)
        assert row["event_id"] == event["eventID"]
        assert row["account_id"] == ACCOUNT
        assert row["event_time"] == dt.datetime(2026, 11, 29, 23, 42, 18, tzinfo=UTC)
        assert row["event_source"] == "iam.amazonaws.com" and row["event_name"] == "CreateUser"
        assert row["read_only"] is False and row["management_event"] is True
        assert row["access_key_id"] == "AKIAI44QH8DHBEXAMPLE" and row["username"] == "Alice"
        assert row["error_code"] is None
        assert stored_records(store) == [event]
    finally:
        recorder.close()


def test_cloudtrails_own_records_go_straight_into_the_history_compressed_in_their_row(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        event = build_event(ctx(event_source="cloudtrail.amazonaws.com", event_name="StopLogging",
                                request_parameters={"name": "t"}, response_elements=None))
        with store.unit_of_work(write=True) as uow:
            assert recorder.write_in(uow, event) is True
        assert _journal(store) == []
        [row] = _rows(store)
        assert row["event_name"] == "StopLogging" and row["chunk_id"] is None
        assert decode_record(row["record"]) == event
        text = record_text(row["record"])
        assert " " not in text.split('"userAgent"')[0]  # compact separators
        assert len(row["record"]) < len(text)             # stored compressed
    finally:
        recorder.close()


def test_write_in_is_rolled_back_with_the_callers_transaction(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        with pytest.raises(RuntimeError):
            with store.unit_of_work(write=True) as uow:
                recorder.write_in(uow, build_event(ctx()))
                raise RuntimeError("the operation failed after writing")
        assert _journal(store) == []
        recorder.flush()
        assert _count(store) == 0
    finally:
        recorder.close()


def test_a_journal_left_by_a_stopped_process_is_moved_by_the_next_recorder(store: Store) -> None:
    """A process killed before its writer ran leaves its records in the journal (they committed
    with their calls); the next recorder moves them, in order, like records of its own."""
    events = [build_event(ctx(event_id=f"00000000-0000-0000-0000-{n:012d}",
                              request_parameters={"userName": f"u{n}"})) for n in range(5)]
    with store.unit_of_work(write=True) as uow:
        for event in events:
            journal(uow, record_json(event))
    recorder = AuditRecorder(store, flush_interval=0.05)
    try:
        deadline = time.monotonic() + 10
        while _journal(store) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _journal(store) == []
        assert stored_records(store) == events
    finally:
        recorder.close()


def test_flush_moves_records_another_process_journaled(store: Store) -> None:
    """With several worker processes, the one asked to flush (a clean stop, a test hook) may not
    be the one whose calls wrote the journal: flush moves it all the same."""
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        recorder.flush()                               # its own start is behind it
        event = build_event(ctx(request_parameters={"userName": "elsewhere"}))
        with store.unit_of_work(write=True) as uow:
            journal(uow, record_json(event))           # as another process's write_in does
        recorder.flush()
        assert _journal(store) == [] and stored_records(store) == [event]
    finally:
        recorder.close()


def test_a_journaled_duplicate_is_dropped_and_the_rest_still_moves(store: Store, caplog) -> None:  # type: ignore[no-untyped-def]
    """A record whose event id the history holds already fails its batch's INSERT; the writer then
    moves the journal one record at a time and drops only the duplicate."""
    events = [build_event(ctx(event_id=f"00000000-0000-0000-0000-{n:012d}",
                              request_parameters={"userName": f"u{n}"})) for n in range(4)]
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        with store.unit_of_work(write=True) as uow:
            journal(uow, record_json(events[1]))
        recorder.flush()                                          # events[1] is in the history
        with store.unit_of_work(write=True) as uow:
            for event in events:
                journal(uow, record_json(event))                  # and in the journal again
        recorder.flush()
        assert _journal(store) == []
        assert sorted(r["eventID"] for r in stored_records(store)) == [e["eventID"] for e in events]
        assert "already in the event history; duplicate dropped" in caplog.text
    finally:
        recorder.close()


def test_drain_journal_moves_a_batch_at_a_time_and_drops_what_is_no_record(store: Store, caplog) -> None:  # type: ignore[no-untyped-def]
    events = [build_event(ctx(event_id=f"00000000-0000-0000-0000-{n:012d}",
                              request_parameters={"userName": f"u{n}"})) for n in range(5)]
    with store.unit_of_work(write=True) as uow:
        journal(uow, record_json(events[0]))
        journal(uow, "{not json")
        for event in events[1:]:
            journal(uow, record_json(event))
    with store.unit_of_work(write=True) as uow:
        assert journal_waiting(uow)
        assert drain_journal(uow, 3) == 3             # events 0, 1 and the broken text (dropped)
    assert stored_records(store) == events[:2]
    assert "not a record" in caplog.text
    with store.unit_of_work(write=True) as uow:
        assert drain_journal(uow) == 3
        assert not journal_waiting(uow)
        assert drain_journal(uow) == 0
    assert stored_records(store) == events


def test_drain_all_empties_the_journal_a_batch_at_a_time(store: Store) -> None:
    events = [build_event(ctx(event_id=f"00000000-0000-0000-0000-{n:012d}",
                              request_parameters={"userName": f"u{n}"})) for n in range(JOURNAL_BATCH + 5)]
    with store.unit_of_work(write=True) as uow:
        for event in events:
            journal(uow, record_json(event))
    with store.unit_of_work(write=True) as uow:
        assert drain_all(uow, wait=True) == len(events)
        assert not journal_waiting(uow)
    assert stored_records(store) == events


def test_records_without_a_tenant_are_refused(store: Store) -> None:
    recorder = AuditRecorder(store)
    try:
        with store.unit_of_work(write=True) as uow:
            assert recorder.write_in(uow, _event(1, account="")) is False
        recorder.enqueue(_event(2, account=""))
        recorder.enqueue(_event(3, account="not-an-acct"))
        recorder.enqueue(_event(4))
        recorder.flush()
        assert [row["event_id"] for row in _rows(store)] == [_event(4)["eventID"]]
    finally:
        recorder.close()


def test_enqueue_then_flush_writes_everything(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600, batch_size=7)
    try:
        events = [_event(n) for n in range(30)]
        for event in events:
            recorder.enqueue(event)
        recorder.flush()
        stored = stored_records(store)
        # the same read, 30 times in one second: a row per batch of 7 stands for them all, and
        # each record gets the id of its place in its row (audit.recorder.member_id)
        assert len(stored) == 30 and len({r["eventID"] for r in stored}) == 30
        assert all({**r, "eventID": None} == {**events[0], "eventID": None} for r in stored)
        rows = _rows(store)
        assert len(rows) == 5 and sum(row["chunk_count"] or 1 for row in rows) == 30
        assert all(row["read_only"] is True and row["username"] == "Alice" for row in rows)
        assert recorder.pending() == 0
    finally:
        recorder.close()


def test_the_data_event_gate_reads_the_trails_once_per_round_of_builders(store: Store) -> None:
    """The writer builds a batch of deferred data events in one round: the gate (whether any
    logging trail may select data events) reads the store once for the round, and once per call
    outside a round."""
    from cloudkeep.services.cloudtrail.data_events import DataEventGate

    gate = DataEventGate(store)
    reads: list[int] = []
    query = gate._query
    real_all = query.all

    def counted(**params):  # type: ignore[no-untyped-def]
        reads.append(1)
        return real_all(**params)

    query.all = counted  # type: ignore[method-assign]
    recorder = AuditRecorder(store, flush_interval=3600, batch_size=10)
    try:
        answers: list[bool] = []
        for _ in range(25):
            recorder.enqueue_deferred(lambda: answers.append(gate.wanted()), on_loop=False)
        recorder.flush()
        assert answers == [False] * 25 and len(reads) == 3      # batches of 10, 10 and 5
        assert gate.wanted() is False and gate.wanted() is False and len(reads) == 5
    finally:
        recorder.close()


def test_a_gated_builder_is_built_only_when_its_gate_opens_asked_once_per_batch(store: Store) -> None:
    asked: list[int] = []
    built: list[int] = []
    open_now = [False]

    def gate() -> bool:
        asked.append(1)
        return open_now[0]

    def build(n: int):  # type: ignore[no-untyped-def]
        built.append(n)
        return _event(n)

    recorder = AuditRecorder(store, flush_interval=3600, batch_size=10)
    try:
        for n in range(25):
            recorder.enqueue_deferred(lambda n=n: build(n), on_loop=False, gate=gate)
        recorder.flush()
        assert built == [] and len(asked) == 3 and stored_records(store) == []   # 3 batches, none built
        open_now[0] = True
        for n in range(25, 30):
            recorder.enqueue_deferred(lambda n=n: build(n), on_loop=False, gate=gate)
        recorder.flush()
        assert built == list(range(25, 30)) and len(asked) == 4
        assert len(stored_records(store)) == 5

        def broken() -> bool:
            raise RuntimeError("the store is gone")

        recorder.enqueue_deferred(lambda: build(30), on_loop=False, gate=broken)
        recorder.flush()   # a gate that fails counts as open: a record too many, never one lost
        assert built[-1] == 30 and len(stored_records(store)) == 6
    finally:
        recorder.close()


def test_background_thread_writes_without_flush(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=0.05)
    try:
        recorder.enqueue(_event(1))
        deadline = time.monotonic() + 5
        while _count(store) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _count(store) == 1
    finally:
        recorder.close()


def test_close_flushes_even_when_the_thread_has_not_woken(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600)
    for n in range(5):
        recorder.enqueue(_event(n))
    recorder.close()
    assert _count(store) == 5
    assert not recorder._thread.is_alive()  # noqa: SLF001
    recorder.enqueue(_event(99))  # after close: written at once, not lost
    assert _count(store) == 6


def test_many_events_from_several_threads_all_land(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=0.01, batch_size=50)
    threads_n, per_thread = 8, 250

    def produce(t: int) -> None:
        for n in range(per_thread):
            recorder.enqueue(_event(t * 100_000 + n))

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close()
    stored = stored_records(store)
    assert len(stored) == threads_n * per_thread
    assert len({r["eventID"] for r in stored}) == threads_n * per_thread


def test_duplicate_event_is_dropped_without_losing_the_rest_of_its_batch(store: Store) -> None:
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        recorder.enqueue(_event(1))
        recorder.flush()
        other = build_event(ctx(event_id="00000000-0000-0000-0000-000000000002", event_name="ListUsers",
                                read_only=True))                 # nothing to share a row with
        for event in (_event(1), other):
            recorder.enqueue(event)
        recorder.flush()
        assert _count(store) == 2
        assert recorder.pending() == 0
    finally:
        recorder.close()


def test_a_batch_written_again_is_refused_whole(store: Store) -> None:
    # a batch whose commit went through but whose outcome was lost is written again: its rows
    # and ids are the same (records sharing a row get ids from their row's), so all are refused
    recorder = AuditRecorder(store, flush_interval=3600)
    try:
        batch = [_event(n) for n in (5, 6, 7)] + [build_event(ctx(
            event_id="00000000-0000-0000-0000-000000000008", event_name="ListUsers", read_only=True))]
        for _ in range(2):
            for event in batch:
                recorder.enqueue(copy.deepcopy(event))
            recorder.flush()
            assert _count(store) == 4 and recorder.pending() == 0
        assert len(_rows(store)) == 2                           # three GetUser in one row, ListUsers alone
    finally:
        recorder.close()


class _FlakyStore:
    """A store whose first write unit of work fails, as a locked or unreachable database would."""

    def __init__(self, store: Store) -> None:
        self.store, self.failures = store, 1

    def unit_of_work(self, *, write: bool = False):  # type: ignore[no-untyped-def]
        if write and self.failures:
            self.failures -= 1
            raise exc.OperationalError("BEGIN", {}, Exception("database is locked"))
        return self.store.unit_of_work(write=write)


def test_failed_batch_is_kept_and_written_on_the_next_attempt(store: Store) -> None:
    recorder = AuditRecorder(_FlakyStore(store), flush_interval=3600)  # type: ignore[arg-type]
    try:
        for n in range(3):
            recorder.enqueue(_event(n))
        recorder.flush()
        assert _count(store) == 0 and recorder.pending() == 3
        recorder.flush()
        assert _count(store) == 3 and recorder.pending() == 0
    finally:
        recorder.close()


def test_event_row_of_root_and_failed_call() -> None:
    row = event_row(build_event(ctx(principal=ROOT, error_code="AccessDenied", error_message="no")))
    assert row is not None
    assert row["username"] == "root" and row["access_key_id"] == "AKIAIOSFODNN7EXAMPLE"
    assert row["error_code"] == "AccessDenied"
    assert event_row(build_event(ctx(recipient_account_id=""))) is None


def test_event_time_is_utc_to_the_second_whatever_the_input_zone() -> None:
    from cloudkeep.audit.record import event_time_text
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert event_time_text(WHEN) == "2026-11-29T23:42:18Z"
    assert event_time_text(dt.datetime(2026, 11, 30, 1, 42, 18, 999999, tzinfo=plus_two)) == "2026-11-29T23:42:18Z"
    assert event_time_text(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"      # naive: UTC
    assert event_time_text(dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05Z"
