"""The pure spike detector: count surprise, baseline, alert lifecycle, presets and state."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from streams.baseline import Baseline, BaselineSettings
from streams.spike_detector import (
    Decision,
    DetectorSettings,
    Sensitivity,
    SpikeDetector,
    detect_counts,
)
from streams.surprise import log10_tail, score_from_surprise, surprise, surprise_from_score

START = datetime(2024, 5, 6, tzinfo=UTC)  # a Monday
Rows = list[tuple[datetime, float]]


def poisson(rng: random.Random, mean: float) -> int:
    count, elapsed = 0, rng.expovariate(1.0)
    while elapsed < mean:
        count, elapsed = count + 1, elapsed + rng.expovariate(1.0)
    return count


def series(
    bucket: int,
    days: float,
    per_hour: float,
    *,
    seed: int = 0,
    amplitude: float = 0.6,
    dispersion: float = 0.05,
    bursts: dict[int, float] | None = None,
) -> Rows:
    """Daily rhythm (quiet nights) with negative binomial noise; `bursts` adds counts at indices."""
    rng = random.Random(seed)
    rows: Rows = []
    for i in range(int(days * 86400 / bucket)):
        at = START + timedelta(seconds=i * bucket)
        hour = at.hour + at.minute / 60
        mean = per_hour * bucket / 3600 * (1 + amplitude * math.sin((hour - 9) / 24 * 2 * math.pi))
        mean = rng.gammavariate(1 / dispersion, dispersion * mean) if dispersion > 0 else mean
        rows.append((at, poisson(rng, mean) + (bursts or {}).get(i, 0.0)))
    return rows


def decisions(
    rows: Iterable[tuple[datetime, float]], bucket: int, settings: DetectorSettings | None = None
) -> list[Decision]:
    detector = SpikeDetector(bucket, settings or DetectorSettings())
    return [detector.update(at, count) for at, count in rows]


def opened(results: list[Decision]) -> list[int]:
    return [i for i, d in enumerate(results) if d.transition == "opened"]


# --- surprise -------------------------------------------------------------------------------


def brute_force_tail(observed: int, mean: float, dispersion: float) -> float:
    if dispersion == 0:
        below = sum(math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1)) for k in range(observed))
    else:
        size, p = 1 / dispersion, 1 / (1 + dispersion * mean)
        below = sum(
            math.exp(
                math.lgamma(k + size)
                - math.lgamma(size)
                - math.lgamma(k + 1)
                + size * math.log(p)
                + k * math.log1p(-p)
            )
            for k in range(observed)
        )
    return math.log10(1 - below)


@pytest.mark.parametrize(
    ("observed", "mean", "dispersion"),
    [
        (5, 0.3, 0.0),
        (1, 0.01, 0.0),
        (150, 100.0, 0.0),
        (80, 100.0, 0.0),
        (5, 0.3, 2.0),
        (150, 100.0, 0.1),
        (40, 10.0, 0.05),
    ],
)
def test_tail_matches_summed_probabilities(observed: int, mean: float, dispersion: float) -> None:
    assert log10_tail(observed, mean, dispersion) == pytest.approx(
        brute_force_tail(observed, mean, dispersion), abs=1e-6
    )


def test_far_tails_do_not_underflow() -> None:
    assert log10_tail(13_479, 100.0, 0.3) < -100
    assert math.isfinite(log10_tail(13_479, 100.0, 0.0))


def test_small_counts_are_less_surprising_under_overdispersion_and_the_floor_silences_them() -> None:
    assert surprise(5, 0.3, 1.0) < surprise(5, 0.3, 0.0)
    assert surprise(5, 0.3, 0.0, min_excess=10) == 0.0
    assert surprise(3, 5.0, 0.1) == 0.0  # below expectation


def test_score_is_monotone_in_unit_interval_and_invertible() -> None:
    scores = [score_from_surprise(d) for d in (0, 1, 4, 8, 16, 100, 1e6)]
    assert scores == sorted(scores)
    assert scores[0] == 0.0
    assert all(0 <= s <= 1 for s in scores)
    assert score_from_surprise(8.0) == pytest.approx(0.5)
    assert surprise_from_score(score_from_surprise(12.0)) == pytest.approx(12.0)


# --- baseline -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "day_slots", "week_slots"),
    [(60, 24, 7), (300, 24, 7), (3600, 24, 7), (7200, 12, 7), (86400, 1, 7), (7 * 86400, 1, 1)],
)
def test_seasonal_slots_follow_the_bucket_size(bucket: int, day_slots: int, week_slots: int) -> None:
    baseline = Baseline(bucket)
    assert (len(baseline.day_profile), len(baseline.week_profile)) == (day_slots, week_slots)


def test_baseline_learns_the_daily_rhythm() -> None:
    baseline = Baseline(300)
    for at, count in series(300, 6, 120, seed=3):
        baseline.update(at, count)
    afternoon, night = START.replace(hour=15), START.replace(hour=3)
    assert baseline.expected(afternoon) == pytest.approx(10 * 1.6, rel=0.25)
    assert baseline.expected(night) == pytest.approx(10 * 0.4, rel=0.35)


def test_a_past_spike_does_not_inflate_the_baseline() -> None:
    rows = series(300, 3, 120, seed=4)
    clean, spiked = Baseline(300), Baseline(300)
    for i, (at, count) in enumerate(rows):
        clean.update(at, count)
        spiked.update(at, count + (2000 if 600 <= i < 606 else 0))
    assert spiked.level == pytest.approx(clean.level, rel=0.1)


def test_baseline_state_round_trips_through_json() -> None:
    baseline = Baseline(300, BaselineSettings(level_half_life_hours=6))
    for at, count in series(300, 1, 60, seed=5):
        baseline.update(at, count)
    restored = Baseline.from_dict(json.loads(json.dumps(baseline.to_dict())), baseline.settings)
    assert restored == baseline


# --- detector -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "days", "per_hour", "burst"),
    [(300, 3, 120, 40), (60, 2, 120, 30), (3600, 14, 600, 2000)],
    ids=["5m", "1m", "1h"],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_burst_in_a_noisy_seasonal_background_alerts_within_two_buckets(
    bucket: int, days: int, per_hour: float, burst: float, seed: int
) -> None:
    at = int((days - 1) * 86400 / bucket + 14 * 3600 / bucket)  # 14:00 on the last day
    rows = series(bucket, days, per_hour, seed=seed, bursts={at + k: burst for k in range(4)})
    results = decisions(rows, bucket)
    assert opened(results)
    assert at <= opened(results)[0] <= at + 1
    assert len(opened(results)) == 1


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("amplitude", "per_hour"), [(0.0, 60), (0.8, 60), (0.8, 6), (0.8, 3000)])
def test_flat_or_seasonal_series_without_a_burst_raise_no_alert(
    seed: int, amplitude: float, per_hour: float
) -> None:
    rows = series(300, 7, per_hour, seed=seed, amplitude=amplitude, dispersion=0.1)
    assert opened(decisions(rows, 300)) == []


def test_an_alert_opens_grows_and_resolves_once() -> None:
    at = 2 * 288 + 150
    growing = {at + k: 20.0 * (k + 1) for k in range(8)}
    results = decisions(series(300, 3, 120, seed=7, bursts=growing), 300)
    transitions = [(i, d.transition) for i, d in enumerate(results) if d.transition]
    assert next(t for _, t in transitions) == "opened"
    assert [t for _, t in transitions][-1] == "resolved"
    assert [t for _, t in transitions].count("opened") == 1
    assert "updated" in [t for _, t in transitions]
    resolved_at = transitions[-1][0]
    assert at + 8 <= resolved_at <= at + 8 + 12  # within an hour of subsiding
    assert all(d.alerting for d in results[transitions[0][0] : resolved_at])
    assert not results[resolved_at].alerting
    ranks = [["low", "medium", "high"].index(str(results[i].severity)) for i, t in transitions[:-1]]
    assert ranks == sorted(ranks)
    assert ranks[-1] == 2  # the alert grew from its first tier to "high"


def test_a_flickering_burst_does_not_flap() -> None:
    at = 2 * 288 + 150
    flicker = {at + k: 60.0 for k in range(0, 24, 2)}  # on, off, on, off... for two hours
    assert len(opened(decisions(series(300, 3, 120, seed=8, bursts=flicker), 300))) == 1


def test_nothing_alerts_during_the_warm_up() -> None:
    rows = series(300, 2, 120, seed=9, bursts={100 + k: 200.0 for k in range(4)})
    assert all(d.transition is None for d in decisions(rows, 300)[:288])


def test_routine_bursts_stop_alerting_but_a_bigger_one_still_does() -> None:
    days = 8
    bursts = {d * 288 + 170 + k: 150.0 for d in range(1, days - 1) for k in range(4)}
    bursts.update({(days - 1) * 288 + 170 + k: 600.0 for k in range(4)})
    results = decisions(series(300, days, 120, seed=10, bursts=bursts), 300)
    daily = [i // 288 for i in opened(results)]
    assert daily[:2] == [1, 2]  # news the first times...
    assert not set(daily) & {4, 5, 6}  # ...routine once it happens every day
    assert daily[-1] == days - 1  # a bigger one is news again


def test_sensitivity_presets_order_the_number_of_alerts() -> None:
    bursts = {d * 288 + 170 + k: size for d, size in [(1, 12.0), (2, 25.0), (3, 60.0)] for k in range(3)}
    rows = series(300, 4, 60, seed=11, bursts=bursts)
    counts = [len(opened(decisions(rows, 300, DetectorSettings.preset(s)))) for s in Sensitivity]
    fewer, balanced, more = counts
    assert fewer <= balanced <= more
    assert more > fewer
    assert DetectorSettings.preset("balanced") == DetectorSettings()


def test_a_single_spammer_counts_as_one_author_and_raises_nothing() -> None:
    """The stream feeds distinct authors per bucket (streams.spike_monitor); a spammer is one."""
    rows = series(300, 3, 120, seed=12)
    spam_at = 2 * 288 + 150
    mentions = [
        (at, count + (300 if spam_at <= i < spam_at + 6 else 0)) for i, (at, count) in enumerate(rows)
    ]
    authors = [(at, count + (1 if spam_at <= i < spam_at + 6 else 0)) for i, (at, count) in enumerate(rows)]
    assert opened(decisions(mentions, 300))
    assert opened(decisions(authors, 300)) == []


def test_detector_state_round_trips_and_the_run_continues_identically() -> None:
    rows = series(300, 3, 120, seed=13, bursts={2 * 288 + 150 + k: 80.0 for k in range(4)})
    straight = decisions(rows, 300)
    first = SpikeDetector(300)
    for at, count in rows[:700]:
        first.update(at, count)
    restored = SpikeDetector.from_dict(json.loads(json.dumps(first.to_dict())))
    assert [restored.update(at, count) for at, count in rows[700:]] == straight[700:]


def test_detect_counts_is_deterministic_and_marks_new_alerts_only() -> None:
    rows = series(300, 3, 120, seed=14, bursts={2 * 288 + 150 + k: 80.0 for k in range(6)})
    scored = detect_counts(rows, "balanced", 300)
    assert scored == detect_counts(rows, Sensitivity.BALANCED, 300)
    assert len(scored) == len(rows)
    assert sum(row.alert for row in scored) == 1
    assert all(0.0 <= row.score < 1.0 for row in scored)
    assert max(scored, key=lambda row: row.score).timestamp >= rows[2 * 288 + 150][0]


def test_settings_are_frozen() -> None:
    settings = DetectorSettings()
    with pytest.raises(AttributeError):
        settings.open_decades = 1.0  # type: ignore[misc]
    assert replace(settings, open_decades=1.0).open_decades == 1.0
