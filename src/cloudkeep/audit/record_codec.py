"""The stored form of a CloudTrail record: compact UTF-8 JSON, zlib-compressed.

Owns: ``encode_record`` (record → bytes for ``audit_events.record``), ``record_text`` and
``decode_record`` (bytes → the JSON text, or the record), ``encode_chunk``/``chunk_texts`` (many
records in one stream, ``audit_record_chunks.data``), and the preset dictionaries records are
compressed with.

- A record is compressed at level 1 with a 4 KiB window and a small memory level against
  ``DICTIONARY_1``, a preset dictionary of the text CloudTrail records share (field names,
  "AwsApiCall", "Management", "amazonaws.com", typical userIdentity and userAgent shapes): a
  typical record stores in about 40% of the bytes plain zlib gives, for a fraction of its CPU
  (plain zlib's default state is ~256 KiB to allocate and set up for every record).
- A zlib stream made with a preset dictionary says so in its header (the FDICT flag) and names
  the dictionary by its Adler-32 (RFC 1950, section 2.2). Decoding picks the dictionary by that
  id; a stream naming a dictionary this code does not know is refused with ``ValueError``,
  never guessed at. Streams without a dictionary (rows written before dictionaries, migration
  0013's copies) decode as plain zlib.
- The dictionaries are part of the stored format for good: rows compressed with one can only be
  read with exactly the same bytes. Never edit one; add a new constant (its Adler-32 differs)
  to ``_DICTIONARIES`` and encode with it, keeping the old ones for decoding.

- The JSON text is written by orjson (~0.7 µs for a GetCallerIdentity record where the standard
  library's C encoder took ~3.9, and ~13 against ~53 thousand instructions): compact, UTF-8 not
  escaped, keys in the record's order, as the standard library's encoder (the fallback for what
  orjson refuses: integers beyond 64 bits, strings holding lone surrogates, nesting past 254
  levels) writes it; values of other types (datetimes, dataclasses, bytes) as ``str`` gives them.

Must not: import the schema, storage or anything heavier than the standard library and orjson
(migrations import it).
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Final, Mapping

import orjson

#: The first preset dictionary of stored records (its Adler-32 is ``DICTIONARY_1_ID``).
#: NEVER CHANGE THESE BYTES: stored rows name them by their checksum and decode only with them.
#: zlib finds matches best near the dictionary's end, so the most common text comes last.
DICTIONARY_1: Final = (
    b'"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::'
    b'","accountId":"","userName":""},"webIdFederationData":{},"attributes":{"creationDate":"'
    b'T00:00:00Z","mfaAuthenticated":"false"}}},'
    b'"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256",'
    b'"bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"","bytesTransferredOut":0},'
    b'"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::"},'
    b'{"accountId":"","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::"}],'
    b'"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256",'
    b'"clientProvidedHostHeader":"localhost"},'
    b'"errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam:: is not authorized to perform: '
    b' on resource:  because no identity-based policy allows the  action",'
    b'{"type":"AssumedRole","principalId":"AROA:","arn":"arn:aws:sts::assumed-role/",'
    b'"requestParameters":{"bucketName":"","Host":"","key":""},"responseElements":{"user":{"path":"/",'
    b'"userName":"","userId":"AIDA","arn":"arn:aws:iam::","createDate":"'
    b'"s3.amazonaws.com","kms.amazonaws.com","iam.amazonaws.com","sts.amazonaws.com",'
    b'"eventCategory":"Data"}'
    b'{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDA","arn":"arn:aws:iam::'
    b'user/","accountId":"","accessKeyId":"AKIA","userName":""},"eventTime":"2026-'
    b'T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"","awsRegion":"us-east-1",'
    b'"sourceIPAddress":"127.0.0.1","userAgent":"Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1 '
    b'md/arch#x86_64 lang/python#3.11 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.35.0",'
    b'"requestParameters":null,"responseElements":null,"requestID":"","eventID":"","readOnly":true,'
    b'"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"","eventCategory":"Management"}'
)
DICTIONARY_1_ID: Final = zlib.adler32(DICTIONARY_1)

#: every dictionary a stored record may name, by its Adler-32 (the id in the zlib header)
_DICTIONARIES: Final[Mapping[int, bytes]] = {DICTIONARY_1_ID: DICTIONARY_1}

# Level 1, a 4 KiB window (2**12; the dictionary fits in it) and memory level 3: a few KiB of
# state instead of zlib's default ~256 KiB, which dominated the cost of compressing a record.
# The dictionary is loaded once; each record compresses with a copy of the primed state
# (``Compress.copy`` holds the object's lock, so threads may share it).
_PRIMED: Final = zlib.compressobj(1, zlib.DEFLATED, 12, 3, zlib.Z_DEFAULT_STRATEGY, DICTIONARY_1)
_FDICT = 0x20
_JSON: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
# The same encoding through the json module's C encoder, made once rather than per call as
# ``JSONEncoder.encode`` does, and without its check for reference cycles (a record is built
# from fresh dicts and lists; a cycle would end in RecursionError, not a loop). Falls back to
# ``_JSON`` where the C accelerator is missing.
_C_ENCODER: Final = (json.encoder.c_make_encoder(None, str, json.encoder.encode_basestring, None, ":", ",",
                                                 False, False, True)
                     if json.encoder.c_make_encoder is not None else None)


#: orjson as the standard library's encoder above writes records: non-string keys as strings,
#: datetimes and dataclasses through ``default`` (``str``) rather than orjson's own forms
_ORJSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def record_json(event: Mapping[str, Any]) -> str:
    """A record's compact JSON text, as stored (in a row's ``record`` or a chunk's line)."""
    if type(event) is dict:
        try:
            return orjson.dumps(event, default=str, option=_ORJSON_OPTIONS).decode()
        except orjson.JSONEncodeError:
            pass              # what orjson refuses (see the module docstring): the standard encoder
    if _C_ENCODER is None or type(event) is not dict:
        return _JSON.encode(event)
    return "".join(_C_ENCODER(event, 0))


