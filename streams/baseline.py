"""What a series usually does in this bucket: level x time-of-day x day-of-week, learned online.

Expected count = level * day_profile[slot of day] * week_profile[day of week]. The level is an
exponentially weighted mean of de-seasonalised counts; the two profiles are multiplicative
factors with mean 1. All rates are given as half-lives in wall-clock time, so the same settings
work for 1-minute and 1-day buckets: the number of time-of-day slots is derived from the bucket
size (hourly slots for buckets up to an hour, one slot per bucket above; none for daily buckets).

Day one only measures: the level is the running mean and the time-of-day profile the plain
per-slot means, which become the profile at the end of the day (Holt-Winters' first-season
start; each slot is shrunk towards the daily mean by a prior of a few counts, so a sparse slot is
not taken at its word). Learning ratios against a level that is still settling instead would
take days to undo, and until the rhythm is modelled it would pass for noise.

Robustness: every update first winsorises the count to expected +- `clip_sigmas` predictive
standard deviations. A spike then moves the level by at most a few sigma's worth, so past bursts
do not inflate what is "normal", while a lasting shift still moves the level step by step and the
alert on it eventually resolves. The over-dispersion of the negative binomial
(`streams.surprise.Dispersion`) is learned from the same winsorised counts.

The state is a plain dataclass of floats and lists (`to_dict`/`from_dict`), small enough to keep
one per (brand, topic) in a Faust table.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams.surprise import Dispersion, half_life_rate

DAY = 86_400
HOUR = 3_600
FIRST_DAY_PRIOR_COUNTS = 4.0
"""Day one's per-slot means are shrunk towards the daily mean by a prior worth this many counts."""


@dataclass(frozen=True, slots=True)
class BaselineSettings:
    level_half_life_hours: float = 12.0
    """How fast "normal" follows a changed audience. Winsorising keeps a rumour from becoming
    normal while it lasts; a lasting shift is followed within a day or so."""
    profile_half_life_days: float = 14.0
    """Memory of the time-of-day and day-of-week shapes: a few weeks of each slot."""
    dispersion_half_life_days: float = 7.0
    clip_sigmas: float = 3.0
    """Winsorise counts to expected +- this many predictive standard deviations before learning."""
    initial_dispersion: float = 0.5
    """Generous until learned: an over-wide start errs towards silence, not false alarms."""
    min_dispersion: float = 0.01


