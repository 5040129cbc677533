"""brandmon's murmur2 is Kafka's (aiokafka's copy of the Java client's), so mentions land where
any Kafka producer keying them by id puts them, and the stream can tell their raw partition."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from brandmon.partitioning import murmur2, partition_for


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=80))
def test_murmur2_is_aiokafkas(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


@given(st.text(max_size=60), st.integers(1, 64))
def test_a_mention_id_goes_where_kafkas_default_partitioner_puts_it(mention_id: str, partitions: int) -> None:
    every = list(range(partitions))
    assert partition_for(mention_id, partitions) == DefaultPartitioner()(mention_id.encode(), every, every)
