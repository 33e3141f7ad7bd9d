"""The image's entry points work when run directly (no container engine here).

Every container of platform/docker-compose.yml and the Helm values runs one of these commands from
the image's virtual environment; here they run from the project's ``.venv``: the console scripts
resolve and answer ``--help``, and a code location is served by ``dagster code-server start``
exactly as its container starts it, until the gRPC health check says SERVING.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from conftest import free_port
from platform_copy import PLATFORM

pytestmark = pytest.mark.platform

BIN = Path(sys.prefix) / "bin"


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("dagster-webserver", ["--help"]),
        ("dagster-daemon", ["run", "--help"]),
        ("dagster", ["code-server", "start", "--help"]),
        ("dagster", ["api", "grpc-health-check", "--help"]),
        ("dg", ["check", "defs", "--help"]),
    ],
)
def test_console_scripts_answer_help(script, args, monkeypatch, capsys):
    assert (BIN / script).exists(), f"`{script}` is not installed in {BIN}"
    (entry_point,) = entry_points(group="console_scripts", name=script)
    main = entry_point.load()  # the function the script runs
    monkeypatch.setattr(sys, "argv", [script, *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    assert "Usage" in capsys.readouterr().out


def test_cfwb_and_dbt_scripts_exist():
    for script in ("cfwb", "dbt"):
        assert (BIN / script).exists(), script


def test_code_server_serves_a_location_as_its_container_does(tmp_path):
    from dagster._grpc.client import DagsterGrpcClient

    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "CFWB_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse")}
    server = subprocess.Popen(
        [
            str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(port),
            "--location-name", "culture", "-m", "culture.definitions", "-d", str(PLATFORM / "culture" / "src"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        deadline, status = time.monotonic() + 150, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = client.health_check_query()
                if status == "SERVING":
                    break
            except Exception:  # not listening yet
                pass
            time.sleep(0.5)
        assert status == "SERVING", server.stderr.read() if server.poll() is not None else status
        repositories = client.list_repositories()
        assert "culture.definitions" in str(repositories)
    finally:
        server.terminate()  # a loaded machine may take a while to shut the gRPC server down gracefully
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
