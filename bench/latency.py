"""Live runs of one `brandmon worker` on a fresh embedded broker:

- steady: mentions published at a constant rate (2,000/s) with `created_at` set to the moment
  they are published; latency is the scored record's Kafka timestamp (set by the worker's producer
  when it sends the record) minus `created_at`. It includes the publisher's batching (up to
  `batch_linger_ms`, 200 ms), the broker, the fetch and the processing.
- burst: the demo's world (8 mentions/s, 40 minutes of simulated past first, so baselines exist)
  and the demo's spike settings (10-second buckets, 3 s lateness); then a scripted rumour burst on
  the first brand, a step to 10 mentions/s. Delay = alert record's timestamp - burst start, also
  in buckets. The burst starts `phase` of the way into a bucket (0.5: mid-bucket, a typical case).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer

from bench.corpus import simulated
from bench.measure import Result, percentiles
from bench.worker_runs import WORKER_SETTINGS, Workers, wait_for_assignment, wait_until_up
from brandmon.broker import EmbeddedBroker
from brandmon.config import load_config
from brandmon.demo import DEMO_BURST_PEAK_PER_SECOND, DEMO_BURST_SECONDS, DEMO_HISTORY_SECONDS
from brandmon.kafka import client_kwargs, ensure_topics
from brandmon.schemas import ALERTS_TOPIC, SCORED_TOPIC, Mention
from brandmon.settings import Settings
from connectors.live_simulation import SimulationPlan, build_simulator
from connectors.publisher import MentionPublisher

Seen = list[tuple[bytes, float]]
"""(record value, record timestamp in seconds) as consumed."""


async def _consume(settings: Settings, bootstrap: str, topic: str, into: Seen, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        topic, **client_kwargs(settings, bootstrap), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=100)).values():
                into.extend((r.value or b"", r.timestamp / 1000) for r in records)
    finally:
        await consumer.stop()


async def _drain(
    workers: Workers, seen: Seen, ids: set[str], quiet: float = 10.0, limit: float = 300.0
) -> None:
    """Until every mention in `ids` has a scored record, or the worker's offsets, its scored count
    and the records read stood still for `quiet` s (the rest matched no brand)."""
    missing, read = set(ids), 0
    state: object = None
    since, deadline = time.monotonic(), time.monotonic() + limit
    while missing and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        workers.check_alive()
        for value, _ in seen[read:]:
            missing.discard(orjson.loads(value)["mention"]["id"])
        read = len(seen)
        progress = workers.progress()[0]
        now_state = (progress.offsets, progress.scored, read) if progress else None
        if now_state != state:
            state, since = now_state, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def _now(mentions: list[Mention]) -> list[Mention]:
    now = datetime.now(UTC)
    return [m.model_copy(update={"created_at": now, "fetched_at": now}) for m in mentions]


async def steady_latency(config_path: Path, data_root: Path, *, rate: float, seconds: float) -> Result:
    broker = EmbeddedBroker().start()
    settings = Settings(kafka_bootstrap=broker.bootstrap, data_dir=data_root)
    stop, seen = asyncio.Event(), Seen()
    workers: Workers | None = None
    try:
        await ensure_topics(settings, broker.bootstrap)
        total = int(rate * seconds)
        mentions = simulated(total + 4000, config_path, seed=5)
        warm_up, mentions = _now(mentions[:4000]), mentions[4000:]
        workers = Workers(broker.bootstrap, config_path, data_root, 1)
        await wait_until_up(workers)
        partitions = set(range(settings.topic_partitions))
        await wait_for_assignment(workers, settings, broker.bootstrap, warm_up, partitions)
        consumer = asyncio.create_task(_consume(settings, broker.bootstrap, SCORED_TOPIC, seen, stop))
        ids = {m.id for m in mentions}
        async with MentionPublisher(settings, broker.bootstrap) as publisher:
            started, sent = time.monotonic(), 0
            while sent < total:
                due = min(total, int((time.monotonic() - started) * rate))
                await publisher.publish(_now(mentions[sent:due]))
                sent = due
                workers.check_alive()
                await asyncio.sleep(0.01)
            achieved = total / (time.monotonic() - started)
        await _drain(workers, seen, ids)
        peak = max(workers.rss.final().values())
        stop.set()
        await consumer
    finally:
        stop.set()
        if workers is not None:
            workers.stop()
        broker.stop()
    latencies, scored_ids = [], set()
    for value, at in seen:
        mention = orjson.loads(value)["mention"]
        if mention["id"] in ids:
            scored_ids.add(mention["id"])
            latencies.append(at - datetime.fromisoformat(mention["created_at"]).timestamp())
    p50, p99 = percentiles(latencies)
    verdict = "met" if p99 is not None and p99 < 1.0 else "NOT met"
    note = f"{len(scored_ids):,} of {total:,} mentions matched a brand and were scored; p99 < 1 s {verdict}"
    return Result(
        f"steady {rate:,.0f}/s live, 1 worker (created -> scored)", total, achieved, p50, p99, peak, note
    )


async def burst_to_alert(config_path: Path, data_root: Path, *, live_before: float, phase: float) -> Result:
    config = load_config(config_path)
    bucket = int(WORKER_SETTINGS["BRANDMON_SPIKE_BUCKET_SECONDS"])
    broker = EmbeddedBroker().start()
    settings = Settings(kafka_bootstrap=broker.bootstrap, data_dir=data_root)
    stop, alerts = asyncio.Event(), Seen()
    workers: Workers | None = None
    brand = config.brands[0].id
    published, found, peak = 0, None, 0
    try:
        await ensure_topics(settings, broker.bootstrap)
        workers = Workers(broker.bootstrap, config_path, data_root, 1)
        await wait_until_up(workers)
        consumer = asyncio.create_task(_consume(settings, broker.bootstrap, ALERTS_TOPIC, alerts, stop))
        start = datetime.now(UTC)
        burst_at = (math.floor((start.timestamp() + live_before) / bucket) + phase) * bucket
        plan = SimulationPlan(
            seed=7,
            rate=8.0,
            burst_after=burst_at - start.timestamp(),
            burst_brand=brand,
            burst_ramp_seconds=0.0,
            burst_seconds=DEMO_BURST_SECONDS,
            burst_peak_per_second=DEMO_BURST_PEAK_PER_SECOND,
            history_seconds=DEMO_HISTORY_SECONDS,
        )
        simulator = build_simulator(config, plan, start)
        last = datetime.fromtimestamp(start.timestamp() - DEMO_HISTORY_SECONDS, UTC)
        async with MentionPublisher(settings, broker.bootstrap) as publisher:
            while found is None and time.time() < burst_at + 12 * bucket:
                now = datetime.now(UTC)
                batch = simulator.between(last, now)
                last = now
                await publisher.publish(batch)
                published += len(batch)
                workers.check_alive()
                await asyncio.sleep(0.25)
                found = next(((v, at) for v, at in alerts if _opened(v, brand) and at >= burst_at), None)
        peak = max(workers.rss.final().values())
        stop.set()
        with contextlib.suppress(Exception):
            await consumer
    finally:
        stop.set()
        if workers is not None:
            workers.stop()
        broker.stop()
    early = sum(1 for _, at in alerts if at < burst_at)
    scenario = f"burst -> alert, 1 worker ({bucket} s buckets)"
    if found is None:
        return Result(scenario, published, peak_rss=peak, note=f"NO alert within 12 buckets; {early} before")
    value, at = found
    delay = at - burst_at
    verdict = "met" if delay < 2 * bucket else "NOT met"
    opened_on = (datetime.fromisoformat(orjson.loads(value)["bucket_start"]).timestamp() - burst_at) / bucket
    note = (
        f"alert {delay:.1f} s = {delay / bucket:.2f} buckets after a step burst to "
        f"{DEMO_BURST_PEAK_PER_SECOND:.0f}/s on {brand} (started {phase:.1f} bucket in), opened on the "
        f"bucket starting {opened_on:+.1f} buckets from it; < 2 buckets {verdict}; {early} alert(s) before"
    )
    return Result(scenario, published, None, delay, None, peak, note)


def _opened(value: bytes, brand: str) -> bool:
    alert = orjson.loads(value)
    return bool(alert["brand"] == brand and alert["state"] == "opened")
