"""All brands' monitors in one worker: scored records in, alert changes and gauges out.

The scored topic is keyed by brand, so each brand's records reach one worker; a monitor is
created on a brand's first record, and only brands this worker has seen export spike gauges.
Buckets close on event time, per scored partition (see `streams.watermarks`).

A worker that restarts, or takes a partition over from another, has no state for its brands:
`replay` rebuilds it from the scored records of that partition read again (event time drives the
watermark then), and `forget_partitions` drops the brands of a partition this worker lost, so
two workers never both export gauges for one brand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import ValidationError

from brandmon.schemas import Alert, ScoredMention
from brandmon.settings import Settings
from streams.metrics import StreamMetrics
from streams.spike_detector import DetectorSettings
from streams.spike_monitor import BrandMonitor, MonitorSettings
from streams.watermarks import PartitionClock

log = logging.getLogger(__name__)
UNKNOWN_PARTITION = -1
MAX_BUCKETS_PER_ADVANCE = 500
"""Buckets one brand closes per live tick: a brand quiet for days must not block the worker's
event loop (every bucket runs the detector); the rest close on the next ticks."""
FUTURE_TOLERANCE_SECONDS = 3600
"""Mentions dated further ahead of the clock are counted (`brandmon_future_mentions_total`) and
left out: one wrong timestamp must not move the watermark and close everyone's buckets."""


_validate_json = ScoredMention.__pydantic_validator__.validate_json
"""`ScoredMention.model_validate_json` without its argument checks in Python (0.7 of ~9 us)."""


def monitor_settings(settings: Settings) -> MonitorSettings:
    detector = DetectorSettings.preset(settings.spike_sensitivity)
    if settings.spike_warmup_seconds is not None:
        detector = replace(detector, warmup_seconds=settings.spike_warmup_seconds, min_warmup_buckets=0)
    if settings.spike_resolve_seconds is not None:
        detector = replace(detector, resolve_seconds=settings.spike_resolve_seconds)
    if settings.spike_cooldown_seconds is not None:
        detector = replace(detector, cooldown_seconds=settings.spike_cooldown_seconds)
    return MonitorSettings(
        bucket_seconds=settings.spike_bucket_seconds,
        allowed_lateness_seconds=settings.spike_lateness_seconds,
        detector=detector,
        dashboard_url=settings.dashboard_url,
    )


