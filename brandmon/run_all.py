"""`brandmon run`: every configured connector and a worker, together, until Ctrl-C.

Connectors run in this process (one `run_forever` task each, one shared publisher); the worker
runs as a child process on the same broker (the embedded one when no bootstrap is configured),
restarted fresh when it exits because the cluster behind it changed.
Connector health is served on its own `/metrics` (BRANDMON_CONNECTOR_METRICS_PORT).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server

from brandmon.config import BrandmonConfig
from brandmon.processes import start_worker, stop_process
from brandmon.settings import Settings
from connectors.checkpoint import CheckpointStore
from connectors.health import SourceMetrics
from connectors.publisher import MentionPublisher
from connectors.registry import build_source
from connectors.runner import KafkaSink, run_forever
from streams.cluster_guard import EXIT_CLUSTER_CHANGED

log = logging.getLogger(__name__)


async def run_all(settings: Settings, config: BrandmonConfig, config_path: Path, bootstrap: str) -> None:
    registry = CollectorRegistry()
    metrics = SourceMetrics(registry)
    sources = [
        build_source(entry.kind, entry.name, entry.options, metrics)
        for entry in config.sources
        if entry.kind != "simulator"  # the simulator belongs to `brandmon demo` / `brandmon simulate`
    ]
    start_http_server(settings.connector_metrics_port, addr=settings.metrics_host, registry=registry)

    def start() -> subprocess.Popen[bytes]:
        return start_worker(bootstrap, config_path, settings.metrics_port, settings.data_dir)

    worker = start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    store = CheckpointStore(settings.data_dir / "cursors")
    try:
        async with MentionPublisher(settings, bootstrap) as publisher:
            sink = KafkaSink(publisher)
            tasks = [asyncio.create_task(run_forever(source, sink, store, stop)) for source in sources]
            while not stop.is_set():
                if worker.poll() is not None:
                    if worker.returncode == EXIT_CLUSTER_CHANGED:
                        log.critical("the Kafka cluster changed under the worker; starting a fresh one")
                        worker = start_worker(
                            bootstrap, config_path, settings.metrics_port, settings.data_dir
                        )
                        continue
                    log.error(
                        "worker exited with %s; see %s", worker.returncode, settings.data_dir / "worker.log"
                    )
                    stop.set()
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        stop_process(worker)
