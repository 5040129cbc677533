"""Rebuilding a partition's spike state from the scored topic after a restart or a takeover.

Spike detection keeps its baselines and open buckets in memory. Instead of losing them (a
restarted worker would relearn for a day and stay silent), a worker that gets a scored partition
re-reads it, up to the offset where its stream resumes, from `spike_rebuild_seconds` ago. The
alerts those records imply are compared with what the alerts topic already holds, by alert id,
state and bucket, and only the missing ones are published: the worker before may have crashed
after closing a bucket but before publishing its alert, or published it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from brandmon.kafka import client_kwargs
from brandmon.schemas import ALERTS_TOPIC, SCORED_TOPIC, Alert
from brandmon.settings import Settings
from streams.spike_tracker import SpikeTracker

log = logging.getLogger(__name__)
AlertKey = tuple[str, str, str]
MAX_IDLE_FETCHES = 10


def alert_key(alert: Alert) -> AlertKey:
    return (alert.alert_id, alert.state, alert.bucket_start.isoformat())


def _decode_alert(value: bytes | None) -> Alert | None:
    try:
        return Alert.model_validate_json(value) if value else None
    except ValidationError:
        return None


class ScoredHistory:
    """Reads scored partitions and the alerts topic with a consumer of its own (no group)."""

    def __init__(self, settings: Settings, bootstrap: str) -> None:
        self._settings = settings
        self._bootstrap = bootstrap

    async def _consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            **client_kwargs(self._settings, self._bootstrap), enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        return consumer

    async def _start_offset(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
        since_ms = int((time.time() - self._settings.spike_rebuild_seconds) * 1000)
        found = await consumer.offsets_for_times({tp: since_ms})
        if found.get(tp) is not None:
            return int(found[tp].offset)
        return int((await consumer.beginning_offsets([tp]))[tp])

    async def scored(self, partition: int, until_offset: int) -> AsyncIterator[bytes]:
        """Values of the scored partition from the rebuild horizon up to `until_offset` (excluded)."""
        consumer = await self._consumer()
        tp = TopicPartition(SCORED_TOPIC, partition)
        try:
            consumer.assign([tp])
            consumer.seek(tp, await self._start_offset(consumer, tp))
            idle = 0
            while await consumer.position(tp) < until_offset and idle < MAX_IDLE_FETCHES:
                batches = await consumer.getmany(tp, timeout_ms=1000, max_records=5000)
                idle = 0 if batches else idle + 1
                for record in batches.get(tp, []):
                    if record.offset >= until_offset:
                        return
                    if record.value is not None:
                        yield record.value
            if idle:
                log.error(
                    "scored partition %d ended before offset %d; rebuilt from what it holds",
                    partition,
                    until_offset,
                )
        finally:
            await consumer.stop()

    async def published_alerts(self, brands: set[str]) -> set[AlertKey]:
        """Keys of the alerts of `brands` already on the alerts topic (read until it is quiet)."""
        consumer = await self._consumer()
        keys: set[AlertKey] = set()
        try:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(ALERTS_TOPIC) or set()
            consumer.assign([TopicPartition(ALERTS_TOPIC, p) for p in partitions])
            await consumer.seek_to_beginning()
            while partitions:
                batches = await consumer.getmany(timeout_ms=500)
                if not batches:
                    break
                for records in batches.values():
                    for record in records:
                        alert = _decode_alert(record.value)
                        if alert is not None and alert.brand in brands:
                            keys.add(alert_key(alert))
        finally:
            await consumer.stop()
        return keys


async def rebuild_partition(
    tracker: SpikeTracker, history: ScoredHistory, partition: int, until_offset: int
) -> list[Alert]:
    """Replay `partition` into `tracker`; the implied alerts the alerts topic does not hold yet."""
    started = time.monotonic()
    values = [value async for value in history.scored(partition, until_offset)]
    alerts = tracker.replay(values, partition)
    brands = {alert.brand for alert in alerts}
    published = await history.published_alerts(brands) if brands else set()
    missing = [alert for alert in alerts if alert_key(alert) not in published]
    log.warning(
        "rebuilt spike state of scored partition %d from %d records in %.1f s; %d alerts implied, "
        "%d of them not yet published",
        partition,
        len(values),
        time.monotonic() - started,
        len(alerts),
        len(missing),
    )
    return missing
