"""How surprising a count is, given what the baseline expected: the count-aware spike score.

Mention counts are small and bursty, so a z-score (x - mean) / sd lies at both ends: with a mean
of 0.3 a single mention is "3 sigma", and with a mean of 3000 ordinary news swings are "30
sigma". Counts are instead modelled as negative binomial, NB2: variance = mean + dispersion *
mean**2. The Poisson part is the noise of small numbers; the dispersion part is the extra
variability of a real audience, learned per series from residuals. Surprise is the
upper-tail probability P(X >= observed) expressed in decades, -log10 p (scipy.special), so
thresholds read as "one in 10**s".

A minimum-volume floor keeps tiny absolute changes (2 mentions where 0.1 were expected) from
ever counting, however improbable they are: nobody needs an alert for three tweets.

The dispersion is learned from residuals (`Dispersion`), and `SummedSurprise` scores counts
summed over trailing spans (a few buckets, an hour) with a dispersion learned for each span.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scipy.special import betainc, gammainc

POISSON_DISPERSION = 1e-6
"""Below this dispersion the negative binomial is numerically Poisson and computed as such."""

SCORE_HALF_DECADES = 8.0
"""Surprise (in decades) that maps to score 0.5; 16 decades maps to 0.75, 24 to 0.875."""

PRIOR_OBSERVATIONS = 12
"""Weight, in observations, of a dispersion estimate's starting value."""

_TINY = 1e-300
"""Tails below this (300 decades) are all "as surprising as it gets"."""


def log10_tail(observed: float, expected: float, dispersion: float) -> float:
    """log10 P(X >= observed) for X ~ NB(mean=expected, variance=expected + dispersion*expected**2).

    Non-integer observations interpolate smoothly (the formulas hold for real arguments), which
    lets the same code score summed or rate-scaled counts.
    """
    if observed <= 0.0:
        return 0.0
    expected = max(expected, 1e-9)
    if dispersion <= POISSON_DISPERSION:
        tail = gammainc(observed, expected)  # Poisson P(X >= k) = P(k, mean), regularised lower gamma
    else:
        size = 1.0 / dispersion
        tail = betainc(observed, size, expected / (size + expected))  # NB P(X >= k) = I_q(k, size)
    return math.log10(max(float(tail), _TINY))


def surprise(observed: float, expected: float, dispersion: float, min_excess: float = 0.0) -> float:
    """-log10 of the upper-tail probability, 0 when the excess over `expected` is under the floor."""
    if observed - expected < max(min_excess, 0.0) or observed <= expected:
        return 0.0
    return max(0.0, -log10_tail(observed, expected, dispersion))


def score_from_surprise(decades: float) -> float:
    """Map surprise in decades to [0, 1): 0 for the expected, 0.5 at `SCORE_HALF_DECADES`."""
    return 1.0 - math.pow(2.0, -max(decades, 0.0) / SCORE_HALF_DECADES)


def surprise_from_score(score: float) -> float:
    """Inverse of `score_from_surprise`, for thresholds given as scores."""
    return -SCORE_HALF_DECADES * math.log2(max(1.0 - score, 1e-12))


def half_life_rate(half_life: float) -> float:
    """EWMA weight of a new observation when `half_life` observations halve an old one."""
    return 1.0 - math.pow(0.5, 1.0 / max(half_life, 1e-9))


@dataclass(slots=True)
class Dispersion:
    """NB2 over-dispersion by moments: sum((x - mean)**2 - mean) / sum(mean**2), exponentially
    weighted. Pooling numerator and denominator (rather than averaging per-bucket ratios) keeps
    near-empty buckets, where the ratio is pure noise, from dominating."""

    half_life: float
    """In observations."""
    initial: float = 0.5
    minimum: float = 0.01
    excess_variance: float = 0.0
    squared_mean: float = 0.0
    updates: int = 0

    @property
    def value(self) -> float:
        """The estimate, shrunk towards `initial` over the first observations: one bucket says
        nothing about spread, and an early estimate near 0 would make everything look surprising."""
        if self.squared_mean <= 0.0:
            return self.initial
        weight = self.updates / (self.updates + PRIOR_OBSERVATIONS)
        estimate = weight * self.excess_variance / self.squared_mean + (1.0 - weight) * self.initial
        return max(self.minimum, estimate)

    def restart(self) -> None:
        """Start a fresh estimate whose prior is the current one (when the model just changed)."""
        self.initial, self.excess_variance, self.squared_mean, self.updates = self.value, 0.0, 0.0, 0

    def update(self, observed: float, expected: float) -> None:
        self.updates += 1
        rate = max(1.0 / self.updates, half_life_rate(self.half_life))
        self.excess_variance += rate * ((observed - expected) ** 2 - expected - self.excess_variance)
        self.squared_mean += rate * (expected * expected - self.squared_mean)


@dataclass(slots=True)
class SummedSurprise:
    """Surprise of the counts summed over trailing spans of buckets, e.g. 3 buckets and an hour.

    A rumour that builds over many buckets, none of them wild on its own, still adds up. Summed
    residuals are correlated (a baseline that is off stays off for a while), so each span learns
    its own dispersion from its own sums instead of assuming independent buckets."""

    spans: list[int]
    spreads: list[Dispersion]
    entries: list[list[float]] = field(default_factory=list)
    """[observed, winsorised, expected] per bucket, oldest first, as many as the longest span."""

    @classmethod
    def create(cls, spans: list[int], half_life: float) -> SummedSurprise:
        return cls(list(spans), [Dispersion(half_life) for _ in spans])

    def push(self, observed: float, winsorised: float, expected: float) -> None:
        self.entries.append([observed, winsorised, expected])
        del self.entries[: -max(self.spans)]

    def totals(self, span: int) -> tuple[float, float, float]:
        """Observed, winsorised and expected sums over span number `span`."""
        tail = self.entries[-self.spans[span] :]
        return sum(e[0] for e in tail), sum(e[1] for e in tail), sum(e[2] for e in tail)

    def surprises(self, min_excess: float) -> list[float]:
        """One surprise per span, each floored by `min_excess` on its own sum."""
        values = []
        for index, spread in enumerate(self.spreads):
            observed, _, expected = self.totals(index)
            values.append(surprise(observed, expected, spread.value, min_excess))
        return values

    def learn(self) -> None:
        """Update each span's dispersion with its winsorised sum (after scoring)."""
        for index, spread in enumerate(self.spreads):
            _, winsorised, expected = self.totals(index)
            spread.update(winsorised, expected)

    def restart(self) -> None:
        for spread in self.spreads:
            spread.restart()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SummedSurprise:
        spreads = [Dispersion(**spread) for spread in data["spreads"]]
        return cls(list(data["spans"]), spreads, [list(entry) for entry in data["entries"]])
