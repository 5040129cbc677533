"""What one brand's mentions in one time bucket add up to, for the spike detector and its alerts.

Counts alone cannot tell a rumour from a spammer: a bucket also keeps its distinct authors
(one account posting 500 times is one author), sources, languages, sentiment, the share of
enquiry, correction and reshare posts, bounded term counts and a few representative posts
from different authors, most engaged first. Buckets serialise to plain JSON for Faust tables.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from brandmon.schemas import SamplePost, ScoredMention
from streams.rumour_signals import rumour_signals
from streams.terms import TermCounter, extract_terms

MAX_AUTHORS = 20_000
"""Distinct authors kept per bucket; beyond this each new mention counts as a new author."""
KEPT_POSTS = 12
"""Most engaged posts kept per bucket; an alert shows five, those with its driving terms first."""
SAMPLE_TEXT_CHARS = 280


def author_key(record: ScoredMention) -> str:
    """Who posted it: the platform's author id or handle; otherwise the post itself."""
    author = record.mention.author
    who = author.id or author.handle or record.mention.id
    return hashlib.blake2b(f"{record.mention.source}:{who}".encode(), digest_size=8).hexdigest()


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
        if record.sentiment is not None:
            self.scored += 1
            self.compound_sum += record.sentiment.compound
            self.negative += record.sentiment.label == "negative"
        signals = rumour_signals(mention.text)
        self.enquiries += signals.enquiry
        self.corrections += signals.correction
        self.reshares += mention.reshare_of is not None
        if mention.reshare_of is None:
            self.terms.add(extract_terms(mention.text, mention.url, exclude=record.matched_terms))
        self._keep_sample(record)

    @property
    def unique_authors(self) -> int:
        return len(self.authors) + self.extra_authors

    def _keep_sample(self, record: ScoredMention) -> None:
        mention = record.mention
        engagement = engagement_of(record)
        full = len(self.samples) >= KEPT_POSTS
        if mention.reshare_of is not None or (full and engagement <= self.samples[-1].engagement):
            return
        author = mention.author.handle or mention.author.id or mention.id
        same = [s for s in self.samples if s.author == author]
        if same and same[0].engagement >= engagement:
            return
        sample = SamplePost(
            id=mention.id,
            author=author,
            source=mention.source,
            url=mention.url,
            text=mention.text[:SAMPLE_TEXT_CHARS],
            engagement=engagement,
            lang=record.lang,
            created_at=mention.created_at,
        )
        kept = [s for s in self.samples if s.author != author] + [sample]
        kept.sort(key=lambda s: (-s.engagement, s.created_at))
        self.samples = kept[:KEPT_POSTS]

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
