"""Sentiment scores: vaderSentiment for English, unchanged; lexicon scorers for German and Danish.

`SentimentScorer.score(text, lang)` is the one entry point of the stream and of `brandmon score`:

- `en`: vaderSentiment's `polarity_scores` on the raw text, numbers identical to vaderSentiment's;
  `model` "vaderSentiment", `model_version` its version;
- `de`: `streams.sentiment_de.GermanScorer` (brandmon's own lexicon, VADER's rules), `model`
  "brandmon-lexicon-de";
- `da`: `streams.sentiment_da.DanishScorer` (AFINN-da and a small supplement, VADER's rules), `model`
  "brandmon-lexicon-da";
- any other language: `None`.

The German and Danish `model_version` is brandmon's version plus a hash of the lexicon files, emoji
table and rules, so it changes whenever a score could. The label thresholds are VADER's (`label_for`)
for every language.

A language brandmon cannot score gets `None`, never 0.0: a neutral zero would drag averages
towards neutral and hide what people actually feel. The German and Danish scorers are built on
their first post (about 0.1 s each), so a worker that never sees those languages never pays.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from brandmon.schemas import Sentiment, SentimentLabel

VADER_MODEL = "vaderSentiment"
VADER_VERSION = version("vaderSentiment")
POSITIVE_THRESHOLD = 0.05
"""VADER's authors' recommended cut-off for the compound score; used for every language."""
SCORED_LANGUAGES = ("en", "de", "da")


def label_for(compound: float) -> SentimentLabel:
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= -POSITIVE_THRESHOLD:
        return "negative"
    return "neutral"


class _LexiconScorer(Protocol):
    def score(self, text: str) -> Sentiment: ...


class SentimentScorer:
    def __init__(self, *, german_plugin_lexicon: Path | None = None) -> None:
        """`german_plugin_lexicon`: a GerVADER lexicon file merged into the German one (never by
        default; licence and accuracy caveats in `streams.sentiment_de`)."""
        self._vader = SentimentIntensityAnalyzer()
        self._german_plugin = german_plugin_lexicon
        self._lexicon_scorers: dict[str, _LexiconScorer] = {}

    def score(self, text: str, lang: str) -> Sentiment | None:
        """`text` scored for `lang` (ISO 639-1), or `None` if brandmon has no scorer for it."""
        if lang == "en":
            return self._score_english(text)
        scorer = self._lexicon_scorers.get(lang)
        if scorer is None:
            if lang not in SCORED_LANGUAGES:
                return None
            scorer = self._lexicon_scorers[lang] = _build(lang, self._german_plugin)
        return scorer.score(text)

    def _score_english(self, text: str) -> Sentiment:
        scores = self._vader.polarity_scores(text)
        return Sentiment(
            compound=scores["compound"],
            pos=scores["pos"],
            neu=scores["neu"],
            neg=scores["neg"],
            label=label_for(scores["compound"]),
            model=VADER_MODEL,
            model_version=VADER_VERSION,
        )


def _build(lang: str, german_plugin: Path | None) -> _LexiconScorer:
    # Imported here: those modules import `label_for` from this one, and load their lexicons on use.
    if lang == "de":
        from streams.sentiment_de import GermanScorer

        return GermanScorer(extra_lexicon=german_plugin)
    from streams.sentiment_da import DanishScorer

    return DanishScorer()
