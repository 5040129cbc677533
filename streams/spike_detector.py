"""Rumour-spike detection on one count series: baseline, count surprise, novelty, alert lifecycle.

Each bucket is scored against the baseline's expectation *before* the baseline learns from it
(`streams.baseline`), at three time scales (`streams.surprise`): the bucket, the last `window`
buckets and the trailing hour summed, so both a sharp burst and a rumour that builds slowly
show. Each scale must clear the volume floor, `min_excess` extra mentions, on its own.

An alert opens when `persistence` of the last `window` buckets are elevated (`close_decades`)
and one reached `open_decades` (one freak bucket is not a rumour), or at once at
`instant_decades`. It must also be *news for this series*: fewer than `novelty_rank` earlier
episodes within `lookback_seconds` may have been as large (extra mentions over the hour). Real
feeds have routine bursts (a bot posting every few hours, a daily show): the first is a surprise,
the twentieth is not, and paging on each teaches people to ignore alerts. An episode lasts while
any scale stays elevated. The alert resolves after `resolve_seconds` in which the bucket and the
short window are calm (hysteresis: close < open, so it does not flap); no second alert opens in
the same episode or during the cooldown after it. While open, an alert is "updated" when its
severity tier rises or its excess doubles. Nothing alerts during the warm-up.

Pure and deterministic: no clock, randomness or I/O; the state is plain data (`to_dict`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from streams.baseline import DAY, HOUR, Baseline, BaselineSettings
from streams.surprise import SummedSurprise, score_from_surprise, surprise

Transition = Literal["opened", "updated", "resolved"]
Severity = Literal["low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high")
HISTORY_LIMIT = 64
"""Past episodes remembered for the novelty test; the smallest are forgotten first."""


class Sensitivity(StrEnum):
    FEWER = "fewer"
    BALANCED = "balanced"
    MORE = "more"


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Shipped defaults are `balanced`. Surprise is in decades: 5 = a one-in-100,000 count."""

    open_decades: float = 5.0
    close_decades: float = 2.0
    instant_decades: float = 15.0
    persistence: int = 2
    window: int = 3
    min_excess: float = 20.0
    """Volume floor: extra mentions (over the bucket, the window or the hour) before they count."""
    aggregate_seconds: int = HOUR
    novelty_rank: int = 2
    lookback_seconds: int = 14 * DAY
    """With `novelty_rank` 2: alert on spikes that this series has less than about once a week."""
    resolve_seconds: int = 30 * 60
    cooldown_seconds: int = 2 * HOUR
    warmup_seconds: int = DAY
    min_warmup_buckets: int = 14
    medium_ratio: float = 3.0
    high_ratio: float = 10.0
    """Severity tiers: volume (short window or hour) at this multiple of the expected one."""
    baseline: BaselineSettings = field(default_factory=BaselineSettings)

    @classmethod
    def preset(cls, sensitivity: Sensitivity | str = Sensitivity.BALANCED) -> DetectorSettings:
        level = Sensitivity(sensitivity)
        if level is Sensitivity.FEWER:
            return cls(open_decades=8.0, instant_decades=20.0, min_excess=40.0, novelty_rank=1)
        if level is Sensitivity.MORE:
            return cls(open_decades=4.0, instant_decades=10.0, min_excess=10.0, novelty_rank=4)
        return cls()


@dataclass(frozen=True, slots=True)
class Decision:
    bucket_start: datetime
    observed: float
    expected: float
    surprise: float
    """Decades, -log10 P(this many), the largest over the time scales; 0 under the floor."""
    score: float
    """`surprise` mapped to [0, 1): 0.5 at 8 decades."""
    alerting: bool
    transition: Transition | None = None
    severity: Severity | None = None
    """Of the open alert (on "resolved": the tier it reached); None when no alert is involved."""
    excess: float = 0.0
    """Mentions above expected over the trailing hour."""


@dataclass(slots=True)
class DetectorState:
    """Everything one detector remembers, as plain data (a Faust table can hold `to_dict()`)."""

    baseline: Baseline
    sums: SummedSurprise
    seen: int = 0
    recent: list[float] = field(default_factory=list)
    """Surprise of the last `window` buckets."""
    episode_peak: float | None = None
    episode_alerted: bool = False
    calm: int = 0
    quiet: int = 0
    history: list[list[float]] = field(default_factory=list)
    """[end (epoch seconds), peak excess] of past episodes within the lookback."""
    severity: Severity | None = None
    """Of the open alert; None when none is open."""
    notified_excess: float = 0.0
    cooldown_left: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "baseline": self.baseline.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: BaselineSettings) -> DetectorState:
        values = dict(data)
        values["baseline"] = Baseline.from_dict(values["baseline"], settings)
        values["sums"] = SummedSurprise.from_dict(values["sums"])
        return cls(**values)


