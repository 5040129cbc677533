"""The worker's spike tracker: watermark from events or the quiet wall clock, gauges, replay."""

from __future__ import annotations

import random
import time
from datetime import timedelta

from prometheus_client import CollectorRegistry

from brandmon.partitioning import partition_for
from brandmon.schemas import ScoredMention, dumps
from streams.metrics import StreamMetrics
from streams.spike_monitor import MonitorSettings
from streams.spike_tracker import MAX_BUCKETS_PER_ADVANCE, SpikeTracker
from tests.test_spike_monitor import BUCKET, DAYS, START, background, record, rumour


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def history_with_rumour() -> list[ScoredMention]:
    rng = random.Random(2)
    records = list(background(rng, DAYS * 86400 // BUCKET))
    burst_at = START + timedelta(days=1, hours=14)
    for step in range(3):
        records += rumour(burst_at + timedelta(seconds=step * BUCKET), 40, 1_000_000 + step * 100)
    return sorted(records, key=lambda r: r.mention.created_at)


def test_tracker_publishes_the_lifecycle_and_exports_bounded_gauges() -> None:
    registry = CollectorRegistry()
    clock = Clock(START.timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme"},
        MonitorSettings(bucket_seconds=BUCKET, allowed_lateness_seconds=60),
        StreamMetrics(["acme"], registry),
        clock,
    )
    states = []
    for r in history_with_rumour():
        clock.now = r.mention.created_at.timestamp() + 1
        tracker.add_json(dumps(r))
        changes = [(a.state, a.severity) for a in tracker.advance()]
        if ("opened", changes[0][1] if changes else None) in changes:
            sample = registry.get_sample_value
            assert sample("brandmon_alerts_active", {"brand": "acme", "severity": changes[0][1]}) == 1
            assert sample("brandmon_spike_score", {"brand": "acme"}) >= 0.5
        states += changes
    clock.now += 6 * 3600
    states += [(a.state, a.severity) for a in tracker.advance()]
    assert states[0][0] == "opened"
    assert states[-1][0] == "resolved"
    sample = registry.get_sample_value
    assert sample("brandmon_alerts_total", {"brand": "acme", "state": "opened"}) == 1
    assert sample("brandmon_alerts_total", {"brand": "acme", "state": "resolved"}) == 1
    assert all(
        sample("brandmon_alerts_active", {"brand": "acme", "severity": s}) == 0
        for s in ("low", "medium", "high")
    )
    assert sample("brandmon_spike_score", {"brand": "acme"}) < 0.5


def test_a_quiet_stream_closes_buckets_on_the_wall_clock_and_resolves() -> None:
    clock = Clock(START.timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme"}, MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=30), clock=clock
    )
    tracker.add(record("Acme", "a", START, 1))
    clock.now += 30
    tracker.advance()
    assert len(tracker.monitors["acme"].closed) == 0, "not quiet for a whole bucket yet"
    clock.now += 600
    tracker.advance()
    assert len(tracker.monitors["acme"].closed) >= 9


def test_unknown_brands_and_foreign_records_are_ignored() -> None:
    tracker = SpikeTracker({"acme": "Acme"}, MonitorSettings())
    tracker.add_json(b'{"not": "a scored record"}')
    other = record("Globex", "a", START, 1).model_copy(update={"brand": "globex"})
    tracker.add(other)
    assert tracker.monitors == {}


def test_late_mentions_are_counted_per_brand() -> None:
    registry = CollectorRegistry()
    clock = Clock(START.timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme"},
        MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=0),
        StreamMetrics(["acme"], registry),
        clock,
    )
    tracker.add(record("Acme", "a", START, 1))
    clock.now += 10
    tracker.add(record("Acme", "b", START + timedelta(minutes=5), 2))
    tracker.advance()
    tracker.add(record("Acme", "c", START + timedelta(minutes=1), 3))
    assert registry.get_sample_value("brandmon_late_mentions_total", {"brand": "acme"}) == 1


def two_raw_partitions(clock: Clock) -> tuple[SpikeTracker, dict[int, list[int]]]:
    """An Acme tracker over a raw topic of two partitions, and record numbers (`record(..., n)`)
    whose mention ids live on each of them."""
    tracker = SpikeTracker(
        {"acme": "Acme"},
        MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=10),
        clock=clock,
        raw_partitions=2,
    )
    return tracker, {p: [n for n in range(200) if partition_for(f"mastodon:{n}", 2) == p] for p in (0, 1)}


def read_a_minute_apart(tracker: SpikeTracker, clock: Clock, numbers: list[int]) -> None:
    """Records `numbers` (from one raw partition) dated a minute apart from START, read a second
    apart in wall time with a tick after each: a backlog read fast."""
    for minute, n in enumerate(numbers):
        tracker.add(record("Acme", f"b{n}", START + timedelta(minutes=minute), n), partition=0)
        clock.now += 1
        tracker.advance()


