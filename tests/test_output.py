"""The worker's batched producer on the real broker: every record arrives, once, where Kafka's
default partitioner puts its key (the scored topic is keyed by brand for every consumer)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from brandmon.kafka import client_kwargs
from brandmon.schemas import DLQ_TOPIC, SCORED_TOPIC
from brandmon.settings import Settings
from streams.output import OutputProducer, Record


async def _read_all(settings: Settings, topic: str, expected: int) -> list[tuple[int, bytes | None, bytes]]:
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings, settings.kafka_bootstrap or ""), enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        records: list[tuple[int, bytes | None, bytes]] = []
        for _ in range(50):
            for tp, batch in (await consumer.getmany(timeout_ms=200)).items():
                records += [(tp.partition, r.key, r.value) for r in batch]
            if len(records) >= expected:
                break
        return records
    finally:
        await consumer.stop()


def test_records_sent_in_batches_land_once_on_their_keys_default_partition(settings: Settings) -> None:
    brands = [f"brand-{i}" for i in range(40)]
    records: list[Record] = [(SCORED_TOPIC, brands[i % 40].encode(), b"%d" % i) for i in range(20_000)]
    records += [(DLQ_TOPIC, None, b"dead letter")]

    async def send() -> None:
        output = OutputProducer(client_kwargs(settings, settings.kafka_bootstrap or ""))
        await output.start()
        try:
            await output.send(records[:7])
            await output.send(records[7:])
        finally:
            await output.stop()

    asyncio.run(send())
    scored = asyncio.run(_read_all(settings, SCORED_TOPIC, 20_000))
    assert sorted(int(value) for _, _, value in scored) == list(range(20_000))
    partitions = sorted({p for p, _, _ in scored})
    assert len(partitions) > 1
    kafka_default = DefaultPartitioner()
    for partition, key, _ in scored:
        assert partition == kafka_default(key, list(range(settings.topic_partitions)), partitions)
    per_key_order: dict[bytes | None, int] = {}
    for _, key, value in scored:
        assert int(value) > per_key_order.get(key, -1), "records of one key stay in order"
        per_key_order[key] = int(value)
    assert [v for _, _, v in asyncio.run(_read_all(settings, DLQ_TOPIC, 1))] == [b"dead letter"]