class SpikeDetector:
    """Alert lifecycle of one series (one brand/topic). Feed buckets in time order."""

    def __init__(
        self,
        bucket_seconds: int,
        settings: DetectorSettings | None = None,
        state: DetectorState | None = None,
    ) -> None:
        self.bucket_seconds = bucket_seconds
        self.settings = settings = settings or DetectorSettings()
        half_life = settings.baseline.dispersion_half_life_days * DAY / bucket_seconds
        spans = [settings.window, self._buckets(settings.aggregate_seconds)]
        self.state = state or DetectorState(
            Baseline(bucket_seconds, settings.baseline), SummedSurprise.create(spans, half_life)
        )

    def _buckets(self, seconds: int) -> int:
        return max(1, math.ceil(seconds / self.bucket_seconds))

    def update(self, bucket_start: datetime, count: float) -> Decision:
        settings, state = self.settings, self.state
        baseline, sums = state.baseline, state.sums
        warm = state.seen >= max(settings.min_warmup_buckets, self._buckets(settings.warmup_seconds))
        expected, dispersion = baseline.expected(bucket_start), baseline.dispersion
        learned, settled = baseline.updates > 0, baseline.settled
        winsorised = baseline.update(bucket_start, count)
        state.seen += 1
        if baseline.settled and not settled:  # the daily rhythm is modelled now: relearn the spread
            sums.restart()
        current = decades = 0.0
        if learned:  # before the first update there is no expectation to compare with
            sums.push(count, winsorised, expected)
            if warm:
                short, hour = sums.surprises(settings.min_excess)
                current = max(surprise(count, expected, dispersion, settings.min_excess), short)
                decades = max(current, hour)
            sums.learn()
        short_observed, _, short_expected = sums.totals(0)
        hour_observed, _, hour_expected = sums.totals(1)
        excess = hour_observed - hour_expected
        ratio = max(_ratio(short_observed, short_expected), _ratio(hour_observed, hour_expected))
        state.recent = [*state.recent, decades][-settings.window :]
        open_severity = state.severity
        transition = self._lifecycle(bucket_start.timestamp(), decades, current, excess, ratio)
        return Decision(
            bucket_start=bucket_start,
            observed=count,
            expected=expected,
            surprise=decades,
            score=score_from_surprise(decades),
            alerting=state.severity is not None,
            transition=transition,
            severity=state.severity or (open_severity if transition == "resolved" else None),
            excess=excess,
        )

    def _tier(self, ratio: float) -> Severity:
        if ratio >= self.settings.high_ratio:
            return "high"
        return "medium" if ratio >= self.settings.medium_ratio else "low"

    def _lifecycle(
        self, now: float, decades: float, current: float, excess: float, ratio: float
    ) -> Transition | None:
        settings, state = self.settings, self.state
        settle = max(settings.window, self._buckets(settings.resolve_seconds))
        if decades >= settings.close_decades:
            state.episode_peak, state.calm = max(state.episode_peak or 0.0, excess), 0
        elif state.episode_peak is not None:
            state.calm += 1
            if state.calm >= settle:
                self._remember(now, state.episode_peak)
                state.episode_peak, state.episode_alerted = None, False
        if state.severity is not None:
            state.quiet = state.quiet + 1 if current < settings.close_decades else 0
            if state.quiet >= settle:
                state.severity, state.cooldown_left = None, self._buckets(settings.cooldown_seconds)
                return "resolved"
            tier = self._tier(ratio)
            if (
                SEVERITIES.index(tier) > SEVERITIES.index(state.severity)
                or excess >= 2 * state.notified_excess
            ):
                state.severity = max(tier, state.severity, key=SEVERITIES.index)
                state.notified_excess = max(state.notified_excess, excess)
                return "updated"
            return None
        if state.cooldown_left > 0:
            state.cooldown_left -= 1
            return None
        elevated = sum(1 for value in state.recent if value >= settings.close_decades)
        persistent = elevated >= settings.persistence and max(state.recent) >= settings.open_decades
        persistent = persistent or decades >= settings.instant_decades
        earlier = [peak for end, peak in state.history if now - end <= settings.lookback_seconds]
        novel = sum(1 for peak in earlier if peak >= excess) < settings.novelty_rank
        if decades >= settings.close_decades and persistent and novel and not state.episode_alerted:
            state.severity, state.notified_excess, state.quiet = self._tier(ratio), excess, 0
            state.episode_alerted = True
            return "opened"
        return None

    def _remember(self, now: float, peak: float) -> None:
        kept = [item for item in self.state.history if now - item[0] <= self.settings.lookback_seconds]
        self.state.history = sorted([*kept, [now, peak]], key=lambda item: -item[1])[:HISTORY_LIMIT]

    @property
    def baseline(self) -> Baseline:
        return self.state.baseline

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state; settings are configuration and are not stored."""
        return self.state.to_dict()

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: DetectorSettings | None = None) -> SpikeDetector:
        settings = settings or DetectorSettings()
        state = DetectorState.from_dict(data, settings.baseline)
        return cls(state.baseline.bucket_seconds, settings, state)


def _ratio(observed: float, expected: float) -> float:
    return observed / expected if expected > 0.0 else (math.inf if observed > 0.0 else 1.0)


@dataclass(frozen=True, slots=True)
class ScoredRow:
    timestamp: datetime
    value: float
    score: float
    alert: int
    """1 on the bucket where a new alert opens, else 0."""


def detect_counts(
    rows: Iterable[tuple[datetime, float]],
    sensitivity: Sensitivity | str = Sensitivity.BALANCED,
    bucket: int = 60,
    settings: DetectorSettings | None = None,
) -> list[ScoredRow]:
    """Score a whole series with one fresh detector (`bucket` in seconds): backtest and bench."""
    detector = SpikeDetector(bucket, settings or DetectorSettings.preset(sensitivity))
    scored = []
    for timestamp, value in rows:
        decision = detector.update(timestamp, value)
        scored.append(ScoredRow(timestamp, value, decision.score, int(decision.transition == "opened")))
    return scored
