"""Why an alert fired, in the terms a community manager acts on.

Compares the spike's buckets ("during") with the brand's buckets before it: which terms grew
most against their earlier share, posts from different authors (most engaged first), where
it happens, in which languages, how sentiment moved, and how rumour-like the talk is.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from brandmon.schemas import DrivingTerm, RumourEvidence, SamplePost, SentimentShift
from streams.buckets import BucketStats
from streams.query_ast import normalise
from streams.terms import TermCounter

DRIVING_TERMS = 5
SAMPLE_POSTS = 5
RUMOUR_SHARE = 0.10
"""Share of enquiry + correction posts above which a spike reads as a rumour (see RumourEvidence)."""
MIN_TERM_COUNT = 3
MIN_GROWTH = 2.0
CANDIDATE_TERMS = 40


@dataclass(frozen=True, slots=True)
class Explanation:
    terms: list[DrivingTerm]
    posts: list[SamplePost]
    sources: dict[str, int]
    languages: dict[str, int]
    sentiment: SentimentShift
    mentions: int
    enquiries: int
    corrections: int
    reshares: int
    source_count: int

    @property
    def topic(self) -> str:
        return self.terms[0].term if self.terms else "volume"

    def rumour(self, unique_authors: int, expected_authors: float) -> RumourEvidence:
        share = (lambda n: n / self.mentions) if self.mentions else (lambda n: 0.0)
        new = sum(t.new for t in self.terms)
        questioned = share(self.enquiries) + share(self.corrections)
        return RumourEvidence(
            enquiry_share=share(self.enquiries),
            correction_share=share(self.corrections),
            reshare_share=share(self.reshares),
            unique_authors=unique_authors,
            expected_authors=max(0.0, round(expected_authors, 3)),
            sources=self.source_count,
            novelty=new / len(self.terms) if self.terms else 0.0,
            likely_rumour=questioned >= RUMOUR_SHARE and self.source_count >= 2,
        )


def _merged_terms(buckets: Sequence[BucketStats]) -> TermCounter:
    merged = TermCounter()
    for bucket in buckets:
        merged.merge(bucket.terms)
    return merged


def driving_terms(during: Sequence[BucketStats], before: Sequence[BucketStats]) -> list[DrivingTerm]:
    """Terms whose count in the spike most exceeds what their share before it predicts."""
    now, then = _merged_terms(during), _merged_terms(before)
    mentions_now = sum(b.mentions for b in during)
    mentions_then = sum(b.mentions for b in before)
    ranked: list[tuple[float, DrivingTerm]] = []
    for term, count in now.top(CANDIDATE_TERMS):
        earlier = then.estimate(term)
        expected = earlier / mentions_then * mentions_now if mentions_then else 0.0
        growth = (count + 1.0) / (expected + 1.0)
        if count < MIN_TERM_COUNT or growth < MIN_GROWTH:
            continue
        term_ = DrivingTerm(
            term=term, count=count, expected=round(expected, 2), growth=round(growth, 2), new=earlier == 0
        )
        ranked.append((count * math.log(growth), term_))
    ranked.sort(key=lambda pair: (-pair[0], pair[1].term))
    return [term for _, term in ranked[:DRIVING_TERMS]]


def representative_posts(buckets: Sequence[BucketStats], terms: Sequence[DrivingTerm]) -> list[SamplePost]:
    """One post per author, those with a driving term first, most engaged first."""
    best: dict[str, SamplePost] = {}
    for bucket in buckets:
        for post in bucket.samples:
            if post.author not in best or post.engagement > best[post.author].engagement:
                best[post.author] = post
    words = [t.term for t in terms if not t.term.startswith("site:")]

    def on_topic(post: SamplePost) -> bool:
        text = normalise(post.text)
        return any(word in text for word in words)

    return sorted(best.values(), key=lambda p: (not on_topic(p), -p.engagement, p.created_at))[:SAMPLE_POSTS]


def _mean(total: float, count: int) -> float | None:
    return round(total / count, 4) if count else None


def sentiment_shift(during: Sequence[BucketStats], before: Sequence[BucketStats]) -> SentimentShift:
    def parts(buckets: Sequence[BucketStats]) -> tuple[float | None, float | None]:
        scored = sum(b.scored for b in buckets)
        return _mean(sum(b.compound_sum for b in buckets), scored), _mean(
            sum(b.negative for b in buckets), scored
        )

    before_mean, before_negative = parts(before)
    during_mean, during_negative = parts(during)
    return SentimentShift(
        before=before_mean,
        during=during_mean,
        negative_share_before=before_negative,
        negative_share_during=during_negative,
    )


def explain(during: Sequence[BucketStats], before: Sequence[BucketStats]) -> Explanation:
    sources: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    for bucket in during:
        sources.update(bucket.sources)
        languages.update(bucket.langs)
    terms = driving_terms(during, before)
    return Explanation(
        terms=terms,
        posts=representative_posts(during, terms),
        sources=dict(sources.most_common()),
        languages=dict(languages.most_common()),
        sentiment=sentiment_shift(during, before),
        mentions=sum(b.mentions for b in during),
        enquiries=sum(b.enquiries for b in during),
        corrections=sum(b.corrections for b in during),
        reshares=sum(b.reshares for b in during),
        source_count=len(sources),
    )
