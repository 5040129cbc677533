"""Sentiment scores: vaderSentiment for English, unchanged; no score for other languages.

A language brandmon cannot score gets `None`, never 0.0: a neutral zero would drag averages
towards neutral and hide what people actually feel.
"""

from __future__ import annotations

from importlib.metadata import version

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from brandmon.schemas import Sentiment, SentimentLabel

VADER_MODEL = "vaderSentiment"
VADER_VERSION = version("vaderSentiment")
POSITIVE_THRESHOLD = 0.05
"""VADER's authors' recommended cut-off for the compound score."""


def label_for(compound: float) -> SentimentLabel:
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= -POSITIVE_THRESHOLD:
        return "negative"
    return "neutral"


class SentimentScorer:
    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()

    def score(self, text: str, lang: str) -> Sentiment | None:
        if lang != "en":
            return None
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
