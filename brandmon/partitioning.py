"""Where the raw topic holds a mention: part of the contract, shared by publishers and the stream.

The raw topic is partitioned by mention id with Kafka's default (murmur2) partitioner, so a
third-party producer keying single mentions by id lands them where brandmon's batches go, and
the stream can tell from an id which raw partition a mention came from.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(mention_id: str, partitions: int) -> int:
    """Kafka's default partition for a record keyed by `mention_id`."""
    return partition_of_key(mention_id.encode(), partitions)


def partition_of_key(key: bytes, partitions: int) -> int:
    """Kafka's default partition for a record with this key (murmur2, as the Java client)."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions
