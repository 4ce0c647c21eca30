"""HTTPS: ``cloudkeep serve --tls`` with a local CA in the data dir (``crypto/ca.py``), both ports
served by the same workers (``serving.py``), and CloudTrail's ``tlsDetails`` on calls made over TLS.

CloudTrail record contents (tlsDetails: tlsVersion, cipherSuite, clientProvidedHostHeader):
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError, SSLError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from cloudkeep.crypto import ca
from cloudkeep.crypto.envelope import Sealer
from cloudkeep.crypto.rootkey import load_or_create_master_key
from cloudkeep.storage.engine import Store, sqlite_url
from cloudkeep.testing.audit import records_of_request
from cloudkeep.testing.server import Account, CloudkeepServer, client_for, free_port

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
TLS13_SUITES = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"}


# --- helpers --------------------------------------------------------------------------------------


def tls_server(data_dir: Path | None = None, **kwargs: Any) -> tuple[CloudkeepServer, int]:
    port = free_port()
    return CloudkeepServer(data_dir=data_dir, extra_args=["--tls", "--https-port", str(port)], **kwargs), port


def https(account: Account, port: int, service: str, *, host: str = "localhost", **kwargs: Any) -> Any:
    return client_for(f"https://{host}:{port}", service, account.access_key_id, account.secret_access_key,
                      **kwargs)


def sealer_of(data_dir: Path) -> Sealer:
    return Sealer(load_or_create_master_key(data_dir, None))


def private_forms(key: Any) -> list[bytes]:
    """Every way the key's secret could be written down in the clear."""
    forms = [key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
             for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL)]
    forms.append(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    forms.append(key.private_numbers().private_value.to_bytes(32, "big"))
    # the base64 body of the PEM too (a file could hold it without the armour lines)
    forms.append(b"".join(forms[0].splitlines()[1:-1])[:40])
    return forms


def assert_no_private_key_in(data_dir: Path, *keys: Any) -> None:
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        assert b"PRIVATE KEY" not in content, path
        for key in keys:
            for form in private_forms(key):
                assert form not in content, path


def audit_records(data_dir: Path, request_id: str) -> list[dict[str, Any]]:
    store = Store.open(sqlite_url(data_dir), migrate=False)
    try:
        return records_of_request(store, request_id)
    finally:
        store.close()


def rid(response: dict) -> str:
    return response["ResponseMetadata"]["RequestId"]


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(t) for t in text)
    return found


def workers_of(pid: int) -> set[int]:
    """The worker processes of a ``--workers N`` server (spawned; not multiprocessing's resource tracker)."""
    found = set()
    for child in children_of(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
        except FileNotFoundError:
            pass
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CloudkeepServer, int]]:
    server, port = tls_server(tmp_path_factory.mktemp("tls") / "data")
    with server:
        yield server, port


# --- the CA (crypto/ca.py) -------------------------------------------------------------------------


def test_first_start_creates_a_ten_year_ca_that_only_signs_certificates(tmp_path):
    material = ca.ensure_server_certificate(tmp_path, Sealer(os.urandom(32)), host="127.0.0.1", now=NOW)
    assert material.ca_created and material.server_issued
    cert = x509.load_pem_x509_certificate(material.ca_cert.read_bytes())
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is True and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature and not usage.value.key_encipherment
    assert cert.not_valid_after_utc - NOW == ca.CA_VALIDITY
    assert cert.subject == cert.issuer
    assert material.ca_cert == ca.ca_cert_path(tmp_path) == tmp_path / "tls" / "ca.pem"
    assert {p.name for p in (tmp_path / "tls").iterdir()} >= {"ca.pem", "ca-key.sealed", "server.pem",
                                                              "server-key.sealed"}
    assert (tmp_path / "tls" / "ca-key.sealed").stat().st_mode & 0o077 == 0
    assert (tmp_path / "tls" / "server-key.sealed").stat().st_mode & 0o077 == 0


