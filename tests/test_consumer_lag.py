"""A slow or stuck consumer shows in the worker's metrics within seconds and raises PipelineLag.

`brandmon_stream_lag_seconds` is computed at each scrape: while messages wait behind the newest
processed mention of a partition, it is how long ago that mention was fetched, so it grows by a
second every second even when nothing gets processed. What waits comes from the high watermarks of
the consumer's fetch responses (`brandmon_stream_backlog_messages`), which the embedded broker
reports exactly, unlike its ListOffsets end offsets.

Two ways a worker falls behind, each against real Prometheus with the shipped rules (`for:` cut
to one second, as in tests/test_alerting_end_to_end.py):
- slow: a backlog of about 60 s of its own work lands at once; its lag passes PipelineLag's 30 s
  while it works through it, and the alert fires about half a minute after the backlog landed;
- stuck: the process is stopped (SIGSTOP). It then serves no /metrics either: Prometheus sees the
  scrape fail, not a lag, so WorkerDown is the alert that fires, and PipelineLag has no data.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from brandmon.settings import Settings
from streams.metrics import PartitionEnd, StreamMetrics
from tests.conftest import WorkerProcess, wait_for
from tests.kafka_helpers import mention, publish
from tests.monitoring import Prometheus, prometheus
from tests.test_alerting_end_to_end import fast_rules
from tests.test_broker_outage import counted

SENTENCE = "Acme is great but the support was slow and I am not happy about the delivery times at all. "
TEXT = (SENTENCE * 4)[:300]
BACKLOG_SECONDS = 60
"""Size of the backlog in seconds of the worker's own measured work: well past the 30 s limit."""


def lag_sample(registry: CollectorRegistry, name: str, partition: int) -> float | None:
    return registry.get_sample_value(name, {"partition": str(partition)})


# --- the metric, without Kafka -----------------------------------------------------------------


def test_lag_grows_while_messages_wait_and_stands_still_when_caught_up() -> None:
    registry = CollectorRegistry()
    metrics = StreamMetrics(["acme"], registry)
    now = time.time()
    metrics.observe_partition(0, offset=41, newest_event=now - 100, newest_fetch=now - 100)
    metrics.observe_partition(1, offset=9, newest_event=now - 3, newest_fetch=now - 3)
    metrics.observe_partition(2, offset=5, newest_event=now - 60, newest_fetch=now - 60)
    caught_up = lag_sample(registry, "brandmon_stream_lag_seconds", 0)
    assert caught_up is not None
    assert 99 < caught_up < 101, "as of processing while nothing is known to wait"

    ends = {
        0: PartitionEnd(highwater=42, committed=None),  # nothing after offset 41
        1: PartitionEnd(highwater=25, committed=10),  # 15 messages wait after offset 9
        2: PartitionEnd(highwater=8, committed=8),  # offsets 6 and 7 were a deletion and a dead letter
    }
    metrics.follow(lambda: ends)
    time.sleep(1.1)
    assert lag_sample(registry, "brandmon_stream_lag_seconds", 0) == caught_up, "caught up: stands"
    assert lag_sample(registry, "brandmon_stream_backlog_messages", 0) == 0
    assert lag_sample(registry, "brandmon_stream_backlog_messages", 2) == 0, "committed counts too"
    waiting = lag_sample(registry, "brandmon_stream_lag_seconds", 1)
    assert waiting is not None
    assert waiting > 4, "measured now: the seconds nothing was processed count"
    assert lag_sample(registry, "brandmon_stream_backlog_messages", 1) == 15


