"""Real Prometheus and Alertmanager on loopback for tests: started, queried, stopped.

The servers are the Debian packages `make test` installs. Each gets its own port and data
directory; Prometheus scrapes the given targets every second and evaluates the given rule files
every second, so a test sees an alert within seconds of the metric changing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from brandmon.broker import free_port

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def require_servers() -> None:
    if PROMETHEUS is None or ALERTMANAGER is None:
        pytest.skip("prometheus / prometheus-alertmanager not installed (make test installs them)")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def _serve(binary: str, flags: Sequence[str], log: Path) -> Iterator[str]:
    """Run a server on a free loopback port until it answers `/-/ready`; yields `host:port`."""
    address = f"127.0.0.1:{free_port()}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, *flags, f"--web.listen-address={address}"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(f"http://{address}/-/ready", process, log)
        yield address
    finally:
        process.terminate()
        process.wait(15)


@dataclass
class Prometheus:
    url: str

    def query(self, expression: str) -> list[dict[str, Any]]:
        params = urllib.parse.urlencode({"query": expression})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{params}", timeout=5) as response:
            body = json.load(response)
        if body["status"] != "success":
            raise AssertionError(f"{expression}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=5) as response:
            alerts: list[dict[str, Any]] = json.load(response)["data"]["alerts"]
        return alerts


@contextmanager
def prometheus(
    directory: Path,
    targets: Sequence[str],
    rule_files: Sequence[Path] = (),
    alertmanager: str | None = None,
) -> Iterator[Prometheus]:
    require_servers()
    assert PROMETHEUS is not None
    directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "brandmon", "static_configs": [{"targets": list(targets)}]}],
        "rule_files": [str(path) for path in rule_files],
    }
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    flags = [f"--config.file={directory / 'prometheus.yml'}", f"--storage.tsdb.path={directory / 'data'}"]
    with _serve(PROMETHEUS, flags, directory / "prometheus.log") as address:
        yield Prometheus(f"http://{address}")


@contextmanager
def alertmanager(directory: Path, config: dict[str, Any]) -> Iterator[str]:
    """Alertmanager with `config`; yields its `host:port` for Prometheus."""
    require_servers()
    assert ALERTMANAGER is not None
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "alertmanager.yml").write_text(yaml.safe_dump(config))
    flags = [
        f"--config.file={directory / 'alertmanager.yml'}",
        f"--storage.path={directory / 'data'}",
        f"--cluster.listen-address=127.0.0.1:{free_port()}",
    ]
    with _serve(ALERTMANAGER, flags, directory / "alertmanager.log") as address:
        yield address
