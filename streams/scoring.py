"""One mention in, language + sentiment + matched brands out: the path shared by the stream and
`brandmon score`, so offline results are the stream's results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from brandmon.schemas import Mention, ScoredMention, Sentiment
from streams.language import DEFAULT_LANGUAGES, LanguageIdentifier
from streams.matching import AliasMatcher, BrandAliases
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


class MentionScorer:
    def __init__(self, brands: Iterable[BrandAliases], languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        self._matcher = AliasMatcher(brands)
        self._languages = LanguageIdentifier(languages)
        self._sentiment = SentimentScorer()

    def score(self, mention: Mention, *, only_if_matched: bool = False) -> Scored | None:
        """Score a mention. With `only_if_matched`, mentions of no brand cost nothing more."""
        brands = self._matcher.match(mention.text)
        if only_if_matched and not brands:
            return None
        lang = self._languages.detect(mention.text, mention.lang_declared)
        return Scored(mention, lang, self._sentiment.score(mention.text, lang), brands)
