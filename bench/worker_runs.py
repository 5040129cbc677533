"""`brandmon worker` subprocesses (every feature on) against a loaded corpus, measured from the
outside: progress from each worker's /metrics (processed raw offsets, turned into mentions by the
corpus), peak RSS with psutil, then the scored topic read back for latency and a check that
English sentiment equals vaderSentiment's. Optionally the first worker runs under py-spy."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.corpus import Corpus
from bench.measure import PeakRss, WorkerProgress, worker_progress
from brandmon.broker import free_port
from brandmon.demo import DEMO_SPIKE_SETTINGS
from brandmon.kafka import client_kwargs
from brandmon.processes import start_worker, stop_process
from brandmon.schemas import SCORED_TOPIC, Mention
from brandmon.settings import Settings
from connectors.publisher import MentionPublisher

WORKER_SETTINGS = DEMO_SPIKE_SETTINGS
"""Spike detection with the demo's 10-second buckets and 20-minute warm-up, so buckets close and
the detector decides within the corpus's hour of event time (the default waits a day)."""


@dataclass(frozen=True)
class WorkerRun:
    mentions: int
    rate: float
    seconds: float
    peak_rss: list[int]
    scored: int
    latencies: list[float]
    english_checked: int
    english_differing: int


class Workers:
    """`count` worker processes on one broker, one consumer group, each with its own /metrics."""

    def __init__(self, bootstrap: str, config_path: Path, data_root: Path, count: int) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.data_dirs = [data_root / f"worker-{i}" for i in range(count)]
        self.processes = [
            start_worker(bootstrap, config_path, port, data_dir, WORKER_SETTINGS)
            for port, data_dir in zip(self.ports, self.data_dirs, strict=True)
        ]
        self.rss = PeakRss(p.pid for p in self.processes)

    def progress(self) -> list[WorkerProgress | None]:
        return [worker_progress(f"http://127.0.0.1:{port}/metrics") for port in self.ports]

    def check_alive(self) -> None:
        self.rss.poll()
        for process, data_dir in zip(self.processes, self.data_dirs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"worker exited with {process.returncode}; see {data_dir / 'worker.log'}")

    def stop(self) -> None:
        for process in self.processes:
            stop_process(process)


def merged_offsets(progress: list[WorkerProgress | None]) -> dict[int, int]:
    """Per partition the highest offset any worker processed (a former owner's gauge lags)."""
    merged: dict[int, int] = {}
    for one in progress:
        for partition, offset in (one.offsets if one else {}).items():
            merged[partition] = max(merged.get(partition, -1), offset)
    return merged


