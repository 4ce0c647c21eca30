"""Server configuration: the only module that reads the process environment.

``cloudkeep serve`` turns its flags into a ``ServerConfig`` and, for worker processes, into
``CLOUDKEEP_*`` environment variables that each worker reads back here.

Must not: hold logic beyond reading and checking settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Mapping

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
DEFAULT_HTTPS_PORT = 4567


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = Path(".cloudkeep")
    store_url: str | None = None              # None: SQLite in the data dir
    workers: int = 1
    durability: Literal["normal", "full"] = "normal"
    test_hooks: bool = False
    credentials_file: bool = True
    master_key_b64: str | None = field(default=None, repr=False)
    log_level: str = "warning"
    tls: bool = False                         # also serve HTTPS on https_port (serve --tls)
    https_port: int = DEFAULT_HTTPS_PORT
    hsm_uri: str | None = field(default=None, repr=False)   # serve --hsm pkcs11:… (may hold pin-value)
    hsm_pin: str | None = field(default=None, repr=False)   # CLOUDKEEP_HSM_PIN, when the URI has none

    def to_env(self) -> dict[str, str]:
        """The environment that lets a worker process rebuild this config."""
        env = {
            "CLOUDKEEP_HOST": self.host,
            "CLOUDKEEP_PORT": str(self.port),
            "CLOUDKEEP_DATA_DIR": str(self.data_dir),
            "CLOUDKEEP_WORKERS": str(self.workers),
            "CLOUDKEEP_DURABILITY": self.durability,
            "CLOUDKEEP_TEST_HOOKS": "1" if self.test_hooks else "0",
            "CLOUDKEEP_LOG_LEVEL": self.log_level,
            "CLOUDKEEP_TLS": "1" if self.tls else "0",
            "CLOUDKEEP_HTTPS_PORT": str(self.https_port),
        }
        if self.store_url:
            env["CLOUDKEEP_STORE"] = self.store_url
        if self.hsm_uri:
            env["CLOUDKEEP_HSM"] = self.hsm_uri
        return env


def from_env(env: Mapping[str, str] | None = None) -> ServerConfig:
    env = os.environ if env is None else env
    cfg = ServerConfig(
        host=env.get("CLOUDKEEP_HOST", DEFAULT_HOST),
        port=int(env.get("CLOUDKEEP_PORT", DEFAULT_PORT)),
        data_dir=Path(env.get("CLOUDKEEP_DATA_DIR", ".cloudkeep")),
        store_url=env.get("CLOUDKEEP_STORE") or None,
        workers=int(env.get("CLOUDKEEP_WORKERS", "1")),
        durability="full" if env.get("CLOUDKEEP_DURABILITY") == "full" else "normal",
        test_hooks=env.get("CLOUDKEEP_TEST_HOOKS", "0") == "1",
        log_level=env.get("CLOUDKEEP_LOG_LEVEL", "warning"),
        tls=env.get("CLOUDKEEP_TLS", "0") == "1",
        https_port=int(env.get("CLOUDKEEP_HTTPS_PORT", DEFAULT_HTTPS_PORT)),
        hsm_uri=env.get("CLOUDKEEP_HSM") or None,
    )
    return replace(cfg, master_key_b64=master_key_from_env(env), hsm_pin=hsm_pin_from_env(env))


def master_key_from_env(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return env.get("CLOUDKEEP_MASTER_KEY") or None


def hsm_pin_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The HSM user PIN from ``CLOUDKEEP_HSM_PIN`` (used when the ``--hsm`` URI carries none)."""
    env = os.environ if env is None else env
    return env.get("CLOUDKEEP_HSM_PIN") or None


def benchmark_without_audit(env: Mapping[str, str] | None = None) -> bool:
    """``CLOUDKEEP_BENCHMARK_NO_AUDIT=1``: the server records no events (audit.discard). A knob for
    benchmarks/cloudtrail_recording.py only, to measure what recording costs; no flag sets it."""
    env = os.environ if env is None else env
    return env.get("CLOUDKEEP_BENCHMARK_NO_AUDIT") == "1"


def testdata_dir(env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    value = env.get("CLOUDKEEP_TESTDATA")
    return Path(value) if value else None


def export_to_env(cfg: ServerConfig) -> None:
    """Hands the config to worker processes (uvicorn's factory reads it back with ``from_env``)."""
    os.environ.update(cfg.to_env())
    if cfg.master_key_b64:
        os.environ["CLOUDKEEP_MASTER_KEY"] = cfg.master_key_b64
    if cfg.hsm_pin:
        os.environ["CLOUDKEEP_HSM_PIN"] = cfg.hsm_pin
