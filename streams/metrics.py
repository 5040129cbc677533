"""Prometheus metrics of the stream worker.

Label values come only from bounded sets: configured brand ids, known source kinds (anything else
is `other`), sentiment labels, dead-letter reasons and partition numbers. Never text, terms or
authors. Metrics live on an injectable registry so tests read exact values from their own.
"""

from __future__ import annotations

import contextlib
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Info, Summary
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from brandmon import __version__
from brandmon.schemas import DeadLetterReason, Severity

KNOWN_SOURCES = frozenset(
    {"rss", "mastodon", "bluesky", "hackernews", "reddit", "webhook", "replay", "simulator"}
)
SENTIMENT_LABELS = ("negative", "neutral", "positive", "none")


def source_label(source: str) -> str:
    return source if source in KNOWN_SOURCES else "other"


class _Progress(NamedTuple):
    offset: int
    fetched: float
    processed: float


class PartitionEnd(NamedTuple):
    """Where an assigned raw-topic partition ends, and the consumer's committed offset in it."""

    highwater: int
    committed: int | None


class PartitionLag(Collector):
    """`brandmon_stream_lag_seconds` and `brandmon_stream_backlog_messages`, computed at scrape time.

    Lag is how long ago the newest processed mention of the partition was fetched: measured now
    while messages wait behind it, so a slow or stuck consumer's lag grows by a second every
    second even when nothing is processed; when nothing waits, as of its processing. What waits
    runs from the next message to process (the committed offset, or the one after the last
    processed mention if that is further: a deletion or a dead letter moves only the former) to
    the high watermark of the consumer's fetch responses (`follow`), which the embedded broker
    reports exactly (its ListOffsets answer lags behind by up to a record batch). Only partitions
    the worker is assigned are reported once it follows a consumer, so a worker that lost a
    partition in a rebalance does not keep reporting it.
    """

    def __init__(self) -> None:
        self.progress: dict[int, _Progress] = {}
        self.ends: Callable[[], Mapping[int, PartitionEnd]] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "brandmon_stream_lag_seconds",
            "Seconds since the newest processed mention of the partition was fetched: now while "
            "messages wait behind it, else as of its processing.",
            labels=["partition"],
        )
        backlog = GaugeMetricFamily(
            "brandmon_stream_backlog_messages",
            "Raw messages in the partition after the last one processed (from fetch high watermarks).",
            labels=["partition"],
        )
        now = time.time()
        ends = self._ends()
        progress = dict(self.progress)
        for partition in sorted(progress if ends is None else ends):
            done = progress.get(partition)
            label = [str(partition)]
            waiting = 0
            if ends is not None:
                end = ends[partition]
                after_done = None if done is None else done.offset + 1
                known = [offset for offset in (end.committed, after_done) if offset is not None]
                if not known:
                    continue
                waiting = max(0, end.highwater - max(known))
                backlog.add_metric(label, waiting)
            if done is not None:
                lag.add_metric(label, max(0.0, (now if waiting else done.processed) - done.fetched))
        yield lag
        yield backlog

    def _ends(self) -> Mapping[int, PartitionEnd] | None:
        if self.ends is None:
            return None
        try:
            return self.ends()
        except Exception:  # a scrape must not fail: report lag as if not following, this once
            return None


class StreamMetrics:
    def __init__(self, brands: Iterable[str], registry: CollectorRegistry) -> None:
        self.brands = frozenset(brands)
        self.mentions = Counter(
            "brandmon_mentions",
            "Mentions matched to a brand, by source and sentiment label (none: language not scored).",
            ["brand", "source", "sentiment"],
            registry=registry,
        )
        self.compound = Summary(
            "brandmon_sentiment_compound",
            "Sum and count of sentiment compound scores (-1..1) of scored mentions; sum/count = average.",
            ["brand"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "brandmon_dlq",
            "Raw values or mentions sent to the dead-letter topic.",
            ["reason"],
            registry=registry,
        )
        self.duplicates = Counter(
            "brandmon_duplicates", "Mentions dropped because their id was seen recently.", registry=registry
        )
        self.deletions = Counter(
            "brandmon_deletions", "Deletions of mentions reported by connectors.", registry=registry
        )
        self.replays_skipped = Counter(
            "brandmon_replays_skipped",
            "Window updates skipped because their source offset was already applied (after a restart).",
            registry=registry,
        )
        self.last_event = Gauge(
            "brandmon_stream_last_event_timestamp_seconds",
            "Event time (created_at) of the newest mention processed, per raw-topic partition.",
            ["partition"],
            registry=registry,
        )
        self.processed_offset = Gauge(
            "brandmon_stream_processed_offset",
            "Offset of the last raw message processed, per partition.",
            ["partition"],
            registry=registry,
        )
        self.lag = PartitionLag()
        registry.register(self.lag)
        self.spike_score = Gauge(
            "brandmon_spike_score",
            "Surprise of the brand's latest closed bucket, 0..1 (1: most unusual).",
            ["brand"],
            registry=registry,
        )
        self.spike_observed = Gauge(
            "brandmon_spike_observed_authors",
            "Distinct authors in the brand's latest closed spike-detection bucket.",
            ["brand"],
            registry=registry,
        )
        self.spike_expected = Gauge(
            "brandmon_spike_expected_authors",
            "Baseline (expected distinct authors) for that bucket.",
            ["brand"],
            registry=registry,
        )
        self.alerts_active = Gauge(
            "brandmon_alerts_active",
            "1 while the brand has an open spike alert of this severity.",
            ["brand", "severity"],
            registry=registry,
        )
        self.alerts = Counter(
            "brandmon_alerts",
            "Alert messages published, by state change.",
            ["brand", "state"],
            registry=registry,
        )
        self.late_mentions = Counter(
            "brandmon_late_mentions",
            "Mentions that arrived after their spike bucket closed (counted here, not in a bucket).",
            ["brand"],
            registry=registry,
        )
        self.future_mentions = Counter(
            "brandmon_future_mentions",
            "Mentions dated more than an hour ahead of the worker's clock, left out of spike detection.",
            ["brand"],
            registry=registry,
        )
        Info("brandmon_build", "brandmon build information.", registry=registry).info(
            {"version": __version__, "python": platform.python_version()}
        )
        for brand in self.brands:
            self.compound.labels(brand)
        for reason in get_args(DeadLetterReason):
            self.dead_letters.labels(reason)

    def observe_partition(
        self, partition: int, offset: int, newest_event: float, newest_fetch: float
    ) -> None:
        label = str(partition)
        self.processed_offset.labels(label).set(offset)
        self.last_event.labels(label).set(newest_event)
        self.lag.progress[partition] = _Progress(offset, newest_fetch, time.time())

    def follow(self, ends: Callable[[], Mapping[int, PartitionEnd]]) -> None:
        """Read {assigned raw-topic partition: its end} at each scrape (see PartitionLag). Called
        from the scrape thread: it must not block; when it raises, that scrape reports lag as of
        processing and no backlog."""
        self.lag.ends = ends

    def forget_spike_gauges(self, brand: str) -> None:
        """Remove a brand's spike series: the worker that took its partition over exports them now."""
        for gauge in (self.spike_score, self.spike_observed, self.spike_expected):
            with contextlib.suppress(KeyError):
                gauge.remove(brand)
        for severity in get_args(Severity):
            with contextlib.suppress(KeyError):
                self.alerts_active.remove(brand, severity)
