"""`brandmon demo`: embedded broker, a worker process, the simulator and a live terminal view.

Everything binds to loopback. Ctrl-C (or `--duration`) stops the simulator, lets the worker drain
for a moment, then stops the worker and the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.live import Live

from brandmon.alert_text import alert_report
from brandmon.broker import EmbeddedBroker, free_port
from brandmon.config import BrandmonConfig
from brandmon.kafka import client_kwargs, ensure_topics
from brandmon.live_view import LiveView
from brandmon.processes import start_worker, stop_process
from brandmon.schemas import ALERTS_TOPIC, SCORED_TOPIC, Alert, ScoredMention
from brandmon.settings import Settings
from connectors.live_simulation import SimulationPlan, run_simulation

DEMO_SPIKE_SETTINGS = {
    "BRANDMON_SPIKE_BUCKET_SECONDS": "10",
    "BRANDMON_SPIKE_LATENESS_SECONDS": "1",
    "BRANDMON_SPIKE_WARMUP_SECONDS": "1200",
    "BRANDMON_SPIKE_RESOLVE_SECONDS": "30",
    "BRANDMON_SPIKE_COOLDOWN_SECONDS": "300",
}
"""A demo cannot wait a day for baselines: 10-second buckets, a short warm-up and quick resolution
(each can still be set in the environment). Its simulated mentions reach the scored topic within
~0.3 s (p99 at 2,000/s, bench.throughput), so buckets wait 1 s for late ones, not 120."""
DEMO_HISTORY_SECONDS = 2400.0
"""Simulated past published first, so the detector has baselines when the live part begins."""
DEMO_BURST_RAMP_SECONDS = 30.0
DEMO_BURST_SECONDS = 150.0
DEMO_BURST_PEAK_PER_SECOND = 10.0
"""About three times the busiest brand's usual rate at its peak."""
DRAIN_SECONDS = 15.0
DRAIN_QUIET_SECONDS = 3.0
"""After the simulator stops, wait until no scored record arrived for this long (or DRAIN_SECONDS):
unmatched mentions produce no record, so the published count is no target."""


@dataclass(frozen=True)
class DemoOptions:
    config_path: Path
    duration: float | None
    seed: int
    rate: float
    burst_after: float


async def _follow_output(settings: Settings, bootstrap: str, view: LiveView, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        SCORED_TOPIC, ALERTS_TOPIC, **client_kwargs(settings, bootstrap), auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=250)
            for records in batches.values():
                for record in records:
                    if record.topic == ALERTS_TOPIC:
                        view.add_alert(Alert.model_validate_json(record.value))
                    else:
                        view.add(ScoredMention.model_validate_json(record.value))
    finally:
        await consumer.stop()


async def run_demo(settings: Settings, config: BrandmonConfig, options: DemoOptions) -> None:
    console = Console()
    broker = None if settings.kafka_bootstrap else EmbeddedBroker().start()
    bootstrap = settings.kafka_bootstrap or (broker.bootstrap if broker else "")
    await ensure_topics(settings, bootstrap)
    metrics_port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="brandmon-demo-"))
    worker = start_worker(bootstrap, options.config_path, metrics_port, data_dir, DEMO_SPIKE_SETTINGS)
    view = LiveView(config, f"http://127.0.0.1:{metrics_port}/metrics", live_since=time.time())
    view.status = f"broker {bootstrap} | worker log {data_dir / 'worker.log'}"
    stop_simulation, stop_view = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_simulation.set)
    plan = SimulationPlan(
        seed=options.seed,
        rate=options.rate,
        burst_after=options.burst_after,
        burst_ramp_seconds=DEMO_BURST_RAMP_SECONDS,
        burst_seconds=DEMO_BURST_SECONDS,
        history_seconds=DEMO_HISTORY_SECONDS,
        burst_peak_per_second=DEMO_BURST_PEAK_PER_SECOND,
    )
    started = time.monotonic()
    simulation = asyncio.create_task(
        run_simulation(
            settings,
            config,
            plan,
            duration=options.duration,
            bootstrap=bootstrap,
            stop=stop_simulation,
            on_published=lambda n: setattr(view, "published", n),
        )
    )
    follower = asyncio.create_task(_follow_output(settings, bootstrap, view, stop_view))
    try:
        with Live(view.render(), console=console, refresh_per_second=2, auto_refresh=False) as live:
            while not simulation.done():
                await asyncio.sleep(0.5)
                if worker.poll() is not None:
                    raise RuntimeError(
                        f"worker exited with {worker.returncode}; see {data_dir / 'worker.log'}"
                    )
                live.update(view.render(), refresh=True)
            await simulation
            view.status = "simulator stopped, draining the worker"
            deadline = time.monotonic() + DRAIN_SECONDS
            last_count, last_change = view.scored, time.monotonic()
            while time.monotonic() < min(deadline, last_change + DRAIN_QUIET_SECONDS) and not follower.done():
                await asyncio.sleep(0.5)
                if view.scored != last_count:
                    last_count, last_change = view.scored, time.monotonic()
                live.update(view.render(), refresh=True)
            live.update(view.render(), refresh=True)
    finally:
        stop_simulation.set()
        stop_view.set()
        with contextlib.suppress(Exception):
            await simulation
        with contextlib.suppress(Exception):
            await follower
        stop_process(worker)
        if broker is not None:
            broker.stop()
    elapsed = time.monotonic() - started
    console.print()
    console.print(
        f"demo finished after {elapsed:.0f} s: {view.published} mentions published, "
        f"{view.scored} scored brand records received (+{view.history} from the simulated past), "
        f"{len(view.alerts)} alert messages"
    )
    for alert in view.alerts:
        console.print(alert_report(alert), markup=False, highlight=False)
