"""The test harness's server (``cloudkeep.testing.server.CloudkeepServer``) when its port is
taken: test sessions that run side by side (``scripts/test``'s workers) each pick free ports,
and one may take another's before that one's server listens on it."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from cloudkeep.testing import server as harness
from cloudkeep.testing.server import CloudkeepServer


def _listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_a_chosen_port_taken_before_the_server_listens_is_replaced(tmp_path, monkeypatch):
    taken = _listening()
    try:
        ports = iter([taken.getsockname()[1]])
        real = harness.free_port
        monkeypatch.setattr(harness, "free_port", lambda host="127.0.0.1": next(ports, None) or real(host))
        server = CloudkeepServer(data_dir=tmp_path / "data")
        assert server.port == taken.getsockname()[1]
        with server:
            assert server.port != taken.getsockname()[1]
            assert server.root is not None
            assert server.root.client("sts").get_caller_identity()["Account"] == server.root.account_id
    finally:
        taken.close()


def test_a_port_given_by_the_caller_is_not_replaced(tmp_path):
    taken = _listening()
    try:
        server = CloudkeepServer(data_dir=tmp_path / "data", port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="Address already in use"):
            server.start()
        assert server.port == taken.getsockname()[1]
    finally:
        taken.close()


def test_another_server_on_the_port_is_not_taken_for_this_one(tmp_path, cloudkeep_server):
    """Another cloudkeep answers on the port this one could not listen on: its health check
    names another process, so this start fails instead of handing out the other server."""
    with urllib.request.urlopen(cloudkeep_server.endpoint + "/_cloudkeep/health", timeout=5) as r:
        health = json.loads(r.read())
    assert health["status"] == "ok"
    assert cloudkeep_server.process is not None
    assert cloudkeep_server.process.pid in (health["pid"], health["parent"])
    second = CloudkeepServer(data_dir=tmp_path / "data", port=cloudkeep_server.port)
    with pytest.raises(RuntimeError, match="Address already in use"):
        second.start()
    assert not second._answers()
    second.stop()
