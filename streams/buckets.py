"""What one brand's mentions in one time bucket add up to, for the spike detector and its alerts.

Counts alone cannot tell a rumour from a spammer: a bucket also keeps its distinct authors
(one account posting 500 times is one author), sources, languages, sentiment, the share of
enquiry, correction and reshare posts, bounded term counts and a few representative posts
from different authors, most engaged first. Buckets serialise to plain JSON for Faust tables.
"""

from __future__ import annotations

import base64
import hashlib
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from brandmon.schemas import SamplePost, ScoredMention
from streams.query_ast import normalise
from streams.rumour_signals import RumourSignals, signals_of_normal
from streams.terms import TermCounter, TextTerms, own_words, site_of, text_terms

MAX_AUTHORS = 20_000
"""Distinct authors kept per bucket; beyond this each new mention counts as a new author."""
KEPT_POSTS = 12
"""Most engaged posts kept per bucket; an alert shows five, those with its driving terms first."""
SAMPLE_TEXT_CHARS = 280
CACHED_TEXTS = 4096
"""Recent texts whose rumour signals and terms are kept: reshares, bots' copies and a post that
matches two brands repeat a text within seconds, and reading one costs 5-30 us."""
CACHED_TEXT_CHARS = 280
"""Longer texts are read each time: they rarely repeat, and the cache stays small (~5 MB on the
simulated stream, ~33 MB if every text is 280 characters of words seen nowhere else)."""
CACHED_AUTHORS = 8192
"""Recent authors whose `author_key` is kept."""


def author_key(record: ScoredMention) -> str:
    """Who posted it: the platform's author id or handle; otherwise the post itself."""
    author = record.mention.author
    who = author.id or author.handle or record.mention.id
    return _hashed(f"{record.mention.source}:{who}")


@lru_cache(maxsize=CACHED_AUTHORS)
def _hashed(who: str) -> str:
    """Authors post again and again; hashing is half the cost of counting one."""
    return hashlib.blake2b(who.encode(), digest_size=8).hexdigest()


class TextFeatures:
    """What a bucket reads from a text: its rumour signals and, when asked, its terms (of
    posts, not reshares), both from one normalisation."""

    __slots__ = ("_normal", "_terms", "signals")

    def __init__(self, text: str) -> None:
        self._normal = normalise(text)
        self.signals: RumourSignals = signals_of_normal(self._normal)
        self._terms: TextTerms | None = None

    @property
    def terms(self) -> TextTerms:
        """Read on first use: a reshare's terms are not counted."""
        if self._terms is None:
            self._terms = text_terms(self._normal)
        return self._terms


_cached_features = lru_cache(maxsize=CACHED_TEXTS)(TextFeatures)


def text_features(text: str) -> TextFeatures:
    """The `TextFeatures` of a text, kept for recent texts up to CACHED_TEXT_CHARS."""
    return _cached_features(text) if len(text) <= CACHED_TEXT_CHARS else TextFeatures(text)


def _sample_order(sample: SamplePost) -> tuple[int, datetime]:
    """Most engaged first, then the earliest: the order of a bucket's `samples`."""
    return -sample.engagement, sample.created_at


def engagement_of(record: ScoredMention) -> int:
    e = record.mention.engagement
    return (e.likes or 0) + 2 * (e.reshares or 0) + (e.replies or 0)


@dataclass
class BucketStats:
    start: float
    mentions: int = 0
    authors: set[str] = field(default_factory=set)
    extra_authors: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    langs: Counter[str] = field(default_factory=Counter)
    scored: int = 0
    negative: int = 0
    compound_sum: float = 0.0
    enquiries: int = 0
    corrections: int = 0
    reshares: int = 0
    terms: TermCounter = field(default_factory=TermCounter)
    samples: list[SamplePost] = field(default_factory=list)

    def add(self, record: ScoredMention) -> None:
        mention = record.mention
        self.mentions += 1
        key = author_key(record)
        if key not in self.authors:
            if len(self.authors) < MAX_AUTHORS:
                self.authors.add(key)
            else:
                self.extra_authors += 1
        self.sources[mention.source] += 1
        self.langs[record.lang] += 1
        sentiment = record.sentiment
        if sentiment is not None:
            self.scored += 1
            self.compound_sum += sentiment.compound
            self.negative += sentiment.label == "negative"
        features = text_features(mention.text)
        signals = features.signals
        self.enquiries += signals.enquiry
        self.corrections += signals.correction
        if mention.reshare_of is not None:
            self.reshares += 1
            return
        own = own_words(tuple(record.matched_terms))
        self.terms.add(features.terms.terms(site_of(mention.url), own))
        self._keep_sample(record)

    @property
    def unique_authors(self) -> int:
        return len(self.authors) + self.extra_authors

    def _keep_sample(self, record: ScoredMention) -> None:
        """Keep the post if it is among the KEPT_POSTS most engaged, one per author (the more
        engaged post of an author, the earlier of two equal ones). `samples` stays in that order."""
        mention = record.mention
        engagement = engagement_of(record)
        samples = self.samples
        full = len(samples) >= KEPT_POSTS
        if mention.reshare_of is not None or (full and engagement <= samples[-1].engagement):
            return
        author = mention.author.handle or mention.author.id or mention.id
        kept = samples
        for sample in samples:
            if sample.author == author:
                if sample.engagement >= engagement:
                    return
                kept = [s for s in samples if s.author != author]
                break
        else:
            kept = samples.copy()
        order = (-engagement, mention.created_at)
        kept.insert(
            bisect_right(kept, order, key=_sample_order),
            SamplePost(
                id=mention.id,
                author=author,
                source=mention.source,
                url=mention.url,
                text=mention.text[:SAMPLE_TEXT_CHARS],
                engagement=engagement,
                lang=record.lang,
                created_at=mention.created_at,
            ),
        )
        del kept[KEPT_POSTS:]
        self.samples = kept

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "mentions": self.mentions,
            "authors": sorted(self.authors),
            "extra_authors": self.extra_authors,
            "sources": dict(self.sources),
            "langs": dict(self.langs),
            "scored": self.scored,
            "negative": self.negative,
            "compound_sum": self.compound_sum,
            "enquiries": self.enquiries,
            "corrections": self.corrections,
            "reshares": self.reshares,
            "terms": base64.b64encode(self.terms.to_bytes()).decode("ascii"),
            "samples": [s.model_dump(mode="json") for s in self.samples],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BucketStats:
        return cls(
            start=data["start"],
            mentions=data["mentions"],
            authors=set(data["authors"]),
            extra_authors=data["extra_authors"],
            sources=Counter(data["sources"]),
            langs=Counter(data["langs"]),
            scored=data["scored"],
            negative=data["negative"],
            compound_sum=data["compound_sum"],
            enquiries=data["enquiries"],
            corrections=data["corrections"],
            reshares=data["reshares"],
            terms=TermCounter.from_bytes(base64.b64decode(data["terms"])),
            samples=[SamplePost.model_validate(s) for s in data["samples"]],
        )
