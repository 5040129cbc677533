"""Sentiment scores: vaderSentiment's numbers for English; lexicon scorers for German and Danish.

`SentimentScorer.score(text, lang)` is the one entry point of the stream and of `brandmon score`:

- `en`: exactly what vaderSentiment's `polarity_scores` returns for the raw text (`==`, the same
  floats, -0.0 included), computed by `streams.vader_exact.ExactVader` in time linear in the text
  (vaderSentiment itself is quadratic) and several times faster; `model` "vaderSentiment",
  `model_version` the installed vaderSentiment's version;
- `de`: `streams.sentiment_de.GermanScorer` (brandmon's own lexicon, VADER's rules), `model`
  "brandmon-lexicon-de";
- `da`: `streams.sentiment_da.DanishScorer` (AFINN-da and a small supplement, VADER's rules), `model`
  "brandmon-lexicon-da";
- any other language: `None`.

Results are kept in a bounded LRU cache by language and text (reshares and duplicates are common
in social streams): texts up to `CACHED_TEXT_CHARS`, at most `CACHE_TEXTS` of them. A text without any
sentiment word is neutral without rule work and gets one shared `Sentiment` (it is immutable);
`streams.vader_exact.SCORES_NEUTRAL` shows why that is VADER's result too.

The German and Danish `model_version` is brandmon's version plus a hash of the lexicon files, emoji
table and rules, so it changes whenever a score could. The label thresholds are VADER's (`label_for`)
for every language.

A language brandmon cannot score gets `None`, never 0.0: a neutral zero would drag averages
towards neutral and hide what people actually feel. The German and Danish scorers are built on
their first post (about 0.1 s each), so a worker that never sees those languages never pays.
"""

from __future__ import annotations

from collections import OrderedDict
from importlib.metadata import version
from pathlib import Path
from typing import Protocol

from brandmon.schemas import Sentiment, SentimentLabel
from streams.vader_exact import SCORES_EMPTY, SCORES_NEUTRAL, ExactVader

VADER_MODEL = "vaderSentiment"
VADER_VERSION = version("vaderSentiment")
POSITIVE_THRESHOLD = 0.05
"""VADER's authors' recommended cut-off for the compound score; used for every language."""
SCORED_LANGUAGES = ("en", "de", "da")
CACHE_TEXTS, CACHED_TEXT_CHARS = 10_000, 512
"""Texts remembered (least recently used first out) and the longest text remembered: at most
about 6 MB of ASCII text (20 MB of 4-byte characters), typically 1-2 MB for social posts."""


def label_for(compound: float) -> SentimentLabel:
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= -POSITIVE_THRESHOLD:
        return "negative"
    return "neutral"


class _LexiconScorer(Protocol):
    def score(self, text: str) -> Sentiment: ...


class SentimentScorer:
    def __init__(self, *, german_plugin_lexicon: Path | None = None, cache_texts: int = CACHE_TEXTS) -> None:
        """`german_plugin_lexicon`: a GerVADER lexicon file merged into the German one (never by
        default; licence and accuracy caveats in `streams.sentiment_de`). `cache_texts`: size of
        the cache (0: none)."""
        self._vader = ExactVader()
        self._cache: OrderedDict[tuple[str, str], Sentiment] = OrderedDict()
        """An LRU in C (cachetools' `LRUCache` spends about 2.5 us in Python per insertion, about what a
        repeat saves when most posts are new)."""
        self._cache_texts = cache_texts
        self._empty, self._neutral = _vader_sentiment(SCORES_EMPTY), _vader_sentiment(SCORES_NEUTRAL)
        self._german_plugin = german_plugin_lexicon
        self._lexicon_scorers: dict[str, _LexiconScorer] = {}

    def score(self, text: str, lang: str) -> Sentiment | None:
        """`text` scored for `lang` (ISO 639-1), or `None` if brandmon has no scorer for it."""
        if lang not in SCORED_LANGUAGES:
            return None
        cache, key = self._cache, (lang, text)
        cached = cache.get(key)
        if cached is not None:
            cache.move_to_end(key)
            return cached
        sentiment = self._english_sentiment(text) if lang == "en" else self._lexicon_scorer(lang).score(text)
        if self._cache_texts and len(text) <= CACHED_TEXT_CHARS:
            cache[key] = sentiment
            if len(cache) > self._cache_texts:
                cache.popitem(last=False)
        return sentiment

    def _lexicon_scorer(self, lang: str) -> _LexiconScorer:
        scorer = self._lexicon_scorers.get(lang)
        if scorer is None:
            scorer = self._lexicon_scorers[lang] = _build(lang, self._german_plugin)
        return scorer

    def _english_sentiment(self, text: str) -> Sentiment:
        scores = self._vader.scores(text)
        if scores is SCORES_NEUTRAL:
            return self._neutral
        return self._empty if scores is SCORES_EMPTY else _vader_sentiment(scores)


def _vader_sentiment(scores: dict[str, float]) -> Sentiment:
    compound = scores["compound"]
    return Sentiment(
        compound=compound,
        pos=scores["pos"],
        neu=scores["neu"],
        neg=scores["neg"],
        label=label_for(compound),
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