def test_server_certificate_names_loopback_s3_virtual_hosts_and_the_host(tmp_path):
    material = ca.ensure_server_certificate(tmp_path, Sealer(os.urandom(32)), host="ck.example.test", now=NOW)
    leaf, issuer = x509.load_pem_x509_certificates(material.server_cert.read_bytes())
    root = x509.load_pem_x509_certificate(material.ca_cert.read_bytes())
    assert issuer == root
    leaf.verify_directly_issued_by(root)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {
        "localhost", "*.localhost", "s3.localhost", "*.s3.localhost", "ck.example.test"}
    assert {str(a) for a in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH])
    assert leaf.not_valid_after_utc - NOW == ca.SERVER_VALIDITY


# (not "iam.localhost": the certificate carries *.localhost, but OpenSSL honours no wildcard
# directly above a single-label name, as with *.com)
@pytest.mark.parametrize("name", ["mybucket.s3.localhost", "s3.localhost", "localhost", "127.0.0.1", "::1",
                                  "ck.example.test"])
def test_a_strict_client_trusting_the_ca_accepts_the_server_for(tmp_path, name):
    sealer = Sealer(os.urandom(32))
    material = ca.ensure_server_certificate(tmp_path, sealer, host="ck.example.test",
                                            now=dt.datetime.now(dt.timezone.utc))
    version, cipher = _handshake(ca.server_ssl_context(material, sealer), material.ca_cert, name)
    assert version == "TLSv1.3" and cipher in TLS13_SUITES


@pytest.mark.parametrize("name", ["example.com", "a.b.s3.localhost", "10.0.0.1"])
def test_a_client_refuses_the_certificate_for_a_name_it_does_not_carry(tmp_path, name):
    sealer = Sealer(os.urandom(32))
    material = ca.ensure_server_certificate(tmp_path, sealer, host="127.0.0.1",
                                            now=dt.datetime.now(dt.timezone.utc))
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(ca.server_ssl_context(material, sealer), material.ca_cert, name)


def test_a_client_without_the_ca_refuses_the_server(tmp_path):
    sealer = Sealer(os.urandom(32))
    material = ca.ensure_server_certificate(tmp_path, sealer, host="127.0.0.1",
                                            now=dt.datetime.now(dt.timezone.utc))
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(ca.server_ssl_context(material, sealer), None, "localhost")


def _handshake(server_context: ssl.SSLContext, cafile: Path | None, name: str) -> tuple[str, str]:
    """A TLS handshake in memory between the server context and a strict verifying client."""
    client_context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if cafile is None:  # trust nothing at all (not the system store either)
        client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.verify_flags |= ssl.VERIFY_X509_STRICT
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context.wrap_bio(c_in, c_out, server_hostname=name)
    server = server_context.wrap_bio(s_in, s_out, server_side=True)
    done = [False, False]
    for _ in range(10):
        for i, (end, out, peer_in) in enumerate(((client, c_out, s_in), (server, s_out, c_in))):
            if not done[i]:
                try:
                    end.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
            peer_in.write(out.read())
        if all(done):
            break
    assert all(done)
    return client.version(), client.cipher()[0]


def test_restarting_keeps_the_ca_and_the_server_certificate(tmp_path):
    sealer = Sealer(os.urandom(32))
    first = ca.ensure_server_certificate(tmp_path, sealer, host="127.0.0.1", now=NOW)
    ca_pem, server_pem = first.ca_cert.read_bytes(), first.server_cert.read_bytes()
    again = ca.ensure_server_certificate(tmp_path, sealer, host="127.0.0.1", now=NOW + dt.timedelta(days=30))
    assert not again.ca_created and not again.server_issued
    assert again.ca_cert.read_bytes() == ca_pem and again.server_cert.read_bytes() == server_pem


@pytest.mark.parametrize("later, host", [
    (ca.SERVER_VALIDITY + dt.timedelta(days=1), "127.0.0.1"),                     # expired
    (ca.SERVER_VALIDITY - ca.RENEW_BEFORE + dt.timedelta(hours=1), "127.0.0.1"),  # about to expire
    (dt.timedelta(days=1), "other.example.test"),                                  # other names
])
def test_server_certificate_is_issued_again_under_the_same_ca(tmp_path, later, host):
    sealer = Sealer(os.urandom(32))
    first = ca.ensure_server_certificate(tmp_path, sealer, host="127.0.0.1", now=NOW)
    ca_pem, old = first.ca_cert.read_bytes(), x509.load_pem_x509_certificates(first.server_cert.read_bytes())[0]
    again = ca.ensure_server_certificate(tmp_path, sealer, host=host, now=NOW + later)
    assert again.server_issued and not again.ca_created and again.ca_cert.read_bytes() == ca_pem
    new = x509.load_pem_x509_certificates(again.server_cert.read_bytes())[0]
    assert new.serial_number != old.serial_number and new.not_valid_after_utc > NOW + later + ca.RENEW_BEFORE
    new.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
    san = new.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert host in san.get_values_for_type(x509.DNSName) or host == "127.0.0.1"


