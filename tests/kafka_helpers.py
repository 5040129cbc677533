"""Reading and writing the real broker from tests: an independent view of what brandmon produced.

Never decide "done" from end offsets: the embedded broker under-reports them. Read until the
expected data is there or a timeout passes.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from brandmon.kafka import client_kwargs
from brandmon.schemas import Mention
from brandmon.settings import Settings
from connectors.publisher import MentionPublisher

WINDOW_CHANGELOG = "brandmon-brand-windows-changelog"


def mention(
    n: int, text: str, *, lang: str | None = "en", created_at: float | None = None, source: str = "mastodon"
) -> Mention:
    created = datetime.fromtimestamp(created_at if created_at is not None else time.time(), UTC)
    return Mention(
        id=f"{source}:{n}",
        source=source,
        text=text,
        lang_declared=lang,
        created_at=created,
        fetched_at=created,
        author={"id": f"u{n % 97}", "handle": f"@user{n % 97}"},
    )


async def publish(settings: Settings, mentions: Iterable[Mention]) -> None:
    async with MentionPublisher(settings, settings.kafka_bootstrap or "") as publisher:
        await publisher.publish(mentions)


async def produce_raw(settings: Settings, topic: str, values: Iterable[bytes]) -> None:
    producer = AIOKafkaProducer(**client_kwargs(settings, settings.kafka_bootstrap or ""))
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value=value, partition=0)
    finally:
        await producer.stop()


async def read_topic(
    settings: Settings,
    topic: str,
    done: Callable[[list[tuple[bytes | None, bytes]]], bool],
    give_up_after: float,
) -> list[tuple[bytes | None, bytes]]:
    """All (key, value) records of `topic` from the start, read until `done(records)` or for
    `give_up_after` seconds; the caller asserts on what was read."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings, settings.kafka_bootstrap or ""), enable_auto_commit=False
    )
    await consumer.start()
    records: list[tuple[bytes | None, bytes]] = []
    try:
        deadline = time.monotonic() + give_up_after
        assigned = False
        while time.monotonic() < deadline:
            if not assigned:
                partitions = consumer.partitions_for_topic(topic)
                if not partitions:
                    await consumer.topics()
                    await asyncio.sleep(0.2)
                    continue
                consumer.assign([TopicPartition(topic, p) for p in partitions])
                await consumer.seek_to_beginning()
                assigned = True
            batches = await consumer.getmany(timeout_ms=300)
            for batch in batches.values():
                records.extend((record.key, record.value) for record in batch)
            if done(records):
                break
    finally:
        await consumer.stop()
    return records


def window_counts(records: list[tuple[bytes | None, bytes]]) -> Counter[tuple[str, float]]:
    """Mentions per (brand, window start) from the window table's changelog, latest value per key."""
    latest: dict[bytes, bytes] = {}
    for key, value in records:
        if key is not None:
            latest[key] = value
    counts: Counter[tuple[str, float]] = Counter()
    for key, value in latest.items():
        table_key, (start, _end) = orjson.loads(key)
        stored = orjson.loads(value)
        if stored:
            counts[(table_key.rpartition("@")[0], float(start))] += int(stored[0])
    return counts


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of a /metrics page as {(name, sorted labels): value}."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric_sum(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and all((k, v) in sample_labels for k, v in labels.items())
    )