def _as_seconds(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(slots=True)
class Baseline:
    """Online level + seasonal profiles + dispersion of one count series (see module docstring)."""

    bucket_seconds: int
    settings: BaselineSettings = field(default_factory=BaselineSettings)
    level: float = 0.0
    updates: int = 0
    day_profile: list[float] = field(default_factory=list)
    day_visits: list[int] = field(default_factory=list)
    week_profile: list[float] = field(default_factory=list)
    week_visits: list[int] = field(default_factory=list)
    spread: Dispersion | None = None

    def __post_init__(self) -> None:
        if self.bucket_seconds <= 0:
            raise ValueError("bucket_seconds must be positive")
        if self.spread is None:
            half_life = self.settings.dispersion_half_life_days * DAY / self.bucket_seconds
            self.spread = Dispersion(
                half_life, self.settings.initial_dispersion, self.settings.min_dispersion
            )
        if not self.day_profile:
            slots = 1 if self.bucket_seconds >= DAY else DAY // max(self.bucket_seconds, HOUR)
            self.day_profile, self.day_visits = [1.0] * slots, [0] * slots
        if not self.week_profile:
            slots = 7 if self.bucket_seconds <= DAY else 1
            self.week_profile, self.week_visits = [1.0] * slots, [0] * slots

    @property
    def dispersion(self) -> float:
        assert self.spread is not None
        return self.spread.value

    def _slots(self, bucket_start: datetime) -> tuple[int, int]:
        seconds = _as_seconds(bucket_start)
        day_slot = int((seconds % DAY) * len(self.day_profile) // DAY)
        week_slot = int(seconds // DAY + 3) % len(self.week_profile)  # 1970-01-01 was a Thursday
        return day_slot, week_slot

    @property
    def _first_day_running(self) -> bool:
        return len(self.day_profile) > 1 and self.updates * self.bucket_seconds < DAY

    @property
    def settled(self) -> bool:
        """Past the first day: the time-of-day profile exists, residuals are noise, not rhythm."""
        return not self._first_day_running and self.updates > 0

    def expected(self, bucket_start: datetime) -> float:
        day_slot, week_slot = self._slots(bucket_start)
        day = 1.0 if self._first_day_running else self.day_profile[day_slot]
        return self.level * day * self.week_profile[week_slot]

    def stddev(self, expected: float) -> float:
        return math.sqrt(expected + self.dispersion * expected * expected)

    def update(self, bucket_start: datetime, count: float) -> float:
        """Learn from one bucket's count (after it was scored); returns the winsorised count."""
        assert self.spread is not None
        settings, buckets_per_day = self.settings, DAY / self.bucket_seconds
        first_day = self._first_day_running
        mean = self.expected(bucket_start)
        day_slot, week_slot = self._slots(bucket_start)
        day, week = (1.0 if first_day else self.day_profile[day_slot]), self.week_profile[week_slot]
        self.updates += 1
        if self.updates == 1:
            clean = count
        else:  # at least +-1 count of slack, or a series that starts at 0 could never learn
            spread = settings.clip_sigmas * max(self.stddev(mean), 1.0)
            clean = min(max(count, mean - spread), mean + spread)
        level_rate = max(
            1.0 / self.updates, half_life_rate(settings.level_half_life_hours * HOUR / self.bucket_seconds)
        )
        self.level = max(0.0, self.level + level_rate * (clean / max(day * week, 1e-6) - self.level))
        if self.updates > 1:
            self.spread.update(clean, mean)
        if first_day:
            self._first_day(day_slot, clean, not self._first_day_running)
            return clean
        level = max(self.level, 1e-6)
        profile_half_life = settings.profile_half_life_days * buckets_per_day
        _learn(
            self.day_profile,
            self.day_visits,
            day_slot,
            clean / (level * week),
            profile_half_life / len(self.day_profile),
        )
        _learn(self.week_profile, self.week_visits, week_slot, clean / (level * day), profile_half_life / 7)
        return clean

    def _first_day(self, slot: int, clean: float, last: bool) -> None:
        """Day one: per-slot means, turned into the profile after the last bucket of the day.
        Day one's dispersion counted the unmodelled rhythm as noise: it only becomes the prior
        of a fresh estimate."""
        self.day_visits[slot] += 1
        self.day_profile[slot] += (clean - self.day_profile[slot]) / self.day_visits[slot]
        if not last:
            return
        assert self.spread is not None
        self.spread.restart()
        slots = list(zip(self.day_profile, self.day_visits, strict=True))
        overall = sum(mean for mean, visits in slots if visits) / max(
            1, sum(1 for _, visits in slots if visits)
        )
        if overall <= 0.0:
            self.day_profile[:] = [1.0] * len(slots)
            return
        # shrink each slot towards the overall mean by a prior worth a few counts: a busy slot keeps
        # its own mean, a slot that saw 2 mentions all day is mostly noise (a gamma-Poisson prior)
        prior = FIRST_DAY_PRIOR_COUNTS / overall
        self.day_profile[:] = [
            (mean * visits + overall * prior) / (visits + prior) / overall for mean, visits in slots
        ]
        self.level = overall

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state; the settings are configuration and are not stored."""
        state = asdict(self)
        del state["settings"]
        return state

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: BaselineSettings | None = None) -> Baseline:
        values = dict(data)
        values["spread"] = Dispersion(**values["spread"]) if values.get("spread") else None
        return cls(settings=settings or BaselineSettings(), **values)


def _learn(profile: list[float], visits: list[int], slot: int, ratio: float, half_life: float) -> None:
    """Move one seasonal factor towards `ratio`, then rescale the profile to mean 1.

    The first visits average with the neutral prior 1.0 (weight 1 / (visits + 1)), so a slot
    seen once does not jump to whatever that one bucket held."""
    if len(profile) == 1:
        return
    visits[slot] += 1
    profile[slot] += max(1.0 / (visits[slot] + 1), half_life_rate(half_life)) * (ratio - profile[slot])
    mean = sum(profile) / len(profile)
    if mean > 0.0:
        profile[:] = [value / mean for value in profile]
