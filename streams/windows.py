"""Per-brand counts in tumbling event-time windows, with updates that are safe to replay.

After a crash Faust re-delivers every event since the last committed offset on top of state that
already includes some of them. Each stored value therefore carries the source offset it last
applied, and a replayed event (offset not greater) is skipped. That only works when the key is
local to one source partition, so table keys are `brand@partition`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from brandmon.schemas import ScoredMention, Sentiment

WindowValue = list[float]
"""Stored as a JSON list: [mentions, negative, neutral, positive, compound_sum, scored, last_offset]."""

MENTIONS, NEGATIVE, NEUTRAL, POSITIVE, COMPOUND_SUM, SCORED, LAST_OFFSET = range(7)
_LABEL_INDEX = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE}


class WindowStore(Protocol):
    def get(self, key: str, window_start: float) -> WindowValue | None: ...
    def set(self, key: str, window_start: float, value: WindowValue) -> None: ...


@dataclass
class MemoryWindowStore:
    """`WindowStore` in a dict keyed (table key, window start): for offline runs and tests."""

    values: dict[tuple[str, float], WindowValue] = field(default_factory=dict)

    def get(self, key: str, window_start: float) -> WindowValue | None:
        return self.values.get((key, window_start))

    def set(self, key: str, window_start: float, value: WindowValue) -> None:
        self.values[(key, window_start)] = list(value)


def window_start(timestamp: float, size_seconds: int) -> float:
    return timestamp - (timestamp % size_seconds)


def table_key(brand: str, partition: int) -> str:
    return f"{brand}@{partition}"


def brand_of(key: str) -> str:
    return key.rpartition("@")[0]


@dataclass(slots=True)
class WindowDelta:
    """What one batch adds to one (brand, window)."""

    values: list[float]

    @classmethod
    def of(cls, sentiments: Iterable[Sentiment | None]) -> WindowDelta:
        values = [0.0] * LAST_OFFSET
        for sentiment in sentiments:
            values[MENTIONS] += 1
            if sentiment is not None:
                values[_LABEL_INDEX[sentiment.label]] += 1
                values[COMPOUND_SUM] += sentiment.compound
                values[SCORED] += 1
        return cls(values)


def group_by_window(
    records: Iterable[ScoredMention], size_seconds: int
) -> dict[tuple[str, float], list[ScoredMention]]:
    """Records of one batch grouped by (brand, window start), so each window is written once."""
    groups: dict[tuple[str, float], list[ScoredMention]] = {}
    for record in records:
        start = window_start(record.mention.created_at.timestamp(), size_seconds)
        groups.setdefault((record.brand, start), []).append(record)
    return groups


def apply_delta(current: WindowValue | None, delta: WindowDelta, offset: int) -> WindowValue | None:
    """The new stored value, or None when `offset` was already applied (a replay)."""
    if current and current[LAST_OFFSET] >= offset:
        return None
    base = current[:LAST_OFFSET] if current else [0.0] * LAST_OFFSET
    return [a + b for a, b in zip(base, delta.values, strict=True)] + [float(offset)]
