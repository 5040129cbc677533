"""The worker's own producer for what it derives: scored records, dead letters and alerts.

A raw message yields hundreds of scored records. aiokafka's `send()` costs ~8 us a record in
Python; filling one record batch per partition and submitting it with `send_batch` costs a
fraction of that. Records keep Kafka's default placement (murmur2 of the key, as
`brandmon.partitioning` computes it; a random partition without a key), so the scored topic stays
keyed by brand for every consumer.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from aiokafka import AIOKafkaProducer

from brandmon.partitioning import partition_of_key

MAX_REMEMBERED_KEYS = 100_000
Record = tuple[str, bytes | None, bytes]
"""(topic, key, value)."""


def default_partition(key: bytes | None, partitions: int) -> int:
    """Kafka's default partitioner: murmur2 of the key, any partition for a record without one."""
    if key is None:
        return random.randrange(partitions)
    return partition_of_key(key, partitions)


class OutputProducer:
    """Sends lists of records and returns once Kafka acknowledged all of them.

    A fresh aiokafka producer per agent start: an agent restarted by its supervisor gets a new one.
    """

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self._kwargs = kwargs
        self._producer: AIOKafkaProducer | None = None
        self._partitions: dict[str, int] = {}
        self._placements: dict[tuple[str, bytes], tuple[str, int]] = {}

    @property
    def running(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(**self._kwargs, linger_ms=2)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(self, records: list[Record]) -> None:
        if not records:
            return
        producer = self._producer
        if producer is None:
            raise RuntimeError("output producer used before start()")
        batches: dict[tuple[str, int], Any] = {}
        futures = []
        for topic, key, value in records:
            place = await self._place(topic, key)
            batch = batches.get(place)
            if batch is None:
                batch = batches[place] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:  # full: send, start another
                futures.append(await producer.send_batch(batch, place[0], partition=place[1]))
                batch = batches[place] = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(await producer.send(topic, value=value, key=key, partition=place[1]))
                    del batches[place]
        for (topic, partition), batch in batches.items():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)

    async def _place(self, topic: str, key: bytes | None) -> tuple[str, int]:
        """Where a record goes; remembered per key (brands), since murmur2 is Python code."""
        if key is None:
            return topic, default_partition(None, await self._partition_count(topic))
        place = self._placements.get((topic, key))
        if place is None:
            if len(self._placements) >= MAX_REMEMBERED_KEYS:
                self._placements.clear()
            place = (topic, default_partition(key, await self._partition_count(topic)))
            self._placements[(topic, key)] = place
        return place

    async def _partition_count(self, topic: str) -> int:
        count = self._partitions.get(topic)
        if count is None:
            assert self._producer is not None
            count = self._partitions[topic] = len(await self._producer.partitions_for(topic))
        return count
