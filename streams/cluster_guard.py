"""Refuse a Kafka cluster that is not the one the worker's state came from.

The embedded broker keeps everything in memory: restarted on the same port it is an empty
cluster. Faust reconnects to it without an error, rejoins, commits offsets and writes changelog
records the new cluster has no topic for (the broker acknowledges them and drops them), and a
worker started later hung in table recovery. A managed Kafka can be replaced behind the same
address, or have a topic deleted, with the same effect.

So the worker asks the cluster once a second for its id and for the topics it works on. When the
id changes, or a topic it had seen is gone, it logs CRITICAL and exits at once with
`EXIT_CLUSTER_CHANGED` (75, EX_TEMPFAIL) without a graceful stop, which would commit offsets and
flush changelogs into the wrong cluster. Its supervisor (systemd `Restart=on-failure`, compose
`restart:`, Kubernetes) starts a fresh worker, which builds its state from what the new cluster
holds. While the cluster cannot be reached nothing is decided: an outage is not a new cluster.

`ClusterGuard` decides (pure); `brandmon.kafka.read_cluster` asks Kafka;
`guard_cluster` runs both. `guard_task` is what the worker starts: it also lets the lag metrics
read the consumer's partition ends (`raw_ends`), the other comparison of the worker with
what the cluster holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from brandmon.kafka import ClusterView, client_kwargs, read_cluster
from brandmon.schemas import RAW_TOPIC, SCORED_TOPIC
from brandmon.settings import Settings
from streams.metrics import PartitionEnd, StreamMetrics

log = logging.getLogger(__name__)

EXIT_CLUSTER_CHANGED = 75
CHECK_INTERVAL_SECONDS = 1.0


class ClusterGuard:
    """Remembers the first cluster id and every topic seen; says what changed since."""

    def __init__(self) -> None:
        self.cluster_id: str | None = None
        self.seen_topics: set[str] = set()

    def check(self, view: ClusterView) -> str | None:
        """None while `view` is the cluster first seen, else what shows it is another one."""
        changes = []
        if view.cluster_id is not None:
            if self.cluster_id is None:
                self.cluster_id = view.cluster_id
            elif view.cluster_id != self.cluster_id:
                changes.append(f"its cluster id changed from {self.cluster_id} to {view.cluster_id}")
        gone = self.seen_topics - view.topics
        if gone:
            changes.append(f"topics it had are gone: {', '.join(sorted(gone))}")
        self.seen_topics |= view.topics
        return "; ".join(changes) or None


def _exit_now(code: int) -> NoReturn:
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(code)


def watched_topics(app: Any) -> list[str]:
    """The stream topics and the changelog topic of every table of the Faust app."""
    changelogs = [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    return [RAW_TOPIC, SCORED_TOPIC, *changelogs]


async def guard_cluster(
    app: Any,
    settings: Settings,
    bootstrap: str,
    exit_now: Callable[[int], NoReturn] = _exit_now,
) -> None:
    """Background task of `brandmon worker`: exit as described above when the cluster changes."""
    client = AIOKafkaClient(**client_kwargs(settings, bootstrap))
    guard = ClusterGuard()
    topics = watched_topics(app)
    unreachable_since: float | None = None
    bootstrapped = False
    try:
        while True:
            try:
                if not bootstrapped:
                    await client.bootstrap()
                    bootstrapped = True
                view = await read_cluster(client, topics)
            except (KafkaError, TimeoutError, OSError) as error:
                if unreachable_since is None:
                    unreachable_since = time.monotonic()
                    log.warning("cluster check: Kafka at %s does not answer (%s)", bootstrap, error)
            else:
                if unreachable_since is not None:
                    log.warning(
                        "cluster check: Kafka at %s answers again after %.0f s",
                        bootstrap,
                        time.monotonic() - unreachable_since,
                    )
                    unreachable_since = None
                change = guard.check(view)
                if change is not None:
                    log.critical(
                        "The Kafka cluster at %s is not the one this worker's state came from: %s. "
                        "The broker restarted empty or was replaced, so the offsets and table "
                        "changelogs this worker holds are not there. Exiting with code %d without "
                        "committing anything; restart the worker (a supervisor does) to start "
                        "fresh from what the new cluster holds.",
                        bootstrap,
                        change,
                        EXIT_CLUSTER_CHANGED,
                    )
                    exit_now(EXIT_CLUSTER_CHANGED)
            await asyncio.sleep(CHECK_INTERVAL_SECONDS)
    finally:
        await client.close()


def raw_ends(app: Any) -> dict[int, PartitionEnd]:
    """{assigned raw-topic partition: high watermark of the last fetch response, committed offset}
    of a running Faust app (its monitor records each commit)."""
    consumer, committed = app.consumer, app.monitor.tp_committed_offsets
    ends = {}
    for tp in consumer.assignment():
        if tp.topic == RAW_TOPIC:
            highwater = consumer.highwater(tp)
            if highwater is not None and highwater >= 0:
                ends[tp.partition] = PartitionEnd(int(highwater), committed.get(tp))
    return ends


def guard_task(
    settings: Settings, bootstrap: str, metrics: StreamMetrics
) -> Callable[[Any], Awaitable[None]]:
    """The worker's background task (`app.task(...)`): lag metrics follow the consumer, and
    `guard_cluster` runs until the cluster changes."""

    async def guard(app: Any) -> None:
        metrics.follow(lambda: raw_ends(app))
        await guard_cluster(app, settings, bootstrap)

    return guard
