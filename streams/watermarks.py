"""Event-time progress of one scored partition: how far a worker may close spike buckets.

Each scored partition is its own stream, read at its own pace (a worker may be hours into one
partition's backlog and minutes into another's), so each has its own watermark, like a Kafka
Streams task. Within a scored partition, records come from every raw partition, interleaved by
the worker that scored them; the raw topic is partitioned by mention id, so the id names the raw
partition. The watermark is the oldest of the raw partitions' newest event times: the raw
partition furthest behind holds it, so nothing the others ran ahead of is counted late. Only
once the partition is live (its newest event within a bucket and the lateness of the clock) does
a raw partition that delivered nothing for a whole bucket (at least MIN_IDLE_SECONDS) stop
holding it: while a backlog is read, a raw partition can go unread for many seconds on a loaded
machine. A raw partition not heard from yet holds it too (at the start of a backlog, the first
records come from whichever raw partition was read first), until the partition is live and one
idle period has passed. Within a raw partition the allowed lateness absorbs disorder. With no
raw partition delivering, it is the newest event time seen; after a whole bucket without any
record, the wall clock minus the allowed lateness. It never moves back.
"""

from __future__ import annotations

from brandmon.partitioning import partition_for

MIN_IDLE_SECONDS = 10.0


class PartitionClock:
    def __init__(self, raw_partitions: int) -> None:
        self.raw_partitions = max(1, raw_partitions)
        self.newest: dict[int, float] = {}
        self.arrived: dict[int, float] = {}
        self.watermark = 0.0
        self.last_arrival = 0.0
        self.first_arrival: float | None = None

    def saw(self, mention_id: str, event_time: float, now: float) -> None:
        source = partition_for(mention_id, self.raw_partitions) if self.raw_partitions > 1 else 0
        newest = self.newest.get(source)
        if newest is None or event_time > newest:
            self.newest[source] = event_time
        self.arrived[source] = now
        self.last_arrival = now
        if self.first_arrival is None:
            self.first_arrival = now

    def sources_watermark(self, now: float, idle_seconds: float) -> float | None:
        unheard = len(self.newest) < self.raw_partitions
        if unheard and (self.first_arrival is None or self.first_arrival >= now - idle_seconds):
            return None
        active = [t for source, t in self.newest.items() if self.arrived[source] >= now - idle_seconds]
        return min(active) if active else max(self.newest.values(), default=None)

    def advance(self, now: float, bucket_seconds: float, lateness_seconds: float) -> float:
        """The watermark at wall-clock `now`."""
        live = max(self.newest.values(), default=0.0) >= now - bucket_seconds - lateness_seconds
        idle_seconds = max(MIN_IDLE_SECONDS, bucket_seconds) if live else float("inf")
        candidate = self.sources_watermark(now, idle_seconds)
        if candidate is not None:
            self.watermark = max(self.watermark, candidate)
        if self.last_arrival and now - self.last_arrival >= bucket_seconds:
            self.watermark = max(self.watermark, now - lateness_seconds)
        return self.watermark
