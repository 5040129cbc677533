"""Fixtures for tests against the real embedded broker and real worker processes.

Every broker test gets its own broker (it starts in well under a second), so topics never leak
between tests. Workers run as `brandmon worker` subprocesses, as users run them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from brandmon.broker import EmbeddedBroker, free_port
from brandmon.kafka import ensure_topics
from brandmon.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

TEST_CONFIG = """\
brands:
  - id: acme
    name: Acme
    aliases: [acme, "#acme", "@acmeinc", "acme corp"]
    competitors: tools
  - id: globex
    name: Globex
    aliases: [globex, "#globex"]
    competitors: tools
  - id: initech
    name: Initech
    aliases: [initech]
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "brands.yaml"
    path.write_text(TEST_CONFIG)
    return path


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def settings(broker: EmbeddedBroker, config_path: Path, tmp_path: Path) -> Settings:
    """Settings for a test's broker, whose topics exist before anything runs (as in a deployment)."""
    created = Settings(
        kafka_bootstrap=broker.bootstrap,
        config=config_path,
        data_dir=tmp_path / "faust-data",
        topic_partitions=4,
        batch_linger_ms=20,
    )
    asyncio.run(ensure_topics(created, broker.bootstrap))
    return created


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    metrics_port: int
    log_path: Path

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(**extra_env: str) -> WorkerProcess:
        port = free_port()
        log_path = tmp_path / f"worker-{len(started)}.log"
        env = dict(os.environ)
        env.update(
            BRANDMON_KAFKA_BOOTSTRAP=settings.kafka_bootstrap or "",
            BRANDMON_CONFIG=str(settings.config),
            BRANDMON_DATA_DIR=str(tmp_path / f"faust-{len(started)}"),
            BRANDMON_METRICS_PORT=str(port),
            BRANDMON_TOPIC_PARTITIONS=str(settings.topic_partitions),
        )
        env.update(extra_env)
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "brandmon.cli",
                "worker",
                "--loglevel",
                os.environ.get("BRANDMON_TEST_WORKER_LOGLEVEL", "warn"),
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        log_file.close()
        worker = WorkerProcess(process, port, log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill(signal.SIGTERM) if worker.process.poll() is None else None
        if worker.process.poll() is None:
            worker.kill()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.failure_report import lines

    report = lines()
    if report:
        terminalreporter.section("failure scenarios: scored pairs, duplicates, windows, alerts")
        for line in report:
            terminalreporter.write_line(line)