def test_a_server_certificate_from_another_ca_is_replaced(tmp_path):
    sealer = Sealer(os.urandom(32))
    ca.ensure_server_certificate(tmp_path / "a", sealer, host="127.0.0.1", now=NOW)
    ca.ensure_server_certificate(tmp_path / "b", sealer, host="127.0.0.1", now=NOW)
    for name in ("server.pem", "server-key.sealed"):
        shutil.copy(tmp_path / "b" / "tls" / name, tmp_path / "a" / "tls" / name)
    again = ca.ensure_server_certificate(tmp_path / "a", sealer, host="127.0.0.1", now=NOW)
    assert again.server_issued
    leaf = x509.load_pem_x509_certificates(again.server_cert.read_bytes())[0]
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(again.ca_cert.read_bytes()))


def test_keys_are_sealed_and_do_not_open_under_another_master_key(tmp_path):
    sealer = Sealer(os.urandom(32))
    material = ca.ensure_server_certificate(tmp_path, sealer, host="127.0.0.1", now=NOW)
    ca_key = serialization.load_der_private_key(
        sealer.open((material.directory / "ca-key.sealed").read_bytes(), context=ca.CA_KEY_CONTEXT), None)
    server_key = serialization.load_der_private_key(
        sealer.open(material.server_key.read_bytes(), context=ca.SERVER_KEY_CONTEXT), None)
    assert ca_key.public_key() == x509.load_pem_x509_certificate(material.ca_cert.read_bytes()).public_key()
    ca.server_ssl_context(material, sealer)  # loading the key leaves nothing behind
    assert_no_private_key_in(tmp_path, ca_key, server_key)
    other = Sealer(os.urandom(32))
    with pytest.raises(ca.TlsError, match="does not open with this master key"):
        ca.ensure_server_certificate(tmp_path, other, host="127.0.0.1", now=NOW)
    with pytest.raises(ca.TlsError, match="does not open with this master key"):
        ca.server_ssl_context(material, other)


def test_a_ca_certificate_that_does_not_match_its_key_stops_the_start(tmp_path):
    sealer = Sealer(os.urandom(32))
    ca.ensure_server_certificate(tmp_path / "a", sealer, host="127.0.0.1", now=NOW)
    ca.ensure_server_certificate(tmp_path / "b", sealer, host="127.0.0.1", now=NOW)
    shutil.copy(tmp_path / "b" / "tls" / "ca.pem", tmp_path / "a" / "tls" / "ca.pem")
    with pytest.raises(ca.TlsError, match="does not belong to"):
        ca.ensure_server_certificate(tmp_path / "a", sealer, host="127.0.0.1", now=NOW)


def test_an_expired_ca_stops_the_start_instead_of_being_replaced_silently(tmp_path):
    sealer = Sealer(os.urandom(32))
    ca.ensure_server_certificate(tmp_path, sealer, host="127.0.0.1", now=NOW)
    with pytest.raises(ca.TlsError, match="expired"):
        ca.ensure_server_certificate(tmp_path, sealer, host="127.0.0.1", now=NOW + ca.CA_VALIDITY)


def test_tls_settings_round_trip_through_the_worker_environment():
    from cloudkeep import config

    cfg = config.ServerConfig(tls=True, https_port=14567)
    assert config.from_env(cfg.to_env()) == cfg
    assert config.from_env({}).tls is False and config.from_env({}).https_port == 4567


# --- the real server ----------------------------------------------------------------------------------


