"""Passwords in the URL and TLS (``rediss://``), against a private, real redis-server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from ingestkit_core import ErrorCode, ExecutionError, ResultStatus
from ingestkit_core.execution.redis import RedisExecutionBackend
from ingestkit_testkit import TestkitOptions
from ingestkit_testkit.fleet import WorkerFleet, worker_command

PASSWORD = "s3cret-pass"
Case = Callable[..., Path]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _require(command: str) -> str:
    found = shutil.which(command)
    if found is None:
        reason = f"{command} is not installed (apt-get install redis-server openssl)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def secure_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A redis-server with a password on a plain port and on a TLS port."""
    server, openssl = _require("redis-server"), _require("openssl")
    folder = tmp_path_factory.mktemp("secure-redis")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    plain, tls = _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(plain),
            "--tls-port",
            str(tls),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(cert),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            PASSWORD,
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    urls = {
        "plain": f"redis://:{PASSWORD}@127.0.0.1:{plain}/0",
        "tls": f"rediss://:{PASSWORD}@127.0.0.1:{tls}/0?ssl_ca_certs={cert}",
        "wrong": f"redis://:not-the-password@127.0.0.1:{plain}/0",
    }
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(urls["plain"]).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("the private redis-server did not start (is it built with TLS?)")
                time.sleep(0.05)
        yield urls
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("transport", ["plain", "tls"])
def test_jobs_run_with_a_password_and_over_tls(
    secure_redis: dict[str, str], transport: str, case: Case
) -> None:
    url = secure_redis[transport]
    path = case("doc", "ok", text="Reached over a secured connection.")
    with WorkerFleet(url, "ikt-secure", workers=1) as fleet:
        fleet.start()
        with RedisExecutionBackend(url=url, prefix="ikt-secure") as backend:
            result = backend.get_result(backend.submit(path, TestkitOptions()), timeout=60)
    assert result.status is ResultStatus.SUCCEEDED
    assert result.chunks[0].text == "Reached over a secured connection."


def test_a_wrong_password_fails_at_the_start_without_showing_it(secure_redis: dict[str, str]) -> None:
    with pytest.raises(ExecutionError) as raised:
        RedisExecutionBackend(url=secure_redis["wrong"])
    assert raised.value.code is ErrorCode.E_EXECUTION_UNAVAILABLE
    assert "not-the-password" not in raised.value.message
    proc = subprocess.run(
        [*worker_command(), "queue", "status", "--redis-url", secure_redis["wrong"]],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "not-the-password" not in proc.stderr + proc.stdout
