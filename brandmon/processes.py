"""The worker as a child process, for commands that run it next to something else (demo, run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def start_worker(
    bootstrap: str,
    config_path: Path,
    metrics_port: int,
    data_dir: Path,
    defaults: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A `brandmon worker` subprocess on the given broker; its log goes to `data_dir/worker.log`.

    `defaults` are `BRANDMON_*` values the caller's environment may still override."""
    env = {**(defaults or {}), **os.environ}
    env.update(
        BRANDMON_KAFKA_BOOTSTRAP=bootstrap,
        BRANDMON_CONFIG=str(config_path),
        BRANDMON_METRICS_PORT=str(metrics_port),
        BRANDMON_DATA_DIR=str(data_dir / "faust"),
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "brandmon.cli", "worker", "--loglevel", "warn"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