class SpikeTracker:
    def __init__(
        self,
        brand_names: Mapping[str, str],
        settings: MonitorSettings,
        metrics: StreamMetrics | None = None,
        clock: Callable[[], float] = time.time,
        raw_partitions: int = 1,
    ) -> None:
        self._names = dict(brand_names)
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self.monitors: dict[str, BrandMonitor] = {}
        self._raw_partitions = raw_partitions
        self._clocks: dict[int, PartitionClock] = {}
        self._partition_of: dict[str, int] = {}
        """Scored partition of each brand seen (UNKNOWN_PARTITION when not told)."""

    @staticmethod
    def decode(value: bytes) -> ScoredMention | None:
        """One scored record as read from the topic; an undecodable one is logged and skipped
        (the worker that wrote it validated it, so this means a foreign producer)."""
        try:
            record: ScoredMention = _validate_json(value)
        except ValidationError as error:
            log.warning("skipping a scored record that does not match the contract: %s", error)
            return None
        return record

    def add_json(self, value: bytes, partition: int | None = None) -> None:
        record = self.decode(value)
        if record is not None:
            self.add(record, partition)

    def add(self, record: ScoredMention, partition: int | None = None, *, counted: bool = True) -> None:
        """Count `record` into its brand's bucket. `counted=False` while replaying: the late and
        future mentions among them were counted in the metrics when they first arrived."""
        brand, mention = record.brand, record.mention
        name = self._names.get(brand)
        if name is None or mention.edited_at is not None:  # an edit is not a new mention
            return
        if partition is not None or brand not in self._partition_of:
            self._partition_of[brand] = UNKNOWN_PARTITION if partition is None else partition
        event_time = mention.created_at.timestamp()
        now = self._clock()
        metrics = self._metrics if counted else None
        if event_time > now + FUTURE_TOLERANCE_SECONDS:
            if metrics is not None:
                metrics.future_mentions.labels(brand).inc()
            return
        monitor = self.monitors.get(brand)
        if monitor is None:
            monitor = self.monitors[brand] = BrandMonitor(brand, name, self._settings)
        if not monitor.add(record, event_time) and metrics is not None:
            metrics.late_mentions.labels(brand).inc()
        self._clock_of(brand).saw(mention.id, event_time, now)

    def _clock_of(self, brand: str) -> PartitionClock:
        partition = self._partition_of[brand]
        clock = self._clocks.get(partition)
        if clock is None:
            clock = self._clocks[partition] = PartitionClock(self._raw_partitions)
        return clock

    def advance(self) -> list[Alert]:
        """Close the buckets each partition's watermark has passed; the alert changes that causes."""
        now = self._clock()
        bucket, lateness = self._settings.bucket_seconds, self._settings.allowed_lateness_seconds
        watermarks = {p: clock.advance(now, bucket, lateness) for p, clock in self._clocks.items()}
        targets = {b: watermarks[p] for b, p in self._partition_of.items() if p in watermarks}
        return self._advance_to(targets, now, max_buckets=MAX_BUCKETS_PER_ADVANCE)

    def replay(self, values: Iterable[bytes], partition: int) -> list[Alert]:
        """Rebuild the state of `partition`'s brands from its scored records, oldest first.

        Buckets close as every raw partition's event time passes them. The alerts returned
        are those the records imply; the caller publishes the ones missing from the alerts topic
        (the worker before may have crashed between closing a bucket and publishing)."""
        alerts: list[Alert] = []
        clock = self._clocks.setdefault(partition, PartitionClock(self._raw_partitions))
        closed_to = clock.watermark
        for value in values:
            record = self.decode(value)
            if record is None:
                continue
            self.add(record, partition, counted=False)
            now = self._clock()
            watermark = clock.sources_watermark(now, idle_seconds=float("inf")) or 0.0
            if watermark - closed_to >= self._settings.bucket_seconds:
                closed_to = watermark
                brands = self._brands_in({partition})
                alerts += self._advance_to(dict.fromkeys(brands, closed_to), now, counted=False)
        clock.watermark = max(clock.watermark, closed_to)
        return alerts

    def forget_partitions(self, partitions: Iterable[int]) -> None:
        """Drop the brands of partitions another worker now owns, and their gauges."""
        lost = set(partitions)
        for partition in lost:
            self._clocks.pop(partition, None)
        for brand in self._brands_in(lost):
            del self._partition_of[brand]
            if self.monitors.pop(brand, None) is not None and self._metrics is not None:
                self._metrics.forget_spike_gauges(brand)

    def _brands_in(self, partitions: set[int]) -> list[str]:
        return [brand for brand, partition in self._partition_of.items() if partition in partitions]

    def count_published(self, alerts: Iterable[Alert]) -> None:
        if self._metrics is not None:
            for alert in alerts:
                self._metrics.alerts.labels(alert.brand, alert.state).inc()

    def flush(self) -> list[Alert]:
        """Close everything up to the clock's now, as at the end of a replay."""
        now = self._clock()
        return self._advance_to(dict.fromkeys(self.monitors, now), now)

    def _advance_to(
        self,
        watermarks: Mapping[str, float],
        now: float,
        *,
        counted: bool = True,
        max_buckets: int | None = None,
    ) -> list[Alert]:
        """Advance the monitors of the brands in `watermarks` to theirs."""
        alerts: list[Alert] = []
        emitted_at = datetime.fromtimestamp(now, UTC)
        for brand, watermark in watermarks.items():
            monitor = self.monitors.get(brand)
            if monitor is None:
                continue
            alerts += monitor.advance(watermark, emitted_at, max_buckets)
            self._export(monitor)
        if counted:
            self.count_published(alerts)
        return alerts

    def _export(self, monitor: BrandMonitor) -> None:
        if self._metrics is None or monitor.last_decision is None:
            return
        decision = monitor.last_decision
        brand = monitor.brand
        self._metrics.spike_score.labels(brand).set(decision.score)
        self._metrics.spike_observed.labels(brand).set(decision.observed)
        self._metrics.spike_expected.labels(brand).set(decision.expected)
        for severity in ("low", "medium", "high"):
            active = monitor.alerting and decision.severity == severity
            self._metrics.alerts_active.labels(brand, severity).set(1 if active else 0)
