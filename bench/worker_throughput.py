"""Mentions per second of a real `brandmon worker` on the embedded broker, against its own core.

Run: `make bench` (or `python -m bench.worker_throughput --mentions 60000`).

The same simulated mentions (demo brands, seeded) go two ways in one command:
1. baseline: `MentionProcessor.handle` in this process on the same batches the publisher builds,
   with an in-memory window store and an output sink that only collects the encoded records;
2. the worker: published through `MentionPublisher`, consumed by a `brandmon worker` subprocess;
   its rate is measured from the first to the last scored record seen on its /metrics.
The printed ratio is worker / baseline: what Kafka, Faust and the changelog cost on top of the work.
Progress is read from the worker's own counters, not from end offsets (the embedded broker
under-reports those).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bench.corpus import simulated
from brandmon.broker import EmbeddedBroker, free_port
from brandmon.config import load_config
from brandmon.partitioning import partition_for
from brandmon.processes import start_worker, stop_process
from brandmon.schemas import RAW_TOPIC, Mention
from brandmon.settings import Settings
from connectors.publisher import MentionPublisher, encode_mention
from streams.metrics import StreamMetrics
from streams.processor import MentionProcessor, RawMessage
from streams.scoring import MentionScorer
from streams.windows import MemoryWindowStore

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "brandmon" / "demo.yaml"


def batches(mentions: list[Mention], settings: Settings) -> list[tuple[int, bytes]]:
    """The raw messages the publisher would send: per partition, up to `batch_max_mentions`."""
    by_partition: dict[int, list[bytes]] = {}
    for mention in mentions:
        by_partition.setdefault(partition_for(mention.id, settings.topic_partitions), []).append(
            encode_mention(mention)
        )
    size = settings.batch_max_mentions
    return [
        (partition, b'{"mentions":[' + b",".join(encoded[i : i + size]) + b"]}")
        for partition, encoded in by_partition.items()
        for i in range(0, len(encoded), size)
    ]


async def baseline(mentions: list[Mention], settings: Settings, config_path: Path) -> tuple[float, int]:
    """(mentions per second, scored records) of the processor core alone."""
    config = load_config(config_path)
    records: list[tuple[str, bytes | None, bytes]] = []

    async def collect(batch: list[tuple[str, bytes | None, bytes]]) -> None:
        records.extend(batch)

    processor = MentionProcessor(
        MentionScorer(config.brands, config.languages),
        StreamMetrics((b.id for b in config.brands), CollectorRegistry()),
        collect,
        window_seconds=settings.window_seconds,
        dedup_ttl_seconds=settings.dedup_ttl_seconds,
        dedup_max_ids=settings.dedup_max_ids,
    )
    windows = MemoryWindowStore()
    raw = batches(mentions, settings)
    started = time.perf_counter()
    for offset, (partition, value) in enumerate(raw):
        await processor.handle(RawMessage(RAW_TOPIC, partition, offset, value), windows)
    elapsed = time.perf_counter() - started
    scored = sum(1 for topic, _, _ in records if topic.startswith("brandmon.mentions.scored"))
    return len(mentions) / elapsed, scored


def scored_so_far(metrics_url: str) -> float:
    try:
        with urllib.request.urlopen(metrics_url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "brandmon_mentions"
        for sample in family.samples
        if sample.name == "brandmon_mentions_total"
    )


async def worker_rate(mentions: list[Mention], expected_records: int, config_path: Path) -> float:
    """Mentions per second of a worker subprocess over the span it was busy."""
    broker = EmbeddedBroker().start()
    data_dir = Path(tempfile.mkdtemp(prefix="brandmon-bench-"))
    settings = Settings(kafka_bootstrap=broker.bootstrap, data_dir=data_dir)
    try:
        async with MentionPublisher(settings, broker.bootstrap) as publisher:
            await publisher.publish(mentions)
        port = free_port()
        worker = start_worker(broker.bootstrap, config_path, port, data_dir)
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            first_seen: tuple[float, float] | None = None
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = scored_so_far(url)
                now = time.monotonic()
                if done and first_seen is None:
                    first_seen = (now, done)
                if done >= expected_records and first_seen is not None:
                    records_per_mention = expected_records / len(mentions)
                    return (done - first_seen[1]) / records_per_mention / (now - first_seen[0])
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited; see {data_dir / 'worker.log'}")
                await asyncio.sleep(0.05)
            raise TimeoutError(f"worker scored {scored_so_far(url)} of {expected_records} records")
        finally:
            stop_process(worker)
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=60_000)
    parser.add_argument("--config", type=Path, default=DEMO_CONFIG)
    args = parser.parse_args()
    mentions = simulated(args.mentions, args.config)
    texts = sum(len(m.text) for m in mentions) / len(mentions)
    print(f"{len(mentions)} simulated mentions, mean text {texts:.0f} chars, demo brands")
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="brandmon-bench-")))
    core, records = asyncio.run(baseline(mentions, settings, args.config))
    print(f"baseline  processor core in-process: {core:9,.0f} mentions/s ({records} scored records)")
    worker = asyncio.run(worker_rate(mentions, records, args.config))
    print(f"worker    brandmon worker via Kafka: {worker:9,.0f} mentions/s")
    print(f"ratio     worker / baseline:         {worker / core:9.2f}")


if __name__ == "__main__":
    main()
