"""One mention in, language + sentiment + matched brands out: the path shared by the stream and
`brandmon score`, so offline results are the stream's results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from brandmon.schemas import Mention, ScoredMention, Sentiment
from streams.language import DEFAULT_LANGUAGES, LanguageIdentifier
from streams.query_match import PostFields, QueryMatcher
from streams.sentiment import SentimentScorer


@dataclass(frozen=True, slots=True)
class Scored:
    mention: Mention
    lang: str
    sentiment: Sentiment | None
    brands: dict[str, list[str]]

    def records(self, scored_at: datetime) -> list[ScoredMention]:
        """One scored record per matched brand (a mention can count for several brands)."""
        return [
            ScoredMention(
                mention=self.mention,
                brand=brand,
                matched_terms=terms,
                lang=self.lang,
                sentiment=self.sentiment,
                scored_at=scored_at,
            )
            for brand, terms in self.brands.items()
        ]


class BrandQuerySource(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def effective_query(self) -> str: ...


class MentionScorer:
    def __init__(
        self, brands: Iterable[BrandQuerySource], languages: Sequence[str] = DEFAULT_LANGUAGES
    ) -> None:
        queries = [(brand.id, brand.effective_query) for brand in brands]
        self._matcher = QueryMatcher(queries)
        self._lang_first = any("lang:" in query.casefold() for _, query in queries)
        """Queries with a `lang:` filter need the language before matching; others get it only
        for mentions that matched (a cheap, conservative test of the query text)."""
        self._languages = LanguageIdentifier(languages)
        self._sentiment = SentimentScorer()

    def score(self, mention: Mention, *, only_if_matched: bool = False) -> Scored | None:
        """Score a mention. With `only_if_matched`, mentions of no brand cost nothing more."""
        lang = self._languages.detect(mention.text, mention.lang_declared) if self._lang_first else None
        author = mention.author.handle or mention.author.id
        post = PostFields(mention.text, lang=lang, source=mention.source, author=author, url=mention.url)
        brands = self._matcher.match(post)
        if only_if_matched and not brands:
            return None
        if lang is None:
            lang = self._languages.detect(mention.text, mention.lang_declared)
        return Scored(mention, lang, self._sentiment.score(mention.text, lang), brands)