def test_a_backlog_read_out_of_order_loses_nothing_to_lateness() -> None:
    """Catching up an hour behind, raw partitions interleave: minutes of event-time disorder between
    them are fine, because the partition furthest behind holds the watermark."""
    clock = Clock((START + timedelta(hours=2)).timestamp())
    tracker, on = two_raw_partitions(clock)
    behind, ahead = iter(on[0]), iter(on[1])
    for minute in [1, 9, 2, 12, 3, 14, 5, 7]:  # raw partition 0 at minutes 1..7, partition 1 at 9..14
        n = next(behind if minute < 9 else ahead)
        tracker.add(record("Acme", f"a{n}", START + timedelta(minutes=minute), n))
        tracker.advance()
        clock.now += 0.5
    assert tracker.monitors["acme"].late == 0
    clock.now += 3600
    tracker.advance()
    assert sum(c.bucket.mentions for c in tracker.monitors["acme"].closed) == 8


def test_within_one_raw_partition_the_allowed_lateness_applies() -> None:
    clock = Clock((START + timedelta(hours=2)).timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme"}, MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=10), clock=clock
    )
    for n, minute in enumerate([1, 9, 2]):
        tracker.add(record("Acme", f"a{n}", START + timedelta(minutes=minute), n))
        tracker.advance()
    assert tracker.monitors["acme"].late == 1


def test_a_worker_that_starts_on_old_history_does_not_count_it_late() -> None:
    clock = Clock((START + timedelta(days=400)).timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme"}, MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=10), clock=clock
    )
    tracker.advance()
    clock.now += 120
    tracker.advance()
    tracker.add(record("Acme", "a", START, 1))
    assert tracker.monitors["acme"].late == 0


def test_a_wrong_timestamp_neither_stalls_nor_closes_everyones_buckets() -> None:
    registry = CollectorRegistry()
    clock = Clock((START + timedelta(hours=1)).timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme"},
        MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=10),
        StreamMetrics(["acme"], registry),
        clock,
    )
    tracker.add(record("Acme", "a", START + timedelta(minutes=50), 1))
    tracker.add(record("Acme", "z", START + timedelta(days=30_000), 2))  # year 2106
    assert registry.get_sample_value("brandmon_future_mentions_total", {"brand": "acme"}) == 1
    tracker.add(record("Acme", "old", START - timedelta(days=365 * 20), 3))  # 2004: opens an ancient bucket
    clock.now += 5
    tracker.advance()
    tracker.add(record("Acme", "b", START + timedelta(minutes=59), 4))
    clock.now += 120
    started = time.perf_counter()
    for _ in range(14 * 1440 // MAX_BUCKETS_PER_ADVANCE + 2):  # two weeks of buckets, tick by tick
        tracker.advance()
    assert time.perf_counter() - started < 5, "no millions of empty buckets"
    monitor = tracker.monitors["acme"]
    assert monitor.late == 1, "the 2004 mention is counted as late, not lost silently"
    assert sum(c.bucket.mentions for c in monitor.closed) == 2


def test_an_edit_is_not_a_second_mention() -> None:
    tracker = SpikeTracker({"acme": "Acme"}, MonitorSettings())
    original = record("Acme", "a", START, 1)
    tracker.add(original)
    tracker.add(
        original.model_copy(update={"mention": original.mention.model_copy(update={"edited_at": START})})
    )
    assert sum(b.mentions for b in tracker.monitors["acme"].open.values()) == 1


def _live(records: list[ScoredMention], tracker: SpikeTracker, clock: Clock) -> list[tuple[str, str, str]]:
    keys = []
    for r in records:
        clock.now = r.mention.created_at.timestamp() + 1
        tracker.add_json(dumps(r), 0)
        keys += [(a.alert_id, a.state, a.bucket_start.isoformat()) for a in tracker.advance()]
    clock.now += 6 * 3600
    return keys + [(a.alert_id, a.state, a.bucket_start.isoformat()) for a in tracker.advance()]


def test_a_restarted_worker_rebuilds_its_state_and_raises_the_same_alerts() -> None:
    """A crash in the middle of a rumour: replaying the partition restores baselines, open buckets
    and the open alert, so the rest of the alert stream is what an uninterrupted worker publishes."""
    records = history_with_rumour()
    settings = MonitorSettings(bucket_seconds=BUCKET, allowed_lateness_seconds=60)
    clock = Clock(START.timestamp())
    expected = _live(records, SpikeTracker({"acme": "Acme"}, settings, clock=clock), clock)
    opened = next(n for n, key in enumerate(expected) if key[1] == "opened")
    assert expected[-1][1] == "resolved"
    assert opened < len(expected) - 1

    crash_at = next(
        n
        for n, r in enumerate(records)
        if r.mention.created_at.timestamp() > START.timestamp() + 86400 + 14 * 3600 + BUCKET
    )  # after the alert opened, before it resolved
    clock = Clock(records[crash_at].mention.created_at.timestamp())
    restarted = SpikeTracker({"acme": "Acme"}, settings, clock=clock)
    implied = restarted.replay([dumps(r) for r in records[:crash_at]], partition=0)
    implied_keys = [(a.alert_id, a.state, a.bucket_start.isoformat()) for a in implied]
    rest = _live(records[crash_at:], restarted, clock)
    assert implied_keys + rest == expected
    assert restarted.monitors["acme"].late == 0


def test_records_delivered_twice_count_once() -> None:
    tracker = SpikeTracker({"acme": "Acme"}, MonitorSettings())
    first = record("Acme", "a", START, 1)
    tracker.add(first)
    tracker.add(first)
    assert sum(b.mentions for b in tracker.monitors["acme"].open.values()) == 1


def test_a_lost_partition_takes_its_brands_gauges_with_it() -> None:
    registry = CollectorRegistry()
    clock = Clock(START.timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme", "globex": "Globex"},
        MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=0),
        StreamMetrics(["acme", "globex"], registry),
        clock,
    )
    tracker.add(record("Acme", "a", START, 1), partition=0)
    tracker.add(record("Globex", "b", START, 2).model_copy(update={"brand": "globex"}), partition=1)
    clock.now += 600
    tracker.advance()
    severity = {"severity": "low"}
    assert registry.get_sample_value("brandmon_alerts_active", {"brand": "acme", **severity}) == 0
    tracker.forget_partitions([0])
    assert set(tracker.monitors) == {"globex"}
    assert registry.get_sample_value("brandmon_alerts_active", {"brand": "acme", **severity}) is None
    assert registry.get_sample_value("brandmon_spike_score", {"brand": "acme"}) is None
    assert registry.get_sample_value("brandmon_alerts_active", {"brand": "globex", **severity}) == 0


