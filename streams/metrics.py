"""Prometheus metrics of the stream worker.

Label values come only from bounded sets: configured brand ids, known source kinds (anything else
is `other`), sentiment labels, dead-letter reasons and partition numbers. Never text, terms or
authors. Metrics live on an injectable registry so tests read exact values from their own.
"""

from __future__ import annotations

import contextlib
import platform
import time
from collections.abc import Iterable
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Info, Summary

from brandmon import __version__
from brandmon.schemas import DeadLetterReason, Severity

KNOWN_SOURCES = frozenset(
    {"rss", "mastodon", "bluesky", "hackernews", "reddit", "webhook", "replay", "simulator"}
)
SENTIMENT_LABELS = ("negative", "neutral", "positive", "none")


def source_label(source: str) -> str:
    return source if source in KNOWN_SOURCES else "other"


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
        self.lag = Gauge(
            "brandmon_stream_lag_seconds",
            "Processing time minus fetch time of the newest mention processed, per partition.",
            ["partition"],
            registry=registry,
        )
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
        self.lag.labels(label).set(max(0.0, time.time() - newest_fetch))

    def forget_spike_gauges(self, brand: str) -> None:
        """Remove a brand's spike series: the worker that took its partition over exports them now."""
        for gauge in (self.spike_score, self.spike_observed, self.spike_expected):
            with contextlib.suppress(KeyError):
                gauge.remove(brand)
        for severity in get_args(Severity):
            with contextlib.suppress(KeyError):
                self.alerts_active.remove(brand, severity)