def test_only_assigned_partitions_are_reported_and_a_failing_lookup_fails_no_scrape() -> None:
    registry = CollectorRegistry()
    metrics = StreamMetrics(["acme"], registry)
    now = time.time()
    metrics.observe_partition(2, offset=7, newest_event=now, newest_fetch=now - 900)
    metrics.observe_partition(3, offset=7, newest_event=now, newest_fetch=now - 1)
    # partition 2 went to another worker in a rebalance; nothing was processed yet on 5
    metrics.follow(lambda: {3: PartitionEnd(8, 8), 5: PartitionEnd(30, 12)})
    assert lag_sample(registry, "brandmon_stream_lag_seconds", 2) is None
    assert lag_sample(registry, "brandmon_stream_lag_seconds", 3) is not None
    assert lag_sample(registry, "brandmon_stream_lag_seconds", 5) is None, "no mention to time"
    assert lag_sample(registry, "brandmon_stream_backlog_messages", 5) == 18

    def broken() -> dict[int, PartitionEnd]:
        raise RuntimeError("consumer not started")

    metrics.follow(broken)
    lag = lag_sample(registry, "brandmon_stream_lag_seconds", 2)
    assert lag is not None
    assert lag >= 900, "reported as of processing, this once"
    assert lag_sample(registry, "brandmon_stream_backlog_messages", 3) is None


# --- real worker, real Prometheus --------------------------------------------------------------


def _firing(prom: Prometheus, name: str) -> list[dict[str, Any]]:
    return [a for a in prom.alerts() if a["labels"]["alertname"] == name and a["state"] == "firing"]


@pytest.mark.broker
def test_a_worker_slower_than_its_input_raises_pipeline_lag_within_a_minute(
    settings: Settings, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    worker = start_worker()
    asyncio.run(publish(settings, [mention(0, "acme warm-up")]))
    wait_for(lambda: counted(worker) == 1, 60, "the worker to count a first mention")

    sample = 3000  # measure the worker's own speed on these mentions, so the backlog fits the machine
    started = time.monotonic()
    asyncio.run(publish(settings, [mention(n, f"acme {n} {TEXT}") for n in range(1, sample + 1)]))
    wait_for(lambda: counted(worker) == sample + 1, 60, "the worker to count the sample")
    per_second = sample / (time.monotonic() - started)

    with prometheus(tmp_path / "prom", [f"127.0.0.1:{worker.metrics_port}"], [fast_rules(tmp_path)]) as prom:
        wait_for(lambda: bool(prom.query("brandmon_stream_lag_seconds")), 20, "a first scrape")
        backlog = int(per_second * BACKLOG_SECONDS)
        first = sample + 1
        asyncio.run(
            publish(settings, [mention(n, f"acme {n} {TEXT}") for n in range(first, first + backlog)])
        )
        what = f"PipelineLag within a minute of {backlog} mentions landing (worker: {per_second:.0f}/s)"
        wait_for(lambda: bool(_firing(prom, "PipelineLag")), 60, what)
        alert = _firing(prom, "PipelineLag")[0]
        active = datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", alert["activeAt"]))
        waiting = prom.query(f"max(brandmon_stream_backlog_messages @ {active.timestamp():.3f})")
    assert alert["labels"]["severity"] == "warning"
    assert float(alert["value"]) > 30
    assert float(waiting[0]["value"][1]) > 0, "messages were waiting when the lag crossed 30 s"


@pytest.mark.broker
def test_a_stopped_worker_is_worker_down_not_pipeline_lag(
    settings: Settings, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """SIGSTOP freezes the whole process, its /metrics server too. The shipped WorkerDown rule
    selects `job="brandmon-worker"`; the test Prometheus calls its one job `brandmon`."""
    worker = start_worker()
    asyncio.run(publish(settings, [mention(n, f"acme {n}") for n in range(50)]))
    wait_for(lambda: counted(worker) == 50, 60, "the worker to count 50 mentions")
    rules = fast_rules(tmp_path)
    rules.write_text(rules.read_text().replace('job="brandmon-worker"', 'job="brandmon"'))
    with prometheus(tmp_path / "prom", [f"127.0.0.1:{worker.metrics_port}"], [rules]) as prom:
        wait_for(lambda: prom.query("up == 1") != [], 20, "a first scrape")
        worker.process.send_signal(signal.SIGSTOP)
        try:
            asyncio.run(publish(settings, [mention(n, f"acme {n}") for n in range(50, 100)]))
            wait_for(lambda: bool(_firing(prom, "WorkerDown")), 30, "WorkerDown to fire")
            assert not _firing(prom, "PipelineLag"), "a process that answers nothing reports no lag"
        finally:
            worker.process.send_signal(signal.SIGCONT)
    wait_for(lambda: counted(worker) == 100, 60, "the worker to catch up once it runs again")
