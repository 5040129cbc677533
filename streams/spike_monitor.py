"""One brand's buckets, its spike detector and the alerts it raises, closed on event time.

Mentions are added to the bucket their `created_at` falls in. A bucket closes once the
watermark (the newest event time seen, or the wall clock when the stream is quiet) has passed
its end by the allowed lateness; empty buckets in between close as zeros, so a quiet brand is
scored too and Faust's `on_window_close` (which waits for a later event) is not needed. A
mention for a bucket that already closed is counted as late, never silently dropped.

The detected series is distinct authors per bucket: a spammer is one author however much they
post. Pure: no Kafka, no clock; the stream and `brandmon backtest mentions` share it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from brandmon import __version__
from brandmon.schemas import Alert, ScoredMention
from streams.alert_explanation import explain
from streams.buckets import BucketStats
from streams.spike_detector import Decision, DetectorSettings, SpikeDetector

DETECTOR = f"brandmon-spike/{__version__}"
HISTORY_BUCKETS = 180
"""Closed buckets kept for explanations: the spike itself and the time before it."""
MAX_GAP_SECONDS = 14 * 86400
"""A series that jumps further than this (a stray old timestamp, a long outage) restarts there
instead of closing millions of empty buckets; what it skips is counted as late."""


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    bucket_seconds: int = 60
    allowed_lateness_seconds: int = 120
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    dashboard_url: str | None = None
    """Template with `{brand}`, `{from_ms}` and `{to_ms}`, e.g. a Grafana dashboard URL."""


@dataclass(frozen=True, slots=True)
class Closed:
    bucket: BucketStats
    decision: Decision


class BrandMonitor:
    def __init__(self, brand: str, brand_name: str, settings: MonitorSettings) -> None:
        self.brand = brand
        self.brand_name = brand_name
        self.settings = settings
        self.detector = SpikeDetector(settings.bucket_seconds, settings.detector)
        self.open: dict[float, BucketStats] = {}
        self.open_ids: dict[float, set[str]] = {}
        """Mention ids per open bucket: a record delivered twice (at-least-once) counts once."""
        self.closed: deque[Closed] = deque(maxlen=HISTORY_BUCKETS)
        self.next_start: float | None = None
        """Start of the oldest bucket not closed yet; earlier buckets are closed."""
        self.late = 0
        self.alert_id: str | None = None
        self.alert_topic = "volume"
        self.first_seen: float | None = None
        self.run_start: float | None = None
        self.last_decision: Decision | None = None

    def bucket_start(self, timestamp: float) -> float:
        return timestamp - timestamp % self.settings.bucket_seconds

    def add(self, record: ScoredMention, event_time: float | None = None) -> bool:
        """Count a mention into its bucket; False (and counted as late) if that bucket has closed.
        `event_time` is its `created_at` as a timestamp, when the caller has it already."""
        mention = record.mention
        if event_time is None:
            event_time = mention.created_at.timestamp()
        start = event_time - event_time % self.settings.bucket_seconds
        if self.next_start is not None and start < self.next_start:
            self.late += 1
            return False
        ids = self.open_ids.get(start)
        if ids is None:
            ids = self.open_ids[start] = set()
        elif mention.id in ids:
            return True
        ids.add(mention.id)
        bucket = self.open.get(start)
        if bucket is None:
            bucket = self.open[start] = BucketStats(start=start)
        bucket.add(record)
        return True

    def advance(self, watermark: float, now: datetime, max_buckets: int | None = None) -> list[Alert]:
        """Close every bucket that ended `allowed_lateness` before `watermark` (at most
        `max_buckets` of them: the rest on the next call); return alert changes."""
        size = self.settings.bucket_seconds
        last_closable = self.bucket_start(watermark - self.settings.allowed_lateness_seconds) - size
        if self.next_start is None:
            if not self.open or min(self.open) > last_closable:
                return []
            self.next_start = min(self.open)
        if last_closable - self.next_start > MAX_GAP_SECONDS:
            restart = self.bucket_start(last_closable - MAX_GAP_SECONDS)
            for start in [start for start in self.open if start < restart]:
                self.late += self.open.pop(start).mentions
                self.open_ids.pop(start, None)
            self.next_start = restart
        alerts: list[Alert] = []
        budget = max_buckets if max_buckets is not None else -1
        while self.next_start <= last_closable and budget != 0:
            budget -= 1
            bucket = self.open.pop(self.next_start, None) or BucketStats(start=self.next_start)
            self.open_ids.pop(self.next_start, None)
            alert = self._close(bucket, now)
            if alert is not None:
                alerts.append(alert)
            self.next_start += size
        return alerts

    def _close(self, bucket: BucketStats, now: datetime) -> Alert | None:
        decision = self.detector.update(datetime.fromtimestamp(bucket.start, UTC), bucket.unique_authors)
        self.last_decision = decision
        self.closed.append(Closed(bucket, decision))
        calm = decision.surprise < self.settings.detector.close_decades
        if self.alert_id is None:
            self.run_start = (
                None if calm else (self.run_start if self.run_start is not None else bucket.start)
            )
        if decision.transition is None:
            return None
        if decision.transition == "opened":
            self.first_seen = self.run_start if self.run_start is not None else bucket.start
        assert self.first_seen is not None
        during = [c.bucket for c in self.closed if c.bucket.start >= self.first_seen]
        before = [c.bucket for c in self.closed if c.bucket.start < self.first_seen]
        explanation = explain(during, before)
        if decision.transition == "opened":
            self.alert_topic = explanation.topic
            self.alert_id = f"{self.brand}:{self.alert_topic}:{int(self.first_seen)}"
        alert = Alert(
            alert_id=self.alert_id or "",
            brand=self.brand,
            brand_name=self.brand_name,
            topic=self.alert_topic,
            state=decision.transition,
            severity=decision.severity or "low",
            score=decision.score,
            bucket_seconds=self.settings.bucket_seconds,
            bucket_start=decision.bucket_start,
            first_seen=datetime.fromtimestamp(self.first_seen, UTC),
            observed=int(decision.observed),
            expected=round(decision.expected, 3),
            mentions=bucket.mentions,
            driving_terms=explanation.terms,
            posts=explanation.posts,
            sources=explanation.sources,
            languages=explanation.languages,
            sentiment=explanation.sentiment,
            rumour=explanation.rumour(bucket.unique_authors, decision.expected),
            dashboard_url=self._dashboard_url(bucket.start),
            detector=DETECTOR,
            emitted_at=now,
        )
        if decision.transition == "resolved":
            self.alert_id, self.first_seen, self.run_start = None, None, None
        return alert

    def _dashboard_url(self, latest_start: float) -> str | None:
        template = self.settings.dashboard_url
        if template is None or self.first_seen is None:
            return None
        span = 30 * self.settings.bucket_seconds
        return template.format(
            brand=self.brand,
            from_ms=int((self.first_seen - span) * 1000),
            to_ms=int((latest_start + self.settings.bucket_seconds + span) * 1000),
        )

    @property
    def alerting(self) -> bool:
        return self.alert_id is not None
