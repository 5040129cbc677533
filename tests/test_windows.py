"""Tumbling windows: grouping, deltas, and offset-guarded updates that are safe to replay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from brandmon.schemas import Mention, ScoredMention, Sentiment, SentimentLabel
from streams.windows import (
    COMPOUND_SUM,
    LAST_OFFSET,
    MENTIONS,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    SCORED,
    WindowDelta,
    apply_delta,
    brand_of,
    group_by_window,
    table_key,
    window_start,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()


def sentiment(compound: float, label: SentimentLabel) -> Sentiment:
    return Sentiment(
        compound=compound,
        pos=0.0,
        neu=1.0,
        neg=0.0,
        label=label,
        model="vaderSentiment",
        model_version="3.3.2",
    )


def record(brand: str, created_at: float, index: int = 0, score: Sentiment | None = None) -> ScoredMention:
    created = datetime.fromtimestamp(created_at, UTC)
    mention = Mention(id=f"rss:{index}", source="rss", text="acme", created_at=created, fetched_at=created)
    return ScoredMention(
        mention=mention, brand=brand, matched_terms=[brand], lang="en", sentiment=score, scored_at=created
    )


def test_window_start() -> None:
    assert window_start(T0, 60) == T0
    assert window_start(T0 + 59.999, 60) == T0
    assert window_start(T0 + 60, 60) == T0 + 60
    assert window_start(T0 + 61.5, 60) == T0 + 60
    assert window_start(T0 + 3599, 3600) == T0
    assert window_start(0.0, 60) == 0.0
    assert window_start(125.0, 1) == 125.0


def test_table_key_round_trip() -> None:
    assert table_key("acme", 3) == "acme@3"
    assert brand_of("acme@3") == "acme"
    assert brand_of(table_key("my-brand_2", 17)) == "my-brand_2"


def test_group_by_window() -> None:
    records = [
        record("acme", T0 + 1, 0),
        record("acme", T0 + 59, 1),
        record("acme", T0 + 60, 2),
        record("globex", T0 + 5, 3),
        record("acme", T0 + 30, 4),
    ]
    groups = group_by_window(records, 60)
    assert {key: [r.mention.id for r in group] for key, group in groups.items()} == {
        ("acme", T0): ["rss:0", "rss:1", "rss:4"],
        ("acme", T0 + 60): ["rss:2"],
        ("globex", T0): ["rss:3"],
    }
    assert group_by_window([], 60) == {}


def test_group_by_window_uses_event_time_in_utc() -> None:
    created = datetime.fromisoformat("2024-05-01T14:00:30+02:00")
    mention = Mention(id="rss:tz", source="rss", text="acme", created_at=created, fetched_at=created)
    scored = ScoredMention(
        mention=mention, brand="acme", matched_terms=["acme"], lang="en", sentiment=None, scored_at=created
    )
    assert list(group_by_window([scored], 60)) == [("acme", T0)]


def test_window_delta_of() -> None:
    delta = WindowDelta.of(
        [
            sentiment(0.5, "positive"),
            sentiment(-0.25, "negative"),
            sentiment(0.0, "neutral"),
            None,  # an unscored language: a mention, but not scored
            sentiment(0.75, "positive"),
        ]
    )
    assert len(delta.values) == LAST_OFFSET
    assert delta.values[MENTIONS] == 5
    assert delta.values[POSITIVE] == 2
    assert delta.values[NEGATIVE] == 1
    assert delta.values[NEUTRAL] == 1
    assert delta.values[SCORED] == 4
    assert delta.values[COMPOUND_SUM] == pytest.approx(1.0)


def test_window_delta_of_only_unscored() -> None:
    assert WindowDelta.of([None, None]).values == [2.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert WindowDelta.of([]).values == [0.0] * LAST_OFFSET


@pytest.mark.parametrize("current", [None, []])
def test_apply_delta_to_a_new_key(current: list[float] | None) -> None:
    """A Faust table with `default=list` returns [] for a new key."""
    delta = WindowDelta.of([sentiment(0.5, "positive"), None])
    assert apply_delta(current, delta, 0) == [2.0, 0.0, 0.0, 1.0, 0.5, 1.0, 0.0]
    assert apply_delta(current, delta, 41) == [2.0, 0.0, 0.0, 1.0, 0.5, 1.0, 41.0]


def test_apply_delta_accumulates() -> None:
    first = apply_delta(None, WindowDelta.of([sentiment(0.5, "positive")]), 10)
    second = apply_delta(first, WindowDelta.of([sentiment(-0.25, "negative"), None]), 11)
    assert second == [3.0, 1.0, 0.0, 1.0, 0.25, 2.0, 11.0]
    assert first == [1.0, 0.0, 0.0, 1.0, 0.5, 1.0, 10.0]  # the stored value is not mutated


@pytest.mark.parametrize("offset", [10, 9, 0])
def test_replay_of_same_or_lower_offset_is_skipped(offset: int) -> None:
    current = apply_delta(None, WindowDelta.of([sentiment(0.5, "positive")]), 10)
    assert apply_delta(current, WindowDelta.of([sentiment(0.5, "positive")]), offset) is None


def test_replay_at_offset_zero_is_skipped() -> None:
    current = apply_delta(None, WindowDelta.of([None]), 0)
    assert current == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert apply_delta(current, WindowDelta.of([None]), 0) is None


def test_higher_offset_applies_after_a_gap() -> None:
    current = apply_delta(None, WindowDelta.of([None]), 10)
    updated = apply_delta(current, WindowDelta.of([sentiment(-0.5, "negative")]), 500)
    assert updated == [2.0, 1.0, 0.0, 0.0, -0.5, 1.0, 500.0]