def test_first_start_creates_the_ca_restart_reuses_it_and_no_key_is_in_the_clear(tmp_path):
    data = tmp_path / "data"
    server, port = tls_server(data, test_hooks=False)
    with server:
        pem = (data / "tls" / "ca.pem").resolve()
        out = server.read_output()
        assert f"export AWS_CA_BUNDLE={pem}" in out and "created now" in out
        assert f"export AWS_ENDPOINT_URL=https://127.0.0.1:{port}" in out and f"ca_bundle = {pem}" in out
        ca_pem = pem.read_bytes()
        arn = https(server.root, port, "sts", verify=str(pem)).get_caller_identity()["Arn"]
        assert arn == f"arn:aws:iam::{server.root.account_id}:root"
        assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    sealer = sealer_of(data)
    ca_key = serialization.load_der_private_key(
        sealer.open((data / "tls" / "ca-key.sealed").read_bytes(), context=ca.CA_KEY_CONTEXT), None)
    server_key = serialization.load_der_private_key(
        sealer.open((data / "tls" / "server-key.sealed").read_bytes(), context=ca.SERVER_KEY_CONTEXT), None)
    assert_no_private_key_in(data, ca_key, server_key)

    again, port2 = tls_server(data, test_hooks=False)
    with again:
        assert pem.read_bytes() == ca_pem
        assert "created now" not in again.read_output() and str(pem) in again.read_output()
        ident = https(again.root, port2, "sts", host="127.0.0.1", verify=str(pem)).get_caller_identity()
        assert ident["Account"] == server.root.account_id


