"""The throughput bench's input: seeded simulated mentions, loaded into the raw topic the way
connectors load them (`MentionPublisher`: batches of mentions per Kafka message, partitioned by
mention id), then read back so every run knows each message's partition, offset, timestamp and
mention count. `replay` writes the very same bytes into another broker."""

from __future__ import annotations

import asyncio
import bisect
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from brandmon.config import load_config
from brandmon.kafka import client_kwargs, ensure_topics
from brandmon.schemas import MAX_MESSAGE_BYTES, RAW_TOPIC, Mention
from brandmon.settings import Settings
from connectors.publisher import MentionPublisher
from connectors.simulator import Simulator

CORPUS_START = datetime(2026, 11, 2, 9, tzinfo=UTC)


def simulated(
    count: int,
    config_path: Path,
    *,
    seed: int = 11,
    start: datetime = CORPUS_START,
    end: datetime | None = None,
) -> list[Mention]:
    """`count` mentions of the config's brands from the simulator at 50 mentions/s (diurnal).

    With `end`, all times move so that the last mention is created at `end`: a backlog dated
    weeks back makes the spike tracker close weeks of empty buckets once the wall clock moves its
    watermark (minutes of blocked event loop), which is not what a throughput run should measure."""
    simulator = Simulator(load_config(config_path).brands, seed=seed, base_rate_per_second=50.0, start=start)
    mentions: list[Mention] = []
    t0 = start
    while len(mentions) < count:
        t1 = t0 + timedelta(minutes=10)
        mentions.extend(simulator.between(t0, t1))
        t0 = t1
    mentions = mentions[:count]
    if end is None or not mentions:
        return mentions
    shift = end - mentions[-1].created_at
    return [
        m.model_copy(update={"created_at": m.created_at + shift, "fetched_at": m.fetched_at + shift})
        for m in mentions
    ]


@dataclass(frozen=True, slots=True)
class Loaded:
    """One raw Kafka message as it sits in the broker."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    mentions: int


class Corpus:
    """The loaded messages; `progress` turns a worker's processed offsets into mentions done."""

    def __init__(self, messages: list[Loaded]) -> None:
        self.messages = sorted(messages, key=lambda m: (m.partition, m.offset))
        self.mentions = sum(m.mentions for m in self.messages)
        self._offsets: dict[int, list[int]] = {}
        self._done: dict[int, list[int]] = {}
        for message in self.messages:
            done = self._done.setdefault(message.partition, [])
            self._offsets.setdefault(message.partition, []).append(message.offset)
            done.append((done[-1] if done else 0) + message.mentions)

    @property
    def partitions(self) -> set[int]:
        return set(self._offsets)

    def progress(self, processed: dict[int, int]) -> int:
        """Mentions in the messages at or before each partition's last processed offset."""
        total = 0
        for partition, offset in processed.items():
            offsets = self._offsets.get(partition)
            if offsets:
                index = bisect.bisect_right(offsets, offset)
                total += self._done[partition][index - 1] if index else 0
        return total

    def first_created(self) -> datetime:
        """The earliest `created_at` (mentions go out in time order: it is in a first message)."""
        firsts = {m.partition: m for m in reversed(self.messages)}.values()
        return min(
            datetime.fromisoformat(mention["created_at"])
            for message in firsts
            for mention in orjson.loads(message.value)["mentions"]
        )

    def raw_times(self) -> dict[str, float]:
        """Mention id -> when its raw message was loaded (record timestamp, seconds)."""
        times: dict[str, float] = {}
        for message in self.messages:
            for mention in orjson.loads(message.value)["mentions"]:
                times[mention["id"]] = message.timestamp_ms / 1000
        return times


async def load(settings: Settings, bootstrap: str, mentions: list[Mention]) -> Corpus:
    """Publish `mentions` through `MentionPublisher` (it creates the topics), then read them back."""
    async with MentionPublisher(settings, bootstrap) as publisher:
        await publisher.publish(mentions)
    return await read_raw(settings, bootstrap, len(mentions))


async def read_raw(settings: Settings, bootstrap: str, expected: int, within: float = 300) -> Corpus:
    """The raw topic from the beginning until `expected` mentions were read (not to end offsets)."""
    consumer = AIOKafkaConsumer(
        RAW_TOPIC,
        **client_kwargs(settings, bootstrap),
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 2**20,
        max_partition_fetch_bytes=4 * MAX_MESSAGE_BYTES,
    )
    await consumer.start()
    messages: list[Loaded] = []
    count = 0
    deadline = time.monotonic() + within
    try:
        while count < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {count} of {expected} loaded mentions back")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    value = record.value or b""
                    size = len(orjson.loads(value).get("mentions", []))
                    messages.append(
                        Loaded(record.partition, record.offset, record.timestamp, record.key, value, size)
                    )
                    count += size
    finally:
        await consumer.stop()
    return Corpus(messages)


async def replay(settings: Settings, bootstrap: str, corpus: Corpus) -> Corpus:
    """The same messages (bytes, keys, partitions) into another broker; offsets and times are new."""
    await ensure_topics(settings, bootstrap)
    producer = AIOKafkaProducer(
        **client_kwargs(settings, bootstrap), linger_ms=5, max_request_size=MAX_MESSAGE_BYTES + 4096
    )
    await producer.start()
    try:
        futures = [
            await producer.send(RAW_TOPIC, value=m.value, key=m.key, partition=m.partition)
            for m in corpus.messages
        ]
        sent = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return Corpus(
        [
            replace(m, offset=meta.offset, timestamp_ms=meta.timestamp)
            for m, meta in zip(corpus.messages, sent, strict=True)
        ]
    )
