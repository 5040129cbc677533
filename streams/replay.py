"""History through the stream's own code: mentions in event-time order -> scored -> spike alerts.

`brandmon backtest mentions` uses this to answer "how often would this have fired last month?"
with exactly the matcher, scorer and detector the worker runs; time is the mentions' own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime

from brandmon.schemas import Alert, Mention
from streams.scoring import MentionScorer
from streams.spike_monitor import MonitorSettings
from streams.spike_tracker import SpikeTracker


class EventClock:
    """The replay's "now": the newest event time seen."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def replay_alerts(
    mentions: Iterable[Mention],
    scorer: MentionScorer,
    brand_names: Mapping[str, str],
    settings: MonitorSettings,
) -> Iterator[Alert]:
    """Alerts the stream would have published for these mentions (sorted by `created_at` first)."""
    clock = EventClock()
    tracker = SpikeTracker(brand_names, settings, clock=clock)
    for mention in sorted(mentions, key=lambda m: m.created_at):
        scored = scorer.score(mention, only_if_matched=True)
        clock.now = max(clock.now, mention.created_at.timestamp())
        if scored is not None:
            for record in scored.records(datetime.fromtimestamp(clock.now, UTC)):
                tracker.add(record)
        yield from tracker.advance()
    clock.now += settings.bucket_seconds + settings.allowed_lateness_seconds
    yield from tracker.flush()
