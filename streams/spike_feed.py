"""Spike detection's input: the scored topic, read in batches by a consumer group of its own.

The scored topic holds one record per scored mention. A Faust agent receives one event per
record at a framework cost of ~110 us each (../shared/notes), which made the spike agent 15-20% of
the worker's CPU; an aiokafka consumer hands over the same records in batches of thousands.

The group (`<group_id>-spikes`) assigns the scored topic's partitions, keyed by brand, so each
brand's records reach one worker. For a partition it gets, the worker first rebuilds the state of
its brands from the partition's history up to the group's committed offset (`spike_rebuild`);
for one it loses, it forgets them. Offsets are committed once a second and before a rebalance,
always after the records they cover are in the tracker's state; records delivered again after a
crash count once (monitors skip ids already in an open bucket). A group with no committed offset
starts at the partition's end, having rebuilt everything before it: history implies alerts that
the alerts topic may already hold, and only the rebuild publishes just the missing ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from brandmon.kafka import client_kwargs
from brandmon.schemas import SCORED_TOPIC, Alert
from brandmon.settings import Settings
from streams.spike_rebuild import ScoredHistory, rebuild_partition
from streams.spike_tracker import SpikeTracker
from streams.transport import FETCH_WAIT_MS

log = logging.getLogger(__name__)
COMMIT_INTERVAL_SECONDS = 1.0
RESTART_DELAY_SECONDS = 1.0

PublishAlerts = Callable[[list[Alert]], Awaitable[None]]


def spike_group(settings: Settings) -> str:
    return f"{settings.group_id}-spikes"


class SpikeFeed(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no stubs for it
    """Feeds `tracker` from the scored partitions this worker owns; `run_forever` until cancelled."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        tracker: SpikeTracker,
        publish: PublishAlerts,
        state: asyncio.Lock,
    ) -> None:
        self._settings = settings
        self._bootstrap = bootstrap
        self._tracker = tracker
        self._publish = publish
        self._state = state
        """Held while the tracker's state changes; the bucket-closing timer takes it too."""
        self._history = ScoredHistory(settings, bootstrap)
        self._consumer: AIOKafkaConsumer | None = None
        self._owned: set[int] = set()
        self._to_rebuild: set[int] = set()
        self._applied: dict[int, int] = {}
        """Per partition owned, the offset after the last record in the tracker's state."""
        self._committed: dict[int, int] = {}
        self._last_commit = 0.0

    async def run_forever(self) -> None:
        """`run`, started again after an unexpected error: spike detection must not stop quietly."""
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("spike feed failed; starting it again in %.0f s", RESTART_DELAY_SECONDS)
                await asyncio.sleep(RESTART_DELAY_SECONDS)

    async def run(self) -> None:
        timeout_ms = int(self._settings.session_timeout_seconds * 1000)
        self._consumer = consumer = AIOKafkaConsumer(
            **client_kwargs(self._settings, self._bootstrap),
            group_id=spike_group(self._settings),
            enable_auto_commit=False,
            auto_offset_reset="latest",
            session_timeout_ms=timeout_ms,
            heartbeat_interval_ms=timeout_ms // 5,
            fetch_max_wait_ms=FETCH_WAIT_MS,  # the raw stream's wait: a scored record waits no longer
        )
        await consumer.start()
        try:
            consumer.subscribe([SCORED_TOPIC], listener=self)
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                async with self._state:
                    await self._rebuild_new_partitions(consumer)
                    for tp, records in batches.items():
                        if tp.partition in self._owned:
                            self._add(tp.partition, records)
                if time.monotonic() - self._last_commit >= COMMIT_INTERVAL_SECONDS:
                    await self._commit()
        finally:
            self._consumer = None
            await consumer.stop()
            self._tracker.forget_partitions(self._owned)
            self._owned, self._to_rebuild = set(), set()
            self._applied.clear()
            self._committed.clear()

    def _add(self, partition: int, records: list[Any]) -> None:
        after = self._applied.get(partition, 0)
        for record in records:
            if record.offset >= after and record.value is not None:
                self._tracker.add_json(record.value, partition)
        self._applied[partition] = max(after, records[-1].offset + 1)

    async def _rebuild_new_partitions(self, consumer: AIOKafkaConsumer) -> None:
        for partition in sorted(self._to_rebuild):
            tp = TopicPartition(SCORED_TOPIC, partition)
            resume = await consumer.position(tp)
            missing = await rebuild_partition(self._tracker, self._history, partition, resume)
            if partition not in self._owned:  # lost while it was being rebuilt
                self._tracker.forget_partitions({partition})
                continue
            await self._publish(missing)
            self._tracker.count_published(missing)
            self._applied[partition] = resume
            self._to_rebuild.discard(partition)

    async def _commit(self) -> None:
        """Commit what is in the tracker's state; a failed commit is retried on the next one."""
        self._last_commit = time.monotonic()
        offsets = {
            TopicPartition(SCORED_TOPIC, p): offset
            for p, offset in self._applied.items()
            if p in self._owned and self._committed.get(p) != offset
        }
        if not offsets or self._consumer is None:
            return
        try:
            await self._consumer.commit(offsets)
        except Exception as error:  # an outage or a rebalance under way; the next commit covers it
            log.warning("spike feed: commit failed (%s); retried in %.0f s", error, COMMIT_INTERVAL_SECONDS)
            return
        self._committed.update({tp.partition: offset for tp, offset in offsets.items()})

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._commit()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        owned = {tp.partition for tp in assigned if tp.topic == SCORED_TOPIC}
        lost = self._owned - owned
        self._tracker.forget_partitions(lost)
        for partition in lost:
            self._applied.pop(partition, None)
            self._committed.pop(partition, None)
        self._to_rebuild = (self._to_rebuild & owned) | (owned - self._owned)
        self._owned = owned
        if lost or self._to_rebuild:
            log.warning(
                "spike feed: scored partitions %s (lost %s, to rebuild %s)",
                sorted(owned),
                sorted(lost),
                sorted(self._to_rebuild),
            )