def encode_record(event: Mapping[str, Any]) -> bytes:
    """The stored form of a record: compact UTF-8 JSON, zlib-compressed against ``DICTIONARY_1``."""
    return encode_text(record_json(event))


def encode_text(text: str) -> bytes:
    """``encode_record`` of a record already made compact JSON text (``record_json``)."""
    compressor = _PRIMED.copy()
    return compressor.compress(text.encode("utf-8")) + compressor.flush()


# A chunk is one zlib stream for many records, so its compressor may be zlib's full one (32 KiB
# window, memory level 8): set up once per batch, not per record. Level 1, primed with the same
# dictionary, which a chunk of a few records still gains from.
_CHUNK_PRIMED: Final = zlib.compressobj(1, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY_1)


def encode_chunk(texts: list[str]) -> bytes:
    """Records' compact JSON texts (``record_json``) stored together: one zlib stream (against
    ``DICTIONARY_1``) of the texts, one per line. Compact JSON holds no raw newline (the encoder
    escapes every control character in strings), so the lines are the records."""
    compressor = _CHUNK_PRIMED.copy()
    return compressor.compress("\n".join(texts).encode("utf-8")) + compressor.flush()


def chunk_texts(data: bytes) -> list[str]:
    """The records' texts of a chunk (``encode_chunk``), in order. Errors as ``record_text``'s."""
    return record_text(data).split("\n")


def dictionary_id(data: bytes) -> int | None:
    """The Adler-32 of the preset dictionary a stored record names, or None for none."""
    if len(data) < 6 or not data[1] & _FDICT:
        return None
    return int.from_bytes(data[2:6], "big")


def record_text(data: bytes) -> str:
    """The record's compact JSON text, as ``encode_record`` (or an older version) stored it.
    Raises ``ValueError`` for a record compressed with a dictionary this code does not know,
    ``zlib.error`` for bytes that are not a whole zlib stream."""
    data = bytes(data)
    dict_id = dictionary_id(data)
    if dict_id is None:
        return zlib.decompress(data).decode("utf-8")
    dictionary = _DICTIONARIES.get(dict_id)
    if dictionary is None:
        raise ValueError(f"stored record is compressed with an unknown preset dictionary "
                         f"(Adler-32 {dict_id:#010x}); it was written by a newer cloudkeep")
    inflater = zlib.decompressobj(zdict=dictionary)
    text = inflater.decompress(data)
    if not inflater.eof or inflater.unused_data:
        raise zlib.error("stored record is not one whole zlib stream")
    return text.decode("utf-8")


def decode_record(data: bytes) -> dict[str, Any]:
    """The record ``encode_record`` stored."""
    return json.loads(record_text(data))
