"""A real cloudkeep server for tests: started as a subprocess on a free port with a throw-away
data dir, usable as a context manager with or without pytest.

    with CloudkeepServer() as ck:
        iam = ck.root.client("iam")
        alice = ck.create_account()
        ck.advance(3600)          # move the server's domain clock (test hooks)

Must not: reach into the server's state except through its HTTP endpoints.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence


#: how many ports ``CloudkeepServer.start`` tries when the ones it chose were taken
PORT_ATTEMPTS = 3
#: what ``cloudkeep serve`` prints when it cannot listen because the port is in use
_PORT_TAKEN = "Address already in use"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Account:
    """An account's root credentials and client factories bound to a server's endpoint."""

    account_id: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    endpoint: str = ""
    email: str = ""
    password: str = field(default="", repr=False)

    def session(self, region: str = "us-east-1") -> Any:
        import boto3
        return boto3.session.Session(aws_access_key_id=self.access_key_id,
                                     aws_secret_access_key=self.secret_access_key, region_name=region)

    def client(self, service: str, *, region: str = "us-east-1", **kwargs: Any) -> Any:
        return client_for(self.endpoint, service, self.access_key_id, self.secret_access_key,
                          region=region, **kwargs)

    @property
    def env(self) -> dict[str, str]:
        """Environment for the AWS CLI or any SDK."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def client_for(endpoint: str, service: str, access_key_id: str, secret_access_key: str, *,
               region: str = "us-east-1", session_token: str | None = None, **kwargs: Any) -> Any:
    import boto3
    from botocore.config import Config

    cfg = kwargs.pop("config", None) or Config(retries={"max_attempts": 1, "mode": "standard"},
                                               connect_timeout=5, read_timeout=30)
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                        aws_session_token=session_token, config=cfg, **kwargs)


def _account(data: dict, endpoint: str) -> Account:
    return Account(account_id=data["AccountId"], access_key_id=data["AccessKeyId"],
                   secret_access_key=data["SecretAccessKey"], endpoint=endpoint,
                   email=data.get("Email", ""), password=data.get("Password", ""))


class CloudkeepServer:
    def __init__(self, *, data_dir: Path | None = None, store_url: str | None = None, workers: int = 1,
                 host: str = "127.0.0.1", port: int | None = None, test_hooks: bool = True,
                 extra_args: Sequence[str] = (), env: dict[str, str] | None = None,
                 startup_timeout: float = 60.0) -> None:
        self.host = host
        self._chosen_port = not port
        self.port = port or free_port(host)
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="cloudkeep-"))
        self.store_url = store_url
        self.workers = workers
        self.test_hooks = test_hooks
        self.extra_args = tuple(extra_args)
        self.env = env
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.root: Account | None = None
        self.output = ""

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "cloudkeep", "serve", "--host", self.host, "--port", str(self.port),
               "--data-dir", str(self.data_dir), "--workers", str(self.workers)]
        if self.store_url:
            cmd += ["--store", self.store_url]
        if self.test_hooks:
            cmd.append("--test-hooks")
        return cmd + list(self.extra_args)

    def start(self) -> "CloudkeepServer":
        """Start the server and wait until it answers. A port chosen here (``free_port``) that
        something else took before the server could listen on it (another test session's server,
        when sessions run side by side) is replaced by a new one, up to ``PORT_ATTEMPTS`` times."""
        attempt = 1
        while not self._start_once():
            assert self.process is not None
            if not self._chosen_port or attempt == PORT_ATTEMPTS:
                raise RuntimeError(f"cloudkeep exited with {self.process.returncode}:\n{self.read_output()}")
            self._log.close()
            self.port = free_port(self.host)
            attempt += 1
        return self

    def _start_once(self) -> bool:
        """False when the server stopped because its port was taken; raises on other failures."""
        self._log = open(self.data_dir.parent / f"{self.data_dir.name}.log", "w+b") \
            if self._own_dir else tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.read_output()
                if _PORT_TAKEN in output:
                    return False
                raise RuntimeError(f"cloudkeep exited with {self.process.returncode}:\n{output}")
            if self._answers():
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"cloudkeep did not start in {self.startup_timeout}s:\n{self.read_output()}")
        creds = self.data_dir / "root-credentials.json"
        if creds.exists():
            self.root = _account(json.loads(creds.read_text()), self.endpoint)
        return True

    def _answers(self) -> bool:
        """Whether this server (not another process's, on the same port) answers its health check."""
        assert self.process is not None
        try:
            with urllib.request.urlopen(self.endpoint + "/_cloudkeep/health", timeout=1) as r:
                health = json.loads(r.read()) if r.status == 200 else {}
        except (OSError, ValueError):
            return False
        return self.process.pid in (health.get("pid"), health.get("parent"))

    def read_output(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _post(self, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload or {}).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def create_account(self, email: str | None = None) -> Account:
        """A new standalone account with its own root user and access key."""
        return _account(self._post("/_cloudkeep/test/accounts", {"email": email} if email else {}),
                        self.endpoint)

    def advance(self, seconds: float) -> None:
        """Moves the server's domain clock forward (SigV4 skew checks keep the wall clock)."""
        self._post("/_cloudkeep/test/clock/advance", {"seconds": seconds})

    def flush(self) -> None:
        """Writes the server's queued audit events and key-use records now."""
        self._post("/_cloudkeep/test/flush")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def cleanup(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            log = self.data_dir.parent / f"{self.data_dir.name}.log"
            log.unlink(missing_ok=True)

    def __enter__(self) -> "CloudkeepServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.cleanup()