def test_a_scored_partition_read_ahead_does_not_make_another_partitions_brands_late() -> None:
    """A worker reads one scored partition's recent records before another's hours of backlog."""
    clock = Clock((START + timedelta(hours=5)).timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme", "globex": "Globex"},
        MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=10),
        clock=clock,
    )
    for n in range(30):
        recent = record("Globex", f"g{n}", START + timedelta(hours=4, minutes=n), n).model_copy(
            update={"brand": "globex"}
        )
        tracker.add(recent, partition=3)
    tracker.advance()
    clock.now += 2
    for n in range(30):
        tracker.add(record("Acme", f"a{n}", START + timedelta(minutes=n), 100 + n), partition=0)
        tracker.advance()
    assert tracker.monitors["acme"].late == 0
    assert tracker.monitors["globex"].late == 0


def test_a_raw_partition_unread_for_a_while_during_a_backlog_still_holds_the_watermark() -> None:
    clock = Clock((START + timedelta(hours=5)).timestamp())
    tracker, on = two_raw_partitions(clock)
    tracker.add(record("Acme", "slow", START, on[0][0]), partition=0)
    read_a_minute_apart(tracker, clock, on[1][:60])  # a minute of wall time, an hour of event time ahead
    tracker.add(record("Acme", "slow2", START + timedelta(minutes=1), on[0][1]), partition=0)
    assert tracker.monitors["acme"].late == 0


def test_a_raw_partition_not_heard_from_yet_holds_the_watermark_during_a_backlog() -> None:
    clock = Clock((START + timedelta(hours=5)).timestamp())
    tracker, on = two_raw_partitions(clock)
    read_a_minute_apart(tracker, clock, on[1][:30])  # raw partition 1's chunk is read first
    tracker.add(record("Acme", "first of 0", START + timedelta(minutes=1), on[0][0]), partition=0)
    assert tracker.monitors["acme"].late == 0


def test_a_brand_quiet_for_days_closes_its_buckets_over_several_ticks() -> None:
    """Each closed bucket runs the detector; closing two weeks at once would block the worker."""
    clock = Clock(START.timestamp())
    tracker = SpikeTracker(
        {"acme": "Acme"}, MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=0), clock=clock
    )
    tracker.add(record("Acme", "a", START, 1))
    clock.now += 3 * 86400
    tracker.advance()
    monitor = tracker.monitors["acme"]
    assert monitor.next_start == START.timestamp() + MAX_BUCKETS_PER_ADVANCE * 60
    for _ in range(3 * 86400 // 60 // MAX_BUCKETS_PER_ADVANCE + 1):
        tracker.advance()
    assert monitor.next_start == clock.now - clock.now % 60
