"""Every header-signing case of the AWS SigV4 test suite (aws-c-auth's copy, see SOURCE.md).

For each case: parse the raw signed request, reproduce the canonical request, the string to sign
and the signature byte for byte, accept the request with the case's secret at the case's time,
and reject it with any other secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cloudkeep.auth import sigv4
from cloudkeep.wire.errors import SignatureDoesNotMatch
from cloudkeep.wire.http import HttpRequest
from conftest_testdata import require_testdata, case_folders

SUITE = ("sigv4-test-suite", "v4")

# Cases that genuinely cannot apply to header verification: none. Every folder that has
# header-*.txt files is run; folders without them are query-only and listed by the test below.
SKIP: dict[str, str] = {}

CASES = [p for p in case_folders(*SUITE) if (p / "header-signed-request.txt").exists()]


@dataclass(frozen=True)
class Case:
    request: HttpRequest
    context: dict
    folder: Path

    @property
    def secret(self) -> str:
        return self.context["credentials"]["secret_access_key"]

    @property
    def now(self) -> datetime:
        return datetime.strptime(self.context["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)

    @property
    def normalize(self) -> bool:
        return bool(self.context["normalize"])

    def expected(self, name: str) -> str:
        return (self.folder / name).read_text(encoding="utf-8")


def parse_raw_http(raw: bytes) -> HttpRequest:
    """A raw HTTP/1.1 request as the suite writes it: request target may hold spaces and UTF-8,
    header values may continue on indented lines (obs-fold), header names may repeat."""
    text = raw.decode("utf-8")
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target, _, version = rest.rpartition(" ")
    assert version.startswith("HTTP/"), request_line
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":                         # continuation of the previous header value
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.lstrip(" \t")))
    return HttpRequest(method=method, path=path, query=query, headers=tuple(headers),
                       body=body.encode("utf-8") if sep else b"")


def load(folder: Path) -> Case:
    request = parse_raw_http((folder / "header-signed-request.txt").read_bytes())
    context = json.loads((folder / "context.json").read_text(encoding="utf-8"))
    return Case(request=request, context=context, folder=folder)


def case_params() -> list:
    return [pytest.param(p, id=p.name, marks=pytest.mark.skip(reason=SKIP[p.name]) if p.name in SKIP else ())
            for p in CASES]


def test_the_suite_is_present_and_complete() -> None:
    root = require_testdata(*SUITE)
    folders = [p for p in root.iterdir() if p.is_dir()]
    assert len(CASES) >= 30, f"expected the full suite, found {len(CASES)} header cases in {root}"
    # every folder of the suite is a header case here (none is query-only)
    assert sorted(p.name for p in folders) == sorted(p.name for p in CASES)


@pytest.mark.parametrize("folder", case_params())
def test_canonical_request_matches(folder: Path) -> None:
    case = load(folder)
    info = sigv4.parse_authorization(case.request)
    assert info is not None
    creq = sigv4.canonical_request(case.request.method, case.request.path, case.request.query,
                                   case.request.headers, info.signed_headers, sigv4.payload_hash(case.request),
                                   normalize_path=case.normalize)
    assert creq == case.expected("header-canonical-request.txt")


@pytest.mark.parametrize("folder", case_params())
def test_string_to_sign_and_signature_match(folder: Path) -> None:
    case = load(folder)
    info = sigv4.parse_authorization(case.request)
    assert info is not None
    creq = case.expected("header-canonical-request.txt")
    sts = sigv4.string_to_sign(info.amz_date, info.scope, creq)
    assert sts == case.expected("header-string-to-sign.txt")
    key = sigv4.signing_key(case.secret, info.scope.date, info.scope.region, info.scope.service)
    assert sigv4.signature(key, sts) == case.expected("header-signature.txt").strip() == info.signature


@pytest.mark.parametrize("folder", case_params())
def test_verify_accepts_signed_request(folder: Path) -> None:
    case = load(folder)
    info = sigv4.parse_authorization(case.request, now=case.now)
    assert info is not None
    assert info.scope == sigv4.CredentialScope(case.context["credentials"]["access_key_id"], "20150830",
                                               case.context["region"], case.context["service"])
    sigv4.verify(case.request, info, case.secret, now=case.now, normalize_path=case.normalize,
                 service=case.context["service"], valid_regions={case.context["region"]})


@pytest.mark.parametrize("folder", case_params())
def test_verify_rejects_other_secret(folder: Path) -> None:
    case = load(folder)
    info = sigv4.parse_authorization(case.request)
    assert info is not None
    wrong = case.secret[:-1] + ("X" if case.secret[-1] != "X" else "Y")
    with pytest.raises(SignatureDoesNotMatch) as caught:
        sigv4.verify(case.request, info, wrong, now=case.now, normalize_path=case.normalize)
    assert caught.value.message == sigv4.MSG_MISMATCH


@pytest.mark.parametrize("folder", case_params())
def test_session_token_is_reported(folder: Path) -> None:
    case = load(folder)
    info = sigv4.parse_authorization(case.request)
    assert info is not None
    token = case.context["credentials"].get("token")
    sent = case.request.header("x-amz-security-token")
    assert sent == token                              # the suite sends the context's token, if any
    assert info.session_token == token
    if token is not None and not case.context.get("omit_session_token", False):
        assert "x-amz-security-token" in info.signed_headers


def test_raw_parser_keeps_duplicates_and_folds() -> None:
    request = parse_raw_http(b"GET /a b?x=1 HTTP/1.1\nMy-H:v1\nMy-H:v2\nX:a\n  b\n\nbody")
    assert (request.method, request.path, request.query, request.body) == ("GET", "/a b", "x=1", b"body")
    assert request.headers == (("my-h", "v1"), ("my-h", "v2"), ("x", "a\n  b"))