def test_boto3_over_https_trusts_the_ca_bundle_and_fails_closed_without_it(served):
    server, port = served
    pem = str(server.data_dir / "tls" / "ca.pem")
    account = server.create_account()
    assert https(account, port, "sts", verify=pem).get_caller_identity()["Account"] == account.account_id
    assert https(account, port, "iam", host="127.0.0.1", verify=pem).list_users()["Users"] == []
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        https(account, port, "sts").get_caller_identity()  # the default trust store: refused
    # plain HTTP on the plain port still works beside it
    assert account.client("sts").get_caller_identity()["Account"] == account.account_id


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is installed with the test extras")
def test_aws_cli_over_https_with_ca_bundle_flag_or_env_and_not_without(served):
    server, port = served
    pem = str(server.data_dir / "tls" / "ca.pem")
    account = server.create_account()
    env = {**os.environ, **account.env, "AWS_ENDPOINT_URL": f"https://localhost:{port}",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    env.pop("AWS_CA_BUNDLE", None)

    def aws(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([AWS, *args, "sts", "get-caller-identity", "--output", "json"],
                              env={**env, **(extra or {})}, capture_output=True, text=True, timeout=60)

    flag = aws("--ca-bundle", pem)
    assert flag.returncode == 0, flag.stderr
    assert json.loads(flag.stdout)["Arn"] == f"arn:aws:iam::{account.account_id}:root"
    by_env = aws(extra={"AWS_CA_BUNDLE": pem})
    assert by_env.returncode == 0, by_env.stderr
    assert json.loads(by_env.stdout)["Account"] == account.account_id
    refused = aws()
    assert refused.returncode != 0 and "SSL validation failed" in refused.stderr and not refused.stdout


def test_audit_event_over_https_has_tls_details_and_plain_http_has_none(served):
    server, port = served
    pem = str(server.data_dir / "tls" / "ca.pem")
    account = server.create_account()
    over_tls = rid(https(account, port, "iam", verify=pem).create_user(UserName="secure"))
    over_plain = rid(account.client("iam").create_user(UserName="plain"))
    server.flush()
    [secure_event] = audit_records(server.data_dir, over_tls)
    [plain_event] = audit_records(server.data_dir, over_plain)
    details = secure_event["tlsDetails"]
    assert list(details) == ["tlsVersion", "cipherSuite", "clientProvidedHostHeader"]
    assert details["tlsVersion"] == "TLSv1.3" and details["cipherSuite"] in TLS13_SUITES
    assert details["clientProvidedHostHeader"] == f"localhost:{port}"
    assert secure_event["eventName"] == "CreateUser" and secure_event["requestParameters"] == {"userName": "secure"}
    assert "tlsDetails" not in plain_event and plain_event["eventName"] == "CreateUser"


def test_tls12_client_gets_openssl_cipher_name_in_tls_details_and_a_failed_call_too(served):
    server, port = served
    account = server.create_account()
    context = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.pem"))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    status, request_id = _signed_post(context, port, account, "iam", "Action=GetUser&UserName=ghost&Version=2010-05-08")
    assert status == 404
    server.flush()
    [event] = audit_records(server.data_dir, request_id)
    assert event["errorCode"] == "NoSuchEntity"
    assert event["tlsDetails"]["tlsVersion"] == "TLSv1.2"
    # CloudTrail writes TLS 1.2 suites by their OpenSSL names, e.g. ECDHE-RSA-AES128-GCM-SHA256
    assert re.fullmatch(r"ECDHE-ECDSA-[A-Z0-9-]+", event["tlsDetails"]["cipherSuite"])
    assert event["tlsDetails"]["clientProvidedHostHeader"] == f"127.0.0.1:{port}"


def _signed_post(context: ssl.SSLContext, port: int, account: Account, service: str, body: str) -> tuple[int, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"https://127.0.0.1:{port}/"
    request = AWSRequest("POST", url, data=body.encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(account.access_key_id, account.secret_access_key), service, "us-east-1").add_auth(request)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    try:
        conn.request("POST", "/", body=body.encode(), headers=dict(request.headers))
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("x-amzn-RequestId") or ""
    finally:
        conn.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_two_workers_serve_both_ports_and_a_stop_signal_flushes_every_worker(tmp_path, stop_signal):
    server, port = tls_server(tmp_path / "data", workers=2)
    with server:
        pem = str(server.data_dir / "tls" / "ca.pem")
        account = server.create_account()
        workers = workers_of(server.process.pid)
        assert len(workers) == 2
        request_ids = []
        for _ in range(12):  # a new client (connection) each time, so both workers take some
            request_ids.append(rid(https(account, port, "sts", verify=pem).get_caller_identity()))
            request_ids.append(rid(account.client("sts").get_caller_identity()))
        with pytest.raises(ClientError):
            https(account, port, "iam", verify=pem).get_user(UserName="ghost")
        # no flush: the signal must stop every worker through its lifespan shutdown
        assert server.stop(stop_signal) == 0
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in workers)
    recorded = []
    for request_id in request_ids:
        recorded += audit_records(server.data_dir, request_id)
    assert sorted(r["requestID"] for r in recorded) == sorted(request_ids)
    assert sum("tlsDetails" in r for r in recorded) == 12


def test_a_worker_that_dies_is_replaced_and_both_ports_keep_serving(tmp_path):
    server, port = tls_server(tmp_path / "data", workers=2)
    with server:
        pem = str(server.data_dir / "tls" / "ca.pem")
        account = server.create_account()
        spawned = workers_of(server.process.pid)
        assert len(spawned) == 2
        victim = min(spawned)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(workers_of(server.process.pid) - spawned) < 1:
            time.sleep(0.1)
        now = workers_of(server.process.pid)
        assert victim not in now and len(now) == 2 and len(now - spawned) == 1
        for _ in range(6):
            assert https(account, port, "sts", verify=pem).get_caller_identity()["Account"] == account.account_id
            assert account.client("sts").get_caller_identity()["Account"] == account.account_id
        assert server.stop(signal.SIGTERM) == 0


def test_an_idle_https_connection_does_not_hold_a_stopping_server(tmp_path):
    """A client keeping an idle HTTPS connection open (a boto3 pool that is not reading) gets
    close_notify at the stop and is dropped after serving.TLS_CLOSE_TIMEOUT: the stop does not
    run into uvicorn's graceful-shutdown timeout, and the events are flushed."""
    server, port = tls_server(tmp_path / "data")
    with server:
        pem = str(server.data_dir / "tls" / "ca.pem")
        account = server.create_account()
        iam = https(account, port, "iam", verify=pem)
        request_id = rid(iam.create_user(UserName="kept-alive"))   # the connection stays open, idle
        server.stop()
        log = server.read_output()
    assert "timeout graceful shutdown exceeded" not in log, log[-2000:]
    assert [r["eventName"] for r in audit_records(server.data_dir, request_id)] == ["CreateUser"]


def test_same_port_for_http_and_https_is_refused(tmp_path):
    port = free_port()
    proc = subprocess.run([sys.executable, "-m", "cloudkeep", "serve", "--data-dir", str(tmp_path / "d"),
                           "--port", str(port), "--tls", "--https-port", str(port)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "--https-port must differ from --port" in proc.stderr
