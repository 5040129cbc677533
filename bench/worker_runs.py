"""`brandmon worker` subprocesses (every feature on) against a loaded corpus, measured from the
outside: progress from each worker's /metrics (processed raw offsets, turned into mentions by the
corpus), peak RSS with psutil, then the scored topic read back for latency and a check that
English sentiment equals vaderSentiment's. Optionally the first worker runs under py-spy."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.corpus import Corpus
from bench.measure import CpuUse, PeakRss, WorkerProgress, worker_progress
from bench.profile_summary import start_py_spy, stop_py_spy
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
    cores: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Of each worker and the broker while the corpus was processed: (cores used, cores' worth of
    time runnable but waiting for a CPU)."""

    def cores_note(self) -> str:
        used = ", ".join(
            f"{name} {on:.2f} (+{wait:.2f} waiting for a CPU)" for name, (on, wait) in self.cores.items()
        )
        return f"cores used: {used}"


class Workers:
    """`count` worker processes on one broker, one consumer group, each with its own /metrics."""

    def __init__(
        self, bootstrap: str, config_path: Path, data_root: Path, count: int, broker_pid: int | None = None
    ) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.data_dirs = [data_root / f"worker-{i}" for i in range(count)]
        self.processes = [
            start_worker(bootstrap, config_path, port, data_dir, WORKER_SETTINGS)
            for port, data_dir in zip(self.ports, self.data_dirs, strict=True)
        ]
        self.rss = PeakRss(p.pid for p in self.processes)
        pids = {f"worker {i}": p.pid for i, p in enumerate(self.processes)}
        self.cpu = CpuUse(pids | ({"broker": broker_pid} if broker_pid else {}))
        """Started by whoever loads the corpus, once the workers are ready for it."""

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


async def follow(workers: Workers, corpus: Corpus, interval: float = 1.0) -> None:
    """Until the workers' /metrics show every corpus message processed. Polled once a second: a
    scrape costs the worker ~20 ms of CPU (the rate itself comes from scored record timestamps)."""
    deadline = time.monotonic() + max(600.0, corpus.mentions / 300)
    while (done := corpus.progress(merged_offsets(workers.progress()))) < corpus.mentions:
        if done and not workers.cpu.started:
            workers.cpu.start()
        workers.check_alive()
        if time.monotonic() > deadline:
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
    broker_pid: int | None = None,
) -> WorkerRun:
    """Run `count` workers over `corpus` (already loaded, or loaded by the callable once they are up;
    it may start `workers.cpu` when they are ready, else the first progress seen does)."""
    workers = Workers(bootstrap, config_path, data_root, count, broker_pid)
    spy: subprocess.Popen[bytes] | None = None
    try:
        await wait_until_up(workers)
        if profile is not None:
            spy = start_py_spy(workers.processes[0].pid, profile)
        if not isinstance(corpus, Corpus):
            corpus = await corpus(workers)
        await follow(workers, corpus)
        cores = workers.cpu.used()
        peaks = workers.rss.final()
        scored = int(sum(p.scored for p in workers.progress() if p is not None))
    finally:
        if spy is not None:
            stop_py_spy(spy)
        workers.stop()
    back = await read_scored(settings, bootstrap, corpus, scored)
    return replace(back.run(corpus, list(peaks.values()), scored), cores=cores)


@dataclass
class ScoredReadback:
    """The corpus's scored records as read back: (raw message loaded, scored record timestamp)."""

    times: list[tuple[float, float]] = field(default_factory=list)
    first_scored: dict[str, float] = field(default_factory=dict)
    """Mention id -> timestamp of its first scored record."""
    english_checked: int = 0
    english_differing: int = 0

    def run(self, corpus: Corpus, peak_rss: list[int], scored: int) -> WorkerRun:
        """Rate from the first to the last scored record's timestamp: the mentions scored after the
        first record's moment, scaled up for those that matched no brand (and so left no record).
        Latency from processing start (the first record, less its batch at that rate) or loading."""
        if not self.first_scored:
            raise RuntimeError("no scored record of the corpus was read back")
        start, end = min(self.first_scored.values()), max(t for _, t in self.times)
        later = sum(1 for t in self.first_scored.values() if t > start)
        scale = corpus.mentions / len(self.first_scored)
        rate = later * scale / (end - start)
        began = start - (len(self.first_scored) - later) * scale / rate
        latencies = [at - max(loaded, began) for loaded, at in self.times]
        return WorkerRun(
            corpus.mentions,
            rate,
            end - start,
            peak_rss,
            scored,
            latencies,
            self.english_checked,
            self.english_differing,
        )


async def read_scored(
    settings: Settings, bootstrap: str, corpus: Corpus, expected: int, idle: float = 10.0
) -> ScoredReadback:
    """The scored topic until `expected` records (or `idle` s without one); English sentiment is
    checked against vaderSentiment's `polarity_scores`."""
    raw_times = corpus.raw_times()
    vader = SentimentIntensityAnalyzer()
    expected_scores: dict[str, dict[str, float]] = {}
    consumer = AIOKafkaConsumer(
        SCORED_TOPIC, **client_kwargs(settings, bootstrap), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    back = ScoredReadback()
    seen = 0
    last = time.monotonic()
    try:
        while seen < expected and time.monotonic() - last < idle:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                last = time.monotonic()
                for record in records:
                    seen += 1
                    scored = orjson.loads(record.value or b"{}")
                    mention, sentiment, at = scored["mention"], scored["sentiment"], record.timestamp / 1000
                    loaded = raw_times.get(mention["id"])
                    if loaded is not None:
                        back.times.append((loaded, at))
                        back.first_scored[mention["id"]] = min(at, back.first_scored.get(mention["id"], at))
                    if scored["lang"] == "en" and sentiment is not None:
                        text = mention["text"]
                        if text not in expected_scores:
                            expected_scores[text] = vader.polarity_scores(text)
                        want = expected_scores[text]
                        back.english_checked += 1
                        back.english_differing += any(
                            sentiment[k] != want[k] for k in ("compound", "pos", "neu", "neg")
                        )
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
    return back
