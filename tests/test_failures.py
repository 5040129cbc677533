"""No mention lost, none counted twice, no alert lost or doubled: crashes, restarts and takeovers.

Each scenario runs real `brandmon worker` processes on the embedded broker against the same input
and lets `tests.verifier` compare the scored topic (after dedup by id), the window counts and the
alert stream with what the input implies. The table of scenarios is printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import pytest

from brandmon.settings import Settings
from tests.conftest import WorkerProcess, wait_for
from tests.failure_report import ROWS
from tests.kafka_helpers import metric_sum, publish, scrape
from tests.verifier import SPIKE_ENV, Corpus, Outcome, verify

pytestmark = pytest.mark.broker
VOLUME = 12_000


def samples_of(worker: WorkerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The worker's /metrics, or nothing while it starts or after it died."""
    try:
        return scrape(worker.metrics_url)
    except OSError:
        return {}


def scored_so_far(worker: WorkerProcess) -> float:
    return metric_sum(samples_of(worker), "brandmon_mentions_total")


def owned_partitions(worker: WorkerProcess) -> set[str]:
    samples = samples_of(worker)
    return {
        dict(labels)["partition"]
        for (name, labels), _ in samples.items()
        if name == "brandmon_stream_processed_offset" and "partition" in dict(labels)
    }


def mid_stream(worker: WorkerProcess, above: float) -> None:
    wait_for(lambda: scored_so_far(worker) > above, 90, "the worker to be mid-stream", interval=0.05)


def assert_exact(outcome: Outcome, detail: str) -> None:
    assert outcome.lost == 0
    assert outcome.extra == 0
    assert outcome.windows_wrong == 0
    assert outcome.alerts_expected >= 2, "the input must open and resolve an alert to mean anything"
    assert outcome.alerts_missing == 0, detail
    assert outcome.alerts_unexpected == 0, detail


def run_scenario(
    name: str, settings: Settings, start_worker: Callable[..., WorkerProcess], disrupt: Callable[..., float]
) -> None:
    corpus = Corpus.build(VOLUME)
    asyncio.run(publish(settings, corpus.mentions))
    workers: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        workers.append(start_worker(**SPIKE_ENV))
        return workers[-1]

    recovery = disrupt(start)
    outcome = verify(settings, corpus)
    ROWS.append((name, outcome, recovery))
    late = {
        brand: sum(metric_sum(samples_of(w), "brandmon_late_mentions_total", brand=brand) for w in workers)
        for brand in ("acme", "globex", "initech")
    }
    assert_exact(outcome, f"{outcome.alerts_detail}; late mentions {late}")


def test_sigterm_mid_stream_and_restart(settings: Settings, start_worker) -> None:
    def disrupt(start: Callable[[], WorkerProcess]) -> float:
        first = start()
        mid_stream(first, 4_000)
        first.kill(signal.SIGTERM)
        stopped = time.monotonic()
        assert first.process.returncode is not None
        second = start()
        wait_for(lambda: scored_so_far(second) > 0, 90, "the restarted worker to score")
        return time.monotonic() - stopped

    run_scenario("SIGTERM, restart", settings, start_worker, disrupt)


def test_a_restart_storm_during_the_burst(settings: Settings, start_worker) -> None:
    def disrupt(start: Callable[[], WorkerProcess]) -> float:
        worker = start()
        recoveries = []
        for _ in range(3):
            mid_stream(worker, 1_500)
            worker.kill()
            killed = time.monotonic()
            worker = start()
            wait_for(lambda w=worker: scored_so_far(w) > 0, 90, "the restarted worker to score")
            recoveries.append(time.monotonic() - killed)
        return max(recoveries)

    run_scenario("3 x kill -9 storm", settings, start_worker, disrupt)


def test_two_workers_one_killed_and_restarted(settings: Settings, start_worker) -> None:
    """The survivor takes the dead worker's partitions over (takeover time recorded), then the
    restarted one takes some back: both moves rebuild spike state and must not change the output."""

    def disrupt(start: Callable[[], WorkerProcess]) -> float:
        survivor, victim = start(), start()
        wait_for(
            lambda: owned_partitions(survivor) and owned_partitions(victim),
            90,
            "both workers to own partitions",
        )
        mid_stream(victim, 1_000)
        taken = owned_partitions(victim)
        victim.kill()
        killed = time.monotonic()
        wait_for(lambda: taken <= owned_partitions(survivor), 90, "the survivor to take the partitions over")
        takeover = time.monotonic() - killed
        start()
        return takeover

    run_scenario("2 workers, one killed + restarted", settings, start_worker, disrupt)
