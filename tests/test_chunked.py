"""aws-chunked (streaming SigV4) bodies: AWS's worked examples, bodies boto3 really sends, S3's errors.

Vectors:
* https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html "Example: PUT Object"
  (66560 bytes of 'a' in chunks of 65536 and 1024; seed, chunk and final signatures);
* https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html (the same object
  with a trailing x-amz-checksum-crc32c and its x-amz-trailer-signature);
* bodies boto3 sends for PutObject over HTTPS (STREAMING-UNSIGNED-PAYLOAD-TRAILER), captured
  before they leave the client, for each of the five checksum algorithms.
The signed encoder below is test code of its own, checked against the AWS example first.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import datetime, timezone
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudkeep.auth import checksums, sigv4
from cloudkeep.auth.chunked import ChunkedPayload
from cloudkeep.wire.errors import (
    BadDigest,
    IncompleteBody,
    InvalidChunkSizeError,
    InvalidRequest,
    MalformedTrailerError,
    MissingContentLength,
    NotImplementedOperation,
    RequestEntityTooLarge,
    ServiceError,
    SignatureDoesNotMatch,
)
from cloudkeep.wire.http import HttpRequest

# --- the AWS example -------------------------------------------------------------------------------

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_DATE = "20130524T000000Z"
DOC_SCOPE = "20130524/us-east-1/s3/aws4_request"
DOC_KEY = sigv4.signing_key(DOC_SECRET, "20130524", "us-east-1", "s3")
DOC_NOW = datetime(2013, 5, 24, 0, 0, 0, tzinfo=timezone.utc)
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
DOC_CHUNK_SIGNATURES = ("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNK_SIGNATURES = ("b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
                            "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
                            "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992")
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
EMPTY = hashlib.sha256(b"").hexdigest()
OBJECT = b"a" * 66560


def hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def encode_signed(data: bytes, *, seed: str, sizes: list[int], trailer: tuple[str, str] | None = None,
                  key: bytes = DOC_KEY, date: str = DOC_DATE, scope: str = DOC_SCOPE) -> tuple[bytes, list[str]]:
    """An aws-chunked body signed chunk by chunk as AWS documents it; returns (body, signatures)."""
    body, signatures, previous, offset = bytearray(), [], seed, 0
    for size in sizes + [0]:
        piece = data[offset:offset + size]
        offset += size
        previous = hmac_hex(key, f"AWS4-HMAC-SHA256-PAYLOAD\n{date}\n{scope}\n{previous}\n{EMPTY}\n"
                                 f"{hashlib.sha256(piece).hexdigest()}")
        signatures.append(previous)
        body += b"%x;chunk-signature=%s\r\n" % (size, previous.encode())
        if size:
            body += piece + b"\r\n"
    assert offset == len(data)
    if trailer is None:
        body += b"\r\n"
    else:
        line = f"{trailer[0]}:{trailer[1]}\n"
        previous = hmac_hex(key, f"AWS4-HMAC-SHA256-TRAILER\n{date}\n{scope}\n{previous}\n"
                                 f"{hashlib.sha256(line.encode()).hexdigest()}")
        signatures.append(previous)
        body += f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{previous}\r\n\r\n".encode()
    return bytes(body), signatures


def encode_unsigned(data: bytes, *, sizes: list[int], trailer: tuple[str, str] | None) -> bytes:
    body, offset = bytearray(), 0
    for size in sizes:
        body += b"%x\r\n" % size + data[offset:offset + size] + b"\r\n"
        offset += size
    body += b"0\r\n"
    if trailer is not None:
        body += f"{trailer[0]}:{trailer[1]}\r\n".encode()
    return bytes(body + b"\r\n")


def payload(body: bytes, *, signed: bool = True, seed: str = SEED, trailer: str | None = None,
            decoded_length: int | None = len(OBJECT), **options: object) -> ChunkedPayload:
    return ChunkedPayload(io.BytesIO(body), signed=signed, seed_signature=seed, signing_key=DOC_KEY,
                          amz_date=DOC_DATE, scope=DOC_SCOPE, decoded_length=decoded_length, trailer=trailer,
                          **options)  # type: ignore[arg-type]


DOC_BODY, _ = encode_signed(OBJECT, seed=SEED, sizes=[65536, 1024])


def doc_request(body: bytes = DOC_BODY) -> HttpRequest:
    """The example's PUT Object request as S3 receives it."""
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        f"x-amz-decoded-content-length;x-amz-storage-class,Signature={SEED}")
    headers = (("host", "s3.amazonaws.com"), ("x-amz-date", DOC_DATE), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
               ("authorization", authorization), ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
               ("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", "66560"),
               ("content-length", "66824"))
    return HttpRequest(method="PUT", path="/examplebucket/chunkObject.txt", query="", headers=headers, body=body)


