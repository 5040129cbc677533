"""Everything brandmon listens on is on loopback unless configured otherwise.

Real processes, as users start them; their listening sockets (and their children's: the worker,
the embedded broker) are read from the kernel with psutil. A configured address is shown to be
honoured with 127.0.0.2, another loopback address, so that no test ever listens on a public
interface.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from brandmon.broker import free_port
from brandmon.settings import Settings
from tests.conftest import TEST_CONFIG, WorkerProcess

pytestmark = pytest.mark.broker
LOOPBACK = {"127.0.0.1", "::1"}


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every socket listening in the process `pid` and its descendants."""
    found = set()
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            for conn in process.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((conn.laddr.ip, conn.laddr.port))
    return found


def wait_listening(
    pid: int, ports: set[int], alive: Callable[[], bool], timeout: float = 120
) -> set[tuple[str, int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert alive(), "the process exited"
        sockets = listening(pid)
        if ports <= {port for _, port in sockets}:
            time.sleep(1.0)  # whatever else starts with them (web server, broker) is up too
            return listening(pid)
        time.sleep(0.2)
    raise AssertionError(f"ports {sorted(ports)} not all listening after {timeout:.0f} s: {listening(pid)}")


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """`brandmon <args>` subprocesses with a clean `BRANDMON_*` environment, stopped afterwards."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, **env: str) -> subprocess.Popen[bytes]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("BRANDMON_")}
        log = (tmp_path / f"process-{len(processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "brandmon.cli", *args],
            env={**clean, "BRANDMON_DATA_DIR": str(tmp_path / f"data-{len(processes)}"), **env},
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            tree = psutil.Process(process.pid).children(recursive=True)
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for child in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()


def webhook_config(path: Path, port: int, host: str | None = None) -> Path:
    options = f"port: {port}, token_env: HOOK_TOKEN" + (f", host: '{host}'" if host else "")
    path.write_text(TEST_CONFIG + f"sources:\n  - {{kind: webhook, name: hook, options: {{{options}}}}}\n")
    return path


def test_run_with_defaults_listens_on_loopback_only(
    started: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """`brandmon run` with nothing configured: embedded broker, connectors' /metrics, the
    webhook, and the worker child with its /metrics (Faust's web server off)."""
    ports = {"connector metrics": free_port(), "worker metrics": free_port(), "webhook": free_port()}
    config = webhook_config(tmp_path / "run.yaml", ports["webhook"])
    run = started(
        "run",
        BRANDMON_CONFIG=str(config),
        BRANDMON_METRICS_PORT=str(ports["worker metrics"]),
        BRANDMON_CONNECTOR_METRICS_PORT=str(ports["connector metrics"]),
        HOOK_TOKEN="hook-token-0123456789",
    )
    sockets = wait_listening(run.pid, set(ports.values()), lambda: run.poll() is None)
    assert {address for address, _ in sockets} <= LOOPBACK, sockets
    assert {port for _, port in sockets} - set(ports.values()), "the embedded broker was not found"
    assert 6066 not in {port for _, port in sockets}, "Faust's web server is on"


@pytest.mark.parametrize("host", [None, "127.0.0.2"], ids=["default", "configured"])
def test_the_worker_metrics_and_faust_web_server_bind_where_configured(
    host: str | None, start_worker: Callable[..., WorkerProcess]
) -> None:
    web_port = free_port()
    env = {"BRANDMON_WEB_ENABLED": "true", "BRANDMON_WEB_PORT": str(web_port)}
    if host:
        env |= {"BRANDMON_METRICS_HOST": host, "BRANDMON_WEB_HOST": host}
    worker = start_worker(**env)
    sockets = wait_listening(
        worker.process.pid, {worker.metrics_port, web_port}, lambda: worker.process.poll() is None
    )
    expected = host or "127.0.0.1"
    assert sockets == {(expected, worker.metrics_port), (expected, web_port)}, worker.log()


def test_a_connector_binds_its_metrics_and_webhook_where_configured(
    started: Callable[..., subprocess.Popen[bytes]], settings: Settings, tmp_path: Path
) -> None:
    metrics_port, webhook_port = free_port(), free_port()
    config = webhook_config(tmp_path / "hook.yaml", webhook_port, host="127.0.0.2")
    connect = started(
        "connect",
        "hook",
        BRANDMON_KAFKA_BOOTSTRAP=settings.kafka_bootstrap or "",
        BRANDMON_CONFIG=str(config),
        BRANDMON_METRICS_HOST="127.0.0.2",
        BRANDMON_CONNECTOR_METRICS_PORT=str(metrics_port),
        HOOK_TOKEN="hook-token-0123456789",
    )
    sockets = wait_listening(connect.pid, {metrics_port, webhook_port}, lambda: connect.poll() is None)
    assert sockets == {("127.0.0.2", metrics_port), ("127.0.0.2", webhook_port)}
