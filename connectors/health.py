"""Connector health as Prometheus metrics, so "the source is down" differs from "the brand went quiet".

The `source` label is the configured instance name (a bounded set from the YAML config); error
kinds are a fixed set. Metrics live on an injectable registry (one `SourceMetrics` per process).
"""

from __future__ import annotations

import time
from typing import Literal, get_args

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

ErrorKind = Literal["rate_limited", "http_4xx", "http_5xx", "network", "parse", "publish"]


class SourceMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.last_success = Gauge(
            "brandmon_source_last_success_timestamp_seconds",
            "When the source last answered successfully (Unix time).",
            ["source"],
            registry=registry,
        )
        self.items = Counter(
            "brandmon_source_items",
            "Mentions read from the source and published.",
            ["source"],
            registry=registry,
        )
        self.deletions = Counter(
            "brandmon_source_deletions",
            "Deletions read from the source and published.",
            ["source"],
            registry=registry,
        )
        self.errors = Counter(
            "brandmon_source_errors",
            "Failed requests or items, by kind.",
            ["source", "kind"],
            registry=registry,
        )
        self.backoff = Gauge(
            "brandmon_source_backoff_seconds",
            "Current wait before the next request (0 when healthy).",
            ["source"],
            registry=registry,
        )

    def for_source(self, name: str) -> SourceHealth:
        return SourceHealth(self, name)


class SourceHealth:
    """The metrics of one source instance."""

    def __init__(self, metrics: SourceMetrics, name: str) -> None:
        self._metrics = metrics
        self.name = name
        for kind in get_args(ErrorKind):
            metrics.errors.labels(name, kind)
        metrics.backoff.labels(name).set(0)

    def success(self) -> None:
        self._metrics.last_success.labels(self.name).set(time.time())

    def error(self, kind: ErrorKind) -> None:
        self._metrics.errors.labels(self.name, kind).inc()

    def backing_off(self, seconds: float) -> None:
        self._metrics.backoff.labels(self.name).set(seconds)

    def published(self, mentions: int, deletions: int) -> None:
        self._metrics.items.labels(self.name).inc(mentions)
        self._metrics.deletions.labels(self.name).inc(deletions)