async def wait_until_up(workers: Workers, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while any(p is None for p in workers.progress()):
        workers.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError("worker metrics did not come up")
        await asyncio.sleep(0.2)


async def wait_for_assignment(
    workers: Workers,
    settings: Settings,
    bootstrap: str,
    warm_up: list[Mention],
    partitions: set[int],
    within: float = 180,
) -> None:
    """Trickle `warm_up` mentions until every worker has been processing its own partitions, and
    together all of them, for 3 s: the group is formed before the corpus lands (no rebalance in
    the measured span)."""
    changed: list[dict[int, tuple[int, float]]] = [{} for _ in workers.processes]
    stable_since: float | None = None
    deadline = time.monotonic() + within
    async with MentionPublisher(settings, bootstrap) as publisher:
        for tick in itertools.count():
            start = (tick * 40) % max(len(warm_up) - 40, 1)
            await publisher.publish_and_wait(warm_up[start : start + 40])
            await asyncio.sleep(0.5)
            workers.check_alive()
            now = time.monotonic()
            for seen, progress in zip(changed, workers.progress(), strict=True):
                for partition, offset in (progress.offsets if progress else {}).items():
                    if seen.get(partition, (-1, 0.0))[0] != offset:
                        seen[partition] = (offset, now)
            active = [{p for p, (_, at) in seen.items() if now - at < 2.0} for seen in changed]
            disjoint = sum(map(len, active)) == len(set().union(*active))
            if all(active) and disjoint and set().union(*active) == partitions:
                stable_since = stable_since or now
                if now - stable_since >= 3.0:
                    return
            else:
                stable_since = None
            if now > deadline:
                raise TimeoutError(f"consumer group not stable: partitions by worker {active}")


async def follow(workers: Workers, corpus: Corpus, interval: float = 0.2) -> tuple[float, float, float]:
    """(seconds, mentions/s) from the first to the last corpus progress seen, and the wall-clock
    time processing began (the first progress seen, less the time its mentions took at that rate)."""
    first: tuple[float, int] | None = None
    first_wall = 0.0
    deadline = time.monotonic() + max(600.0, corpus.mentions / 300)
    while True:
        workers.check_alive()
        done = corpus.progress(merged_offsets(workers.progress()))
        now = time.monotonic()
        if done and first is None:
            first, first_wall = (now, done), time.time()
        if first is not None and done >= corpus.mentions:
            span = now - first[0]
            rate = (done - first[1]) / span
            return span, rate, first_wall - first[1] / rate
        if now > deadline:
            raise TimeoutError(f"workers processed {done} of {corpus.mentions} mentions")
        await asyncio.sleep(interval)


async def run_workers(
    settings: Settings,
    bootstrap: str,
    config_path: Path,
    data_root: Path,
    count: int,
    corpus: Corpus | Callable[[Workers], Awaitable[Corpus]],
    profile: Path | None = None,
) -> WorkerRun:
    """Run `count` workers over `corpus` (already loaded, or loaded by the callable once they are up)."""
    workers = Workers(bootstrap, config_path, data_root, count)
    spy: subprocess.Popen[bytes] | None = None
    try:
        await wait_until_up(workers)
        if profile is not None:
            spy = start_py_spy(workers.processes[0].pid, profile)
        if not isinstance(corpus, Corpus):
            corpus = await corpus(workers)
        span, rate, began = await follow(workers, corpus)
        peaks = workers.rss.final()
        scored = int(sum(p.scored for p in workers.progress() if p is not None))
    finally:
        if spy is not None:
            stop_py_spy(spy)
        workers.stop()
    latencies, checked, differing = await read_scored(settings, bootstrap, corpus, scored, began)
    return WorkerRun(corpus.mentions, rate, span, list(peaks.values()), scored, latencies, checked, differing)


def start_py_spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy (installed in the venv, not a dependency) sampling `pid` 100 times a second."""
    binary = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if binary is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    command = [binary, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
    command += ["--nonblocking", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()


async def read_scored(
    settings: Settings, bootstrap: str, corpus: Corpus, expected: int, began: float, idle: float = 10.0
) -> tuple[list[float], int, int]:
    """Seconds from its raw message's loading (or from `began`, when processing began, if later) to
    each scored record of the corpus's mentions; English records checked against vaderSentiment's
    `polarity_scores`, and how many of them differ."""
    raw_times = corpus.raw_times()
    vader = SentimentIntensityAnalyzer()
    expected_scores: dict[str, dict[str, float]] = {}
    consumer = AIOKafkaConsumer(
        SCORED_TOPIC, **client_kwargs(settings, bootstrap), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    latencies: list[float] = []
    seen = checked = differing = 0
    last = time.monotonic()
    try:
        while seen < expected and time.monotonic() - last < idle:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                last = time.monotonic()
                for record in records:
                    seen += 1
                    scored = orjson.loads(record.value or b"{}")
                    mention, sentiment = scored["mention"], scored["sentiment"]
                    loaded = raw_times.get(mention["id"])
                    if loaded is not None:
                        latencies.append(record.timestamp / 1000 - max(loaded, began))
                    if scored["lang"] == "en" and sentiment is not None:
                        text = mention["text"]
                        if text not in expected_scores:
                            expected_scores[text] = vader.polarity_scores(text)
                        want = expected_scores[text]
                        checked += 1
                        differing += any(sentiment[k] != want[k] for k in ("compound", "pos", "neu", "neg"))
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
    return latencies, checked, differing
