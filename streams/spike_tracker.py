"""All brands' monitors in one worker: scored records in, alert changes and gauges out.

The scored topic is keyed by brand, so each brand's records reach one worker; a monitor is
created on a brand's first record, and only brands this worker has seen export spike gauges.
The watermark is the oldest event time among the records that arrived in the last
ARRIVAL_WINDOW_SECONDS (and never moves back). Live, that is a few seconds ago. While the stream
catches up on a backlog, partitions are read interleaved and event times arrive out of order by
minutes or hours; the newest of them would turn the other partitions' mentions late, the oldest
still arriving does not. Once nothing arrived for that long, whatever was in flight is in, and
the watermark moves to the newest event time seen. When no record arrived for a whole bucket,
the wall clock (minus the allowed lateness) moves it on, so quiet buckets close and alerts resolve.

A worker that restarts, or takes a partition over from another, has no state for its brands:
`replay` rebuilds it from the scored records of that partition read again (event time drives the
watermark then), and `forget_partitions` drops the brands of a partition this worker lost, so
two workers never both export gauges for one brand.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import ValidationError

from brandmon.schemas import Alert, ScoredMention
from brandmon.settings import Settings
from streams.metrics import StreamMetrics
from streams.spike_detector import DetectorSettings
from streams.spike_monitor import BrandMonitor, MonitorSettings

log = logging.getLogger(__name__)
ARRIVAL_WINDOW_SECONDS = 3
FUTURE_TOLERANCE_SECONDS = 3600
"""Mentions dated further ahead of the clock are counted (`brandmon_future_mentions_total`) and
left out: one wrong timestamp must not move the watermark and close everyone's buckets."""


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
    ) -> None:
        self._names = dict(brand_names)
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self.monitors: dict[str, BrandMonitor] = {}
        self._watermark = 0.0
        self._newest_event = 0.0
        self._arrivals: deque[list[float]] = deque()
        """[arrival second, oldest event time that arrived in it], for the last few seconds."""
        self._last_arrival = 0.0
        self._partition_of: dict[str, int] = {}

    @staticmethod
    def decode(value: bytes) -> ScoredMention | None:
        """One scored record as read from the topic; an undecodable one is logged and skipped
        (the worker that wrote it validated it, so this means a foreign producer)."""
        try:
            return ScoredMention.model_validate_json(value)
        except ValidationError as error:
            log.warning("skipping a scored record that does not match the contract: %s", error)
            return None

    def add_json(self, value: bytes, partition: int | None = None) -> None:
        record = self.decode(value)
        if record is not None:
            self.add(record, partition)

    def add(self, record: ScoredMention, partition: int | None = None, *, counted: bool = True) -> None:
        """Count `record` into its brand's bucket. `counted=False` while replaying: the late and
        future mentions among them were counted in the metrics when they first arrived."""
        name = self._names.get(record.brand)
        if name is None or record.mention.edited_at is not None:  # an edit is not a new mention
            return
        if partition is not None:
            self._partition_of[record.brand] = partition
        event_time = record.mention.created_at.timestamp()
        now = self._clock()
        metrics = self._metrics if counted else None
        if event_time > now + FUTURE_TOLERANCE_SECONDS:
            if metrics is not None:
                metrics.future_mentions.labels(record.brand).inc()
            return
        monitor = self.monitors.get(record.brand)
        if monitor is None:
            monitor = self.monitors[record.brand] = BrandMonitor(record.brand, name, self._settings)
        if not monitor.add(record) and metrics is not None:
            metrics.late_mentions.labels(record.brand).inc()
        self._last_arrival = now
        self._newest_event = max(self._newest_event, event_time)
        second = float(int(now))
        if self._arrivals and self._arrivals[-1][0] == second:
            self._arrivals[-1][1] = min(self._arrivals[-1][1], event_time)
        else:
            self._arrivals.append([second, event_time])

    def advance(self) -> list[Alert]:
        """Close the buckets the watermark has passed; the alert changes that causes."""
        now = self._clock()
        while self._arrivals and self._arrivals[0][0] < now - ARRIVAL_WINDOW_SECONDS:
            self._arrivals.popleft()
        if self._arrivals:
            self._watermark = max(self._watermark, min(oldest for _, oldest in self._arrivals))
        else:
            self._watermark = max(self._watermark, self._newest_event)
        if self._last_arrival and now - self._last_arrival >= self._settings.bucket_seconds:
            self._watermark = max(self._watermark, now - self._settings.allowed_lateness_seconds)
        watermark = self._watermark
        return self._advance_to(watermark, now)

    def replay(self, values: Iterable[bytes], partition: int) -> list[Alert]:
        """Rebuild the state of `partition`'s brands from its scored records, oldest first.

        Buckets close as the newest event time passes them, as in a backtest. The alerts returned
        are those the records imply; the caller publishes the ones missing from the alerts topic
        (the worker before may have crashed between closing a bucket and publishing)."""
        alerts: list[Alert] = []
        newest = self._watermark
        for value in values:
            record = self.decode(value)
            if record is None:
                continue
            self.add(record, partition, counted=False)
            event_time = record.mention.created_at.timestamp()
            if event_time - newest >= self._settings.bucket_seconds and event_time <= self._clock():
                newest = event_time
                alerts += self._advance_to(newest, self._clock(), counted=False)
        self._watermark = max(self._watermark, newest)
        return alerts

    def forget_partitions(self, partitions: Iterable[int]) -> None:
        """Drop the brands of partitions another worker now owns, and their gauges."""
        lost = set(partitions)
        for brand in [b for b, p in self._partition_of.items() if p in lost]:
            del self._partition_of[brand]
            if self.monitors.pop(brand, None) is not None and self._metrics is not None:
                self._metrics.forget_spike_gauges(brand)

    def count_published(self, alerts: Iterable[Alert]) -> None:
        if self._metrics is not None:
            for alert in alerts:
                self._metrics.alerts.labels(alert.brand, alert.state).inc()

    def flush(self) -> list[Alert]:
        """Close everything up to the clock's now, as at the end of a replay."""
        now = self._clock()
        return self._advance_to(now, now)

    def _advance_to(self, watermark: float, now: float, *, counted: bool = True) -> list[Alert]:
        alerts: list[Alert] = []
        emitted_at = datetime.fromtimestamp(now, UTC)
        for monitor in self.monitors.values():
            alerts += monitor.advance(watermark, emitted_at)
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
