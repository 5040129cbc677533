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
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from brandmon.kafka import client_kwargs, ensure_topics, read_cluster
from brandmon.partitioning import partition_for
from brandmon.schemas import MAX_MESSAGE_BYTES, RAW_TOPIC, Deletion, Mention
from brandmon.settings import Settings

log = logging.getLogger(__name__)
STOP_FLUSH_SECONDS = 30.0
EAGER_SEND_SECONDS = 1.0
_BATCH_OPEN = b'{"mentions":['
_BATCH_CLOSE = b"]}"


def encode_mention(mention: Mention) -> bytes:
    return orjson.dumps(mention.model_dump(mode="python"), option=orjson.OPT_UTC_Z)


@dataclass
class _Message:
    """One raw-topic message ready to send: a batch of mentions or a deletion."""

    key: bytes
    value: bytes
    mentions: int


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

    def message(self) -> _Message:
        value = _BATCH_OPEN + b",".join(self.encoded) + _BATCH_CLOSE
        return _Message(self.first_id.encode(), value, len(self.encoded))


@dataclass(eq=False)
class _Sent:
    """A message handed to the producer and not yet confirmed by `flush`."""

    partition: int
    message: _Message
    future: asyncio.Future[object]


class PublishError(Exception):
    """Kafka did not acknowledge everything in time; nothing was dropped, `flush` again."""


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
        self._queues: dict[int, deque[_Pending | _Message]] = {}
        self._unconfirmed: list[_Sent] = []
        self._flushing = asyncio.Lock()
        self._sending = asyncio.Lock()  # one sender at a time: order kept, nothing popped unseen
        self._cluster_id: str | None = None
        self._fresh_partitions: set[int] = set()  # of a topic created again: refuses a first record
        self._partitions = 0
        self._linger_task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.published = 0
        """Mentions Kafka acknowledged (confirmed by `flush`)."""

    async def start(self) -> None:
        """Start producing. Creates brandmon's topics first if missing: an auto-created topic (from a
        metadata request racing the worker) could leave the worker's assignment without it."""
        await ensure_topics(self._settings, self._bootstrap)
        await self._producer.start()
        partitions = await self._producer.partitions_for(self._topic)
        self._partitions = len(partitions)
        self._cluster_id = (await read_cluster(self._producer.client, [self._topic])).cluster_id
        self._linger_task = asyncio.create_task(self._linger_loop())

    async def stop(self) -> None:
        """Send what is buffered, wait for Kafka's acks, then close. Raises `TimeoutError` when
        Kafka does not acknowledge within `STOP_FLUSH_SECONDS` (the callers' cursors did not move)."""
        self._closing.set()
        if self._linger_task is not None:
            await self._linger_task
        try:
            async with asyncio.timeout(STOP_FLUSH_SECONDS):
                await self.flush()
        finally:
            await self._producer.stop()

    async def __aenter__(self) -> MentionPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self, mentions: Iterable[Mention]) -> None:
        """Buffer `mentions` (a full batch goes to the producer at once). Never raises for Kafka:
        `flush` tells whether everything arrived."""
        limit = self._settings.batch_max_mentions
        for mention in mentions:
            partition = partition_for(mention.id, self._partitions)
            encoded = encode_mention(mention)
            queue = self._queues.setdefault(partition, deque())
            if not queue or not isinstance(queue[-1], _Pending) or not queue[-1].fits(encoded, limit):
                queue.append(_Pending(first_id=mention.id))
            batch = queue[-1]
            assert isinstance(batch, _Pending)
            batch.add(encoded)
            if len(batch.encoded) >= limit:
                await self._try_send(partition)

    async def delete(self, deletions: Iterable[Deletion]) -> None:
        """Publish deletions, each keyed by the deleted mention's id so it lands on that mention's
        partition after anything still buffered there (a consumer sees the mention first)."""
        for deletion in deletions:
            partition = partition_for(deletion.id, self._partitions)
            value = orjson.dumps({"deletions": [deletion.model_dump(mode="python")]}, option=orjson.OPT_UTC_Z)
            self._queues.setdefault(partition, deque()).append(_Message(deletion.id.encode(), value, 0))
            await self._try_send(partition)

    async def flush(self) -> None:
        """Return once Kafka acknowledged everything handed over so far, on a cluster that has the
        topic; raises `PublishError` when a send failed. Nothing is dropped, and cancelling is
        safe (bound it with `asyncio.timeout`): what is not acknowledged stays queued or in flight
        (the producer keeps retrying while the broker is away) and the next `flush` carries on.

        After the acknowledgements it asks the cluster for its id and the topic. The embedded
        broker, restarted empty on the same address, acknowledges records for topics it does not
        have and shows them only once the topic is created: so a missing topic is created again
        here (and the first records after that, which it refuses, are sent once more)."""
        async with self._flushing:
            while True:
                try:
                    await self._send_all()
                except Exception as error:
                    raise PublishError(f"the producer refused a message: {error!r}") from error
                sent = list(self._unconfirmed)
                if not sent:
                    return
                waiting = [s.future for s in sent if not s.future.done()]
                if waiting:
                    await asyncio.wait(waiting)  # never cancels them, even when cancelled itself
                fresh = self._fresh_partitions
                if not await self._check_cluster():
                    self._fresh_partitions = fresh - {s.partition for s in sent}
                failed = [s for s in sent if s.future.cancelled() or s.future.exception() is not None]
                self._unconfirmed = [s for s in self._unconfirmed if s not in sent]
                self.published += sum(s.message.mentions for s in sent if s not in failed)
                if not failed:
                    return
                self._requeue(failed)
                if all(s.partition in fresh for s in failed):
                    continue
                reason = "cancelled" if failed[0].future.cancelled() else failed[0].future.exception()
                raise PublishError(f"{len(failed)} of {len(sent)} messages failed ({reason!r})")

    async def publish_and_wait(self, mentions: Iterable[Mention]) -> None:
        await self.publish(mentions)
        await self.flush()

    async def _check_cluster(self) -> bool:
        """Create the topics again when the cluster lacks ours; True when it did. Raises
        `PublishError` when no broker answers."""
        try:
            view = await read_cluster(self._producer.client, [self._topic])
        except (KafkaError, TimeoutError, OSError) as error:
            raise PublishError(
                f"Kafka at {self._bootstrap} does not say which cluster it is: {error!r}"
            ) from error
        if view.cluster_id != self._cluster_id:
            log.error(
                "Kafka at %s is another cluster than before (cluster id %s, was %s): what the old "
                "one acknowledged since the last check is gone with it",
                self._bootstrap,
                view.cluster_id,
                self._cluster_id,
            )
            self._cluster_id = view.cluster_id
        if self._topic in view.topics:
            return False
        log.error(
            "Kafka at %s has no topic %s: creating brandmon's topics again", self._bootstrap, self._topic
        )
        try:
            await ensure_topics(self._settings, self._bootstrap)
        except (KafkaError, TimeoutError, OSError) as error:
            raise PublishError(f"cannot create the topics again: {error!r}") from error
        self._fresh_partitions = set(range(self._partitions))
        return True

    def _requeue(self, sent: list[_Sent]) -> None:
        """Put sent messages back in front of their partition's queue, in their original order."""
        for item in reversed(sent):
            self._queues.setdefault(item.partition, deque()).appendleft(item.message)

    async def _send(self, partition: int) -> None:
        """Hand every queued message of `partition` to the producer, oldest first; one the producer
        refuses goes back in front and the error is raised."""
        async with self._sending:
            queue = self._queues.get(partition)
            while queue:
                item = queue.popleft()
                message = item.message() if isinstance(item, _Pending) else item
                try:
                    future = await self._producer.send(
                        self._topic, value=message.value, key=message.key, partition=partition
                    )
                except BaseException:
                    queue.appendleft(message)
                    raise
                self._unconfirmed.append(_Sent(partition, message, future))

    async def _send_all(self) -> None:
        for partition in list(self._queues):
            await self._send(partition)

    async def _try_send(self, partition: int) -> None:
        """`_send` for at most `EAGER_SEND_SECONDS` (the producer waits while Kafka is away);
        what it could not hand over stays queued for `flush`, which reports failures."""
        try:
            await asyncio.wait_for(self._send(partition), EAGER_SEND_SECONDS)
        except Exception as error:
            log.debug("send to partition %d deferred: %r", partition, error)

    async def _linger_loop(self) -> None:
        interval = max(self._settings.batch_linger_ms, 1) / 1000
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), interval)
            for partition in list(self._queues):
                await self._try_send(partition)
