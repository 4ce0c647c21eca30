"""The stored form of CloudTrail records (``audit.record_codec``): compressed against a preset
dictionary that the zlib header names, older plain-zlib rows still readable, an unknown
dictionary refused; and migration 0013's downgrade reading rows in either form."""

from __future__ import annotations

import datetime as dt
import json
import zlib

import pytest
import sqlalchemy as sa
from alembic import command

from cloudkeep.audit.record_codec import (DICTIONARY_1, DICTIONARY_1_ID, decode_record, dictionary_id,
                                          encode_record, record_json, record_text)
from cloudkeep.audit.recorder import AuditRecorder
from cloudkeep.storage.engine import Store, alembic_config
from storage_backends import store_url  # noqa: F401  (pytest fixture)

ACCOUNT = "111122223333"
UA = ("Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.7 "
      "md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.35.0")


def record(n: int = 1, **extra: object) -> dict:
    out = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAQ3EGRF7XK2LMNOPQR",
                         "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice", "accountId": ACCOUNT,
                         "accessKeyId": "AKIAQ3EGRF7XK2LMNOPQ", "userName": "Alice"},
        "eventTime": "2026-11-30T10:21:07Z", "eventSource": "sts.amazonaws.com",
        "eventName": "GetCallerIdentity", "awsRegion": "us-east-1", "sourceIPAddress": "127.0.0.1",
        "userAgent": UA, "requestParameters": None, "responseElements": None,
        "requestID": f"6a1c4a8e-5f0e-4d5b-9b1e-{n:012d}", "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "readOnly": True, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
    }
    out.update(extra)
    return out


def compact(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def test_a_record_round_trips_through_its_dictionary_compressed_form() -> None:
    event = record(requestParameters={"userName": "Zoë", "path": "/"}, errorCode="AccessDenied")
    data = encode_record(event)
    assert decode_record(data) == event
    assert record_text(data) == compact(event)          # the stored text is the compact JSON as is


def test_the_stored_form_names_its_dictionary_in_the_zlib_header() -> None:
    data = encode_record(record())
    assert data[1] & 0x20                                 # FDICT (RFC 1950, 2.2)
    assert dictionary_id(data) == DICTIONARY_1_ID == zlib.adler32(DICTIONARY_1)
    with pytest.raises(zlib.error):                      # plain zlib cannot read it without the dictionary
        zlib.decompress(data)
    inflater = zlib.decompressobj(zdict=DICTIONARY_1)    # any zlib reader with the dictionary can
    assert json.loads(inflater.decompress(data)) == record()


def test_the_dictionary_makes_a_typical_record_smaller_than_plain_zlib() -> None:
    text = compact(record()).encode()
    assert len(encode_record(record())) < 0.6 * len(zlib.compress(text, 1))


def test_a_record_stored_as_plain_zlib_still_decodes() -> None:
    event = record(requestParameters={"userName": "Zoë"})
    for level in (1, 6, 9):
        old = zlib.compress(compact(event).encode("utf-8"), level)
        assert dictionary_id(old) is None
        assert decode_record(old) == event and record_text(old) == compact(event)


def test_a_record_compressed_with_an_unknown_dictionary_is_refused() -> None:
    other = b'{"eventVersion":"1.12","eventCategory":"Management"}'
    compressor = zlib.compressobj(zdict=other)
    data = compressor.compress(compact(record()).encode()) + compressor.flush()
    assert dictionary_id(data) == zlib.adler32(other) != DICTIONARY_1_ID
    with pytest.raises(ValueError, match="unknown preset dictionary"):
        record_text(data)


def test_a_truncated_or_padded_record_is_an_error() -> None:
    data = encode_record(record())
    with pytest.raises(zlib.error):
        record_text(data[:-5])
    with pytest.raises(zlib.error):
        record_text(data + b"extra")


def test_records_of_every_size_and_content_round_trip() -> None:
    big = record(requestParameters={"policyDocument": "x" * 20000 + "é" * 3000, "n": list(range(500))})
    odd = record(requestParameters={"k": "\x00\u2028\U0001f600"}, responseElements={"when": None})
    for event in (big, odd, {}):
        assert decode_record(encode_record(event)) == event


def test_migration_0013_downgrade_reads_dictionary_and_plain_records(store_url: str) -> None:  # noqa: F811
    opened = Store.open(store_url)
    try:
        recorder = AuditRecorder(opened, flush_interval=3600)
        try:
            with opened.unit_of_work(write=True) as uow:
                recorder.write_in(uow, record(1, eventTime="2026-11-30T10:00:00Z"))
        finally:
            recorder.close()
        plain = record(2, eventTime="2026-11-30T10:00:01Z")
        events = sa.table("audit_events", *(sa.column(c) for c in (
            "event_id", "account_id", "event_time", "event_source", "event_name", "aws_region", "read_only",
            "management_event", "access_key_id", "username", "error_code", "record")))
        with opened.engine.begin() as connection:
            connection.execute(sa.insert(events).values(
                event_id=plain["eventID"], account_id=ACCOUNT,
                event_time=dt.datetime(2026, 11, 30, 10, 0, 1, tzinfo=dt.timezone.utc),
                event_source="sts.amazonaws.com", event_name="GetCallerIdentity", aws_region="us-east-1",
                read_only=True, management_event=True, access_key_id=None, username="Alice", error_code=None,
                record=zlib.compress(compact(plain).encode("utf-8"))))   # a row as migration 0013 copied it
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0012")
            rows = connection.execute(sa.text("SELECT event_id, record FROM audit_events ORDER BY event_id")).all()
        assert [(r.event_id, json.loads(r.record)) for r in rows] == [
            (record(1)["eventID"], record(1, eventTime="2026-11-30T10:00:00Z")), (plain["eventID"], plain)]
    finally:
        opened.close()


# --- the JSON text (orjson, with the standard library's encoder as the fallback) -------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)   # no lone surrogates
_LEAF = st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63 - 1) | _TEXT
_VALUE = st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=300)
@given(st.dictionaries(_TEXT, _VALUE, max_size=6))
def test_record_json_writes_what_the_standard_encoder_writes(record: dict) -> None:
    text = record_json(record)
    assert text == _STDLIB.encode(record)       # compact, UTF-8 as is, the same escapes, key order kept
    assert "\n" not in text                      # a chunk's records are its lines


def test_record_json_gives_what_orjson_refuses_to_the_standard_encoder() -> None:
    when = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.timezone.utc)
    for record in ({"big": 2**70}, {"lone": "a\udc80b"}, {"deep": _nested(300)},
                   {"when": when, "raw": b"\x00", 7: "seven", None: 1, True: "yes"}):
        assert record_json(record) == _STDLIB.encode(record)
    assert json.loads(record_json({"when": when})) == {"when": "2026-12-01 06:00:00+00:00"}   # str(), not ISO


def _nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def test_record_json_escapes_every_control_character() -> None:
    record = {"s": "".join(chr(c) for c in range(0x20)) + '"\\\u2028\u00e9\U0001f600'}
    assert record_json(record) == _STDLIB.encode(record)
    assert json.loads(record_json(record)) == record