def test_encoder_reproduces_the_aws_example_signatures() -> None:
    body, signatures = encode_signed(OBJECT, seed=SEED, sizes=[65536, 1024])
    assert signatures == list(DOC_CHUNK_SIGNATURES)
    assert len(body) == 66824                    # the example's Content-Length
    assert body.startswith(b"10000;chunk-signature=" + DOC_CHUNK_SIGNATURES[0].encode() + b"\r\naaaa")


def test_aws_example_seed_signature_and_every_chunk_verify() -> None:
    request = doc_request()
    info = sigv4.parse_authorization(request, now=DOC_NOW)
    assert info is not None and info.signature == SEED
    sigv4.verify(request, info, DOC_SECRET, now=DOC_NOW, service="s3")   # the seed signature, exactly
    assert sigv4.is_streaming(request, info)
    reader = sigv4.streaming_reader(request, info, DOC_SECRET)
    first = reader.read(65536)
    assert first == b"a" * 65536 and not reader.done
    assert reader.read() == b"a" * 1024 and reader.done
    assert reader.read() == b""


def test_aws_example_seed_signature_is_checked_in_verify() -> None:
    request = doc_request()
    info = sigv4.parse_authorization(request, now=DOC_NOW)
    assert info is not None
    with pytest.raises(SignatureDoesNotMatch) as caught:
        sigv4.verify(request, info, DOC_SECRET.replace("w", "W", 1), now=DOC_NOW, service="s3")
    assert caught.value.message == ("The request signature we calculated does not match the signature you "
                                    "provided. Check your key and signing method.")
    assert caught.value.extra["SignatureProvided"] == SEED


def test_aws_trailer_example_verifies_chunks_checksum_and_trailer_signature() -> None:
    chunks = [(65536, TRAILER_CHUNK_SIGNATURES[0]), (1024, TRAILER_CHUNK_SIGNATURES[1])]
    body = b"".join(b"%x;chunk-signature=%s\r\n" % (n, s.encode()) + b"a" * n + b"\r\n" for n, s in chunks)
    body += b"0;chunk-signature=%s\r\n" % TRAILER_CHUNK_SIGNATURES[2].encode()
    body += b"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:%s\r\n\r\n" % TRAILER_SIGNATURE.encode()
    reader = payload(body, seed=TRAILER_SEED, trailer="x-amz-checksum-crc32c")
    assert reader.drain() == 66560
    assert reader.trailer_value == ("x-amz-checksum-crc32c", "sOO8/Q==")
    assert checksums.compute("CRC32C", OBJECT) == "sOO8/Q=="
    forged = body.replace(TRAILER_SIGNATURE.encode(), TRAILER_SIGNATURE[::-1].encode())
    with pytest.raises(SignatureDoesNotMatch):
        payload(forged, seed=TRAILER_SEED, trailer="x-amz-checksum-crc32c").drain()


# --- bodies boto3 sends ---------------------------------------------------------------------------

AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class _EmptyRaw:
    def stream(self, **_: object):
        yield b""


