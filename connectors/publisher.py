"""Publishes mentions to `brandmon.mentions.raw.v1` in batches, partitioned by mention id.

Faust pays about 110 us per Kafka message whatever the message holds, so one raw message carries
up to `batch_max_mentions` mentions (or what arrived within `batch_linger_ms`). Every mention in a
batch hashes to the same partition with Kafka's own murmur2 partitioner on its id, so a
third-party producer keying single mentions by id lands them where brandmon's batches go, and
dedup by id stays local to one partition.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from brandmon.kafka import client_kwargs, ensure_topics
from brandmon.schemas import MAX_MESSAGE_BYTES, RAW_TOPIC, Deletion, Mention
from brandmon.settings import Settings

_BATCH_OPEN = b'{"mentions":['
_BATCH_CLOSE = b"]}"


def partition_for(mention_id: str, partitions: int) -> int:
    """Kafka's default partition for a record keyed by `mention_id`."""
    hashed: int = murmur2(mention_id.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def encode_mention(mention: Mention) -> bytes:
    return orjson.dumps(mention.model_dump(mode="python"), option=orjson.OPT_UTC_Z)


@dataclass
class _Pending:
    """One raw message being filled: encoded mentions and the batch's JSON size so far."""

    first_id: str
    encoded: list[bytes] = field(default_factory=list)
    size: int = len(_BATCH_OPEN) + len(_BATCH_CLOSE)

    def fits(self, encoded: bytes, limit: int) -> bool:
        return len(self.encoded) < limit and self.size + len(encoded) + 1 <= MAX_MESSAGE_BYTES

    def add(self, encoded: bytes) -> None:
        self.encoded.append(encoded)
        self.size += len(encoded) + 1


class MentionPublisher:
    """Batching producer for raw mentions. `publish` buffers; `flush` returns once Kafka acked all.

    Connectors commit their cursors only after `flush` (or `publish_and_wait`) returned.
    """

    def __init__(self, settings: Settings, bootstrap: str, *, topic: str = RAW_TOPIC) -> None:
        self._settings = settings
        self._bootstrap = bootstrap
        self._topic = topic
        self._producer = AIOKafkaProducer(
            **client_kwargs(settings, bootstrap), linger_ms=5, max_request_size=MAX_MESSAGE_BYTES + 4096
        )
        self._pending: dict[int, deque[_Pending]] = {}
        self._in_flight: set[asyncio.Future[object]] = set()
        self._partitions = 0
        self._linger_task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._linger_error: BaseException | None = None
        self.published = 0

    async def start(self) -> None:
        """Start producing. Creates brandmon's topics first if missing: an auto-created topic (from a
        metadata request racing the worker) could leave the worker's assignment without it."""
        await ensure_topics(self._settings, self._bootstrap)
        await self._producer.start()
        partitions = await self._producer.partitions_for(self._topic)
        self._partitions = len(partitions)
        self._linger_task = asyncio.create_task(self._linger_loop())

    async def stop(self) -> None:
        """Send what is buffered, wait for Kafka's acks, then close. Never drops a popped batch."""
        self._closing.set()
        if self._linger_task is not None:
            await self._linger_task
        try:
            await self.flush()
        finally:
            await self._producer.stop()

    async def __aenter__(self) -> MentionPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self, mentions: Iterable[Mention]) -> None:
        self._raise_linger_error()
        limit = self._settings.batch_max_mentions
        for mention in mentions:
            partition = partition_for(mention.id, self._partitions)
            encoded = encode_mention(mention)
            batches = self._pending.setdefault(partition, deque())
            if not batches or not batches[-1].fits(encoded, limit):
                batches.append(_Pending(first_id=mention.id))
            batches[-1].add(encoded)
            if len(batches[-1].encoded) >= limit:
                await self._send(partition)

    async def delete(self, deletions: Iterable[Deletion]) -> None:
        """Publish deletions, each keyed by the deleted mention's id so it lands on that mention's
        partition after anything still buffered there (a consumer sees the mention first)."""
        self._raise_linger_error()
        for deletion in deletions:
            partition = partition_for(deletion.id, self._partitions)
            await self._send(partition)
            value = orjson.dumps({"deletions": [deletion.model_dump(mode="python")]}, option=orjson.OPT_UTC_Z)
            future = await self._producer.send(
                self._topic, value=value, key=deletion.id.encode(), partition=partition
            )
            self._in_flight.add(future)
            future.add_done_callback(self._in_flight.discard)

    async def flush(self) -> None:
        self._raise_linger_error()
        for partition in list(self._pending):
            await self._send(partition)
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight))

    async def publish_and_wait(self, mentions: Iterable[Mention]) -> None:
        await self.publish(mentions)
        await self.flush()

    async def _send(self, partition: int) -> None:
        """Send every buffered batch of `partition`, oldest first; a failed one goes back in front."""
        batches = self._pending.get(partition)
        while batches:
            pending = batches.popleft()
            value = _BATCH_OPEN + b",".join(pending.encoded) + _BATCH_CLOSE
            try:
                future = await self._producer.send(
                    self._topic, value=value, key=pending.first_id.encode(), partition=partition
                )
            except BaseException:
                batches.appendleft(pending)
                raise
            self._in_flight.add(future)
            future.add_done_callback(self._in_flight.discard)
            self.published += len(pending.encoded)

    def _raise_linger_error(self) -> None:
        if self._linger_error is not None:
            raise self._linger_error

    async def _linger_loop(self) -> None:
        interval = max(self._settings.batch_linger_ms, 1) / 1000
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), interval)
            try:
                for partition in list(self._pending):
                    await self._send(partition)
            except Exception as error:  # surfaced by the next publish/flush; the batch was put back
                self._linger_error = error
                return