def boto3_put_object(body: bytes, algorithm: str) -> HttpRequest:
    """The PutObject request boto3 sends over HTTPS (aws-chunked, trailing checksum), captured
    in botocore's before-send hook instead of going to the network."""
    captured: dict[str, HttpRequest] = {}

    def before_send(request, **_: object) -> AWSResponse:  # type: ignore[no-untyped-def]
        raw = request.body.read() if hasattr(request.body, "read") else (request.body or b"")
        url = urlsplit(request.url)
        headers = tuple((k.lower(), v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items())
        if not any(k == "host" for k, _ in headers):
            headers = (("host", url.netloc),) + headers
        captured["request"] = HttpRequest(method=request.method, path=url.path, query=url.query,
                                          headers=headers, body=raw)
        return AWSResponse(request.url, 200, {"ETag": '"0"'}, _EmptyRaw())

    client = boto3.client("s3", endpoint_url="https://cloudkeep.local:4566", region_name="us-east-1",
                          aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                          config=Config(s3={"addressing_style": "path"}))
    client.meta.events.register("before-send.s3.PutObject", before_send)
    client.put_object(Bucket="bucket", Key="key", Body=io.BytesIO(body), ChecksumAlgorithm=algorithm)
    return captured["request"]


def signed_at(request: HttpRequest) -> datetime:
    """The wall time the request was signed at (boto3 signs with the real clock; with awscrt
    installed through the CRT signer, so the time cannot be patched)."""
    return datetime.strptime(request.header("x-amz-date") or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


BIG = bytes(range(256)) * 4200                  # 1075200 bytes: a full 1 MiB chunk and a short last one


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_boto3_put_object_body_is_accepted(algorithm: str) -> None:
    request = boto3_put_object(BIG, algorithm)
    assert request.header("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert request.header("x-amz-trailer") == f"x-amz-checksum-{algorithm.lower()}"
    now = signed_at(request)
    info = sigv4.parse_authorization(request, now=now)
    assert info is not None
    sigv4.verify(request, info, SECRET, now=now, service="s3")
    reader = sigv4.streaming_reader(request, info, SECRET)
    out = bytearray()
    while piece := reader.read(100_000):
        out += piece
    assert bytes(out) == BIG
    assert reader.trailer_value == (f"x-amz-checksum-{algorithm.lower()}", checksums.compute(algorithm, BIG))


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_boto3_body_with_a_changed_byte_is_bad_digest(algorithm: str) -> None:
    request = boto3_put_object(BIG, algorithm)
    info = sigv4.parse_authorization(request, now=signed_at(request))
    assert info is not None
    i = request.body.index(b"\r\n") + 1000
    tampered = request.body[:i] + bytes([request.body[i] ^ 1]) + request.body[i + 1:]
    spooled = HttpRequest(method=request.method, path=request.path, query=request.query, headers=request.headers,
                          body_file=io.BytesIO(tampered), body_size=len(tampered))
    with pytest.raises(BadDigest) as caught:
        sigv4.streaming_reader(spooled, info, SECRET).drain()
    assert caught.value.message == f"The {algorithm} you specified did not match the calculated checksum."
    assert caught.value.status == 400


def test_boto3_streaming_body_needs_the_decoded_length_header() -> None:
    request = boto3_put_object(b"x" * 10, "CRC32")
    info = sigv4.parse_authorization(request, now=signed_at(request))
    assert info is not None
    without = HttpRequest(method=request.method, path=request.path, query=request.query, body=request.body,
                          headers=tuple(h for h in request.headers if h[0] != "x-amz-decoded-content-length"))
    with pytest.raises(MissingContentLength):
        sigv4.streaming_reader(without, info, SECRET)


# --- every checksum in every trailer mode -----------------------------------------------------------

ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_signed_trailer_with_each_algorithm(algorithm: str) -> None:
    name = checksums.header_name(algorithm)
    body, _ = encode_signed(OBJECT, seed=SEED, sizes=[8192] * 8 + [1024],
                            trailer=(name, checksums.compute(algorithm, OBJECT)))
    reader = payload(body, trailer=name)
    assert reader.read() == OBJECT and reader.trailer_value == (name, checksums.compute(algorithm, OBJECT))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_signed_trailer_that_lies_is_bad_digest(algorithm: str) -> None:
    name = checksums.header_name(algorithm)
    lie = checksums.compute(algorithm, OBJECT[:-1] + b"b")
    body, _ = encode_signed(OBJECT, seed=SEED, sizes=[65536, 1024], trailer=(name, lie))
    with pytest.raises(BadDigest) as caught:
        payload(body, trailer=name).drain()
    assert caught.value.message == f"The {algorithm} you specified did not match the calculated checksum."


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_unsigned_trailer_with_each_algorithm_and_a_lie(algorithm: str) -> None:
    name = checksums.header_name(algorithm)
    good = encode_unsigned(OBJECT, sizes=[65536, 1024], trailer=(name, checksums.compute(algorithm, OBJECT)))
    assert payload(good, signed=False, trailer=name).read() == OBJECT
    bad = encode_unsigned(OBJECT, sizes=[65536, 1024], trailer=(name, checksums.compute(algorithm, b"other")))
    with pytest.raises(BadDigest):
        payload(bad, signed=False, trailer=name).drain()


def test_malformed_checksum_value_is_invalid_request() -> None:
    body = encode_unsigned(OBJECT, sizes=[66560], trailer=("x-amz-checksum-crc32", "not base64!"))
    with pytest.raises(InvalidRequest) as caught:
        payload(body, signed=False, trailer="x-amz-checksum-crc32").drain()
    assert caught.value.message == "Value for x-amz-checksum-crc32 trailing header is invalid."
    sha_sized = encode_unsigned(OBJECT, sizes=[66560], trailer=("x-amz-checksum-crc32", checksums.compute("SHA1", b"")))
    with pytest.raises(InvalidRequest):
        payload(sha_sized, signed=False, trailer="x-amz-checksum-crc32").drain()


def test_missing_or_other_trailer_is_malformed_trailer() -> None:
    missing = encode_unsigned(OBJECT, sizes=[66560], trailer=None)
    with pytest.raises(MalformedTrailerError):
        payload(missing, signed=False, trailer="x-amz-checksum-crc32").drain()
    other = encode_unsigned(OBJECT, sizes=[66560], trailer=("x-amz-checksum-sha1", checksums.compute("SHA1", OBJECT)))
    with pytest.raises(MalformedTrailerError):
        payload(other, signed=False, trailer="x-amz-checksum-crc32").drain()


def test_unsupported_trailer_name_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as caught:
        payload(b"", signed=False, trailer="x-amz-checksum-md5")
    assert caught.value.message == "The value specified in the x-amz-trailer header is not supported"


# --- S3's errors for broken bodies -------------------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 10, 90, 5000, 65536 + 90, len(DOC_BODY) - 90, len(DOC_BODY) - 2, len(DOC_BODY) - 1])
def test_truncated_body_is_incomplete_body(cut: int) -> None:
    with pytest.raises(IncompleteBody) as caught:
        payload(DOC_BODY[:cut]).drain()
    assert caught.value.status == 400


def test_short_chunk_before_another_is_invalid_chunk_size() -> None:
    body, _ = encode_signed(OBJECT, seed=SEED, sizes=[100, 66460])
    with pytest.raises(InvalidChunkSizeError) as caught:
        payload(body).drain()
    assert caught.value.message == "Only the last chunk is allowed to have a size less than 8192 bytes"
    assert caught.value.extra == {"Chunk": "2", "BadChunkSize": "100"}
    unsigned = encode_unsigned(OBJECT, sizes=[8192, 1000, 57368], trailer=None)
    with pytest.raises(InvalidChunkSizeError) as caught:
        payload(unsigned, signed=False).drain()
    assert caught.value.extra == {"Chunk": "3", "BadChunkSize": "1000"}


def test_chunk_size_that_disagrees_with_its_data_is_rejected() -> None:
    longer = DOC_BODY.replace(b"400;chunk-signature", b"401;chunk-signature", 1)
    with pytest.raises((IncompleteBody, SignatureDoesNotMatch)):
        payload(longer).drain()
    shorter = DOC_BODY.replace(b"400;chunk-signature", b"3ff;chunk-signature", 1)
    with pytest.raises((IncompleteBody, SignatureDoesNotMatch)):
        payload(shorter).drain()


def test_forged_chunk_signature_is_signature_does_not_match() -> None:
    forged = DOC_BODY.replace(DOC_CHUNK_SIGNATURES[1].encode(), b"0" * 64)
    reader = payload(forged)
    assert reader.read(65536) == b"a" * 65536          # the first chunk was genuine
    with pytest.raises(SignatureDoesNotMatch) as caught:
        reader.read(10)
    assert caught.value.status == 403
    assert caught.value.extra["SignatureProvided"] == "0" * 64
    assert caught.value.extra["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n")


def test_changed_chunk_data_is_signature_does_not_match() -> None:
    i = DOC_BODY.index(b"aaaa") + 100
    with pytest.raises(SignatureDoesNotMatch):
        payload(DOC_BODY[:i] + b"b" + DOC_BODY[i + 1:]).read(1)


def test_forged_final_chunk_signature_is_rejected() -> None:
    forged = DOC_BODY.replace(DOC_CHUNK_SIGNATURES[2].encode(), DOC_CHUNK_SIGNATURES[1].encode())
    with pytest.raises(SignatureDoesNotMatch):
        payload(forged).drain()


def test_forged_trailer_signature_is_rejected() -> None:
    name = "x-amz-checksum-sha256"
    body, signatures = encode_signed(OBJECT, seed=SEED, sizes=[66560], trailer=(name, checksums.compute("SHA256", OBJECT)))
    forged = body.replace(signatures[-1].encode(), signatures[-2].encode())
    with pytest.raises(SignatureDoesNotMatch):
        payload(forged, trailer=name).drain()
    without = body[:body.index(b"x-amz-trailer-signature")] + b"\r\n"
    with pytest.raises(ServiceError):
        payload(without, trailer=name).drain()


def test_decoded_length_mismatch_is_incomplete_body() -> None:
    for declared in (66559, 66561, 0):
        with pytest.raises(IncompleteBody) as caught:
            payload(DOC_BODY, decoded_length=declared).drain()
        assert caught.value.message == ("You did not provide the number of bytes specified by the "
                                        "Content-Length HTTP header")


def test_data_after_the_end_is_incomplete_body() -> None:
    with pytest.raises(IncompleteBody):
        payload(DOC_BODY + b"0\r\n\r\n").drain()


def test_a_chunk_over_the_memory_bound_is_refused_before_it_is_read() -> None:
    with pytest.raises(RequestEntityTooLarge):
        payload(DOC_BODY, max_chunk=4096).drain()


def test_signed_reader_holds_one_chunk_at_a_time() -> None:
    body, _ = encode_signed(OBJECT * 4, seed=SEED, sizes=[65536] * 4 + [1024 * 4], trailer=None)
    raw = io.BytesIO(body)
    reader = ChunkedPayload(raw, signed=True, seed_signature=SEED, signing_key=DOC_KEY, amz_date=DOC_DATE,
                            scope=DOC_SCOPE, decoded_length=len(OBJECT) * 4, trailer=None)
    assert reader.read(10) == b"a" * 10
    assert raw.tell() < 3 * 65536                      # it did not read ahead through the body
    assert reader.drain() == len(OBJECT) * 4


def test_unknown_streaming_mode_is_not_implemented() -> None:
    headers = tuple((k, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD" if k == "x-amz-content-sha256" else v)
                    for k, v in doc_request().headers)
    request = HttpRequest(method="PUT", path="/examplebucket/chunkObject.txt", query="", headers=headers, body=DOC_BODY)
    info = sigv4.parse_authorization(request, now=DOC_NOW)
    assert info is not None
    scope = info.scope
    creq = sigv4.canonical_request(request.method, request.path, "", request.headers, info.signed_headers,
                                   "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", normalize_path=False)
    sig = sigv4.signature(DOC_KEY, sigv4.string_to_sign(DOC_DATE, scope, creq))
    resigned = HttpRequest(method="PUT", path=request.path, query="", body=DOC_BODY, headers=tuple(
        (k, v.replace(SEED, sig)) for k, v in request.headers))
    info = sigv4.parse_authorization(resigned, now=DOC_NOW)
    assert info is not None
    with pytest.raises(NotImplementedOperation):
        sigv4.verify(resigned, info, DOC_SECRET, now=DOC_NOW)


# --- robustness ------------------------------------------------------------------------------------------

PROPERTY = settings(deadline=None)
fragments = st.sampled_from([b"0", b"10", b"2000", b";chunk-signature=", DOC_CHUNK_SIGNATURES[0].encode(), b"\r\n",
                             b"\r", b"\n", b"a" * 50, b"x-amz-checksum-crc32:", b"AAAAAA==", b":", b"x-amz-trailer-signature:"])
junk_bodies = st.one_of(st.binary(max_size=300), st.lists(st.one_of(fragments, st.binary(max_size=8)), max_size=30)
                        .map(b"".join))


@PROPERTY
@given(junk_bodies, st.booleans(), st.sampled_from([None, "x-amz-checksum-crc32", "x-amz-checksum-sha256"]),
       st.one_of(st.none(), st.integers(0, 100)))
def test_arbitrary_bytes_give_only_service_errors(body: bytes, signed: bool, trailer: str | None,
                                                  decoded: int | None) -> None:
    reader = payload(body, signed=signed, trailer=trailer, decoded_length=decoded)
    try:
        data = reader.read()
    except ServiceError as error:
        assert 400 <= error.status < 500 and error.message
        return
    assert not signed                                   # nothing made up passes a signature check
    assert reader.done and (decoded is None or len(data) == decoded)


@PROPERTY
@given(st.data())
def test_any_changed_byte_of_a_signed_body_is_rejected_or_harmless(data: st.DataObject) -> None:
    name = "x-amz-checksum-crc32"
    small = b"a" * 8192 + b"b" * 100
    body, _ = encode_signed(small, seed=SEED, sizes=[8192, 100], trailer=(name, checksums.compute("CRC32", small)))
    i = data.draw(st.integers(0, len(body) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != body[i]))
    changed = body[:i] + bytes([value]) + body[i + 1:]
    try:
        out = payload(changed, trailer=name, decoded_length=len(small)).read()
    except ServiceError:
        return
    assert out == small           # only an equivalent spelling (e.g. hex size case) may pass


# --- a plain signed SHA-256 payload over a spooled body ------------------------------------------------


def test_signed_sha256_payload_is_hashed_from_the_spooled_file() -> None:
    from test_sigv4_property import T0 as PT0, SECRET as PSECRET, botocore_sign, to_http_request
    from cloudkeep.wire.errors import XAmzContentSHA256Mismatch

    body = bytes(range(256)) * 1000
    signed = to_http_request(botocore_sign("PUT", "/bucket/key", [], {}, body, service="s3"))
    assert signed.header("x-amz-content-sha256") == hashlib.sha256(body).hexdigest()

    def spooled(data: bytes) -> HttpRequest:
        return HttpRequest(method=signed.method, path=signed.path, query=signed.query, headers=signed.headers,
                           body_file=io.BytesIO(data), body_size=len(data))

    info = sigv4.parse_authorization(signed, now=PT0)
    assert info is not None
    sigv4.verify(spooled(body), info, PSECRET, now=PT0)
    with pytest.raises(XAmzContentSHA256Mismatch):
        sigv4.verify(spooled(body[:-1] + b"x"), info, PSECRET, now=PT0)
