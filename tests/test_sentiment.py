"""`SentimentScorer.score(text, lang)`, the one entry point: vaderSentiment's exact numbers for English,
the lexicon scorers for German and Danish, `None` for everything else."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from streams.sentiment import POSITIVE_THRESHOLD, VADER_MODEL, VADER_VERSION, SentimentScorer, label_for

ENGLISH = [
    "The new Acme app is great, I love it!",
    "The delivery was NOT good at all :(",
    "Not bad, but the support was really slow and kind of rude.",
    "Worst. Purchase. Ever!!! 😡😡",
    "I absolutely adore this 😍",
    "The parcel arrived on Tuesday.",
    "",
    "Is it any good???",
]


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer()


@pytest.mark.parametrize("text", ENGLISH)
def test_english_is_exactly_vader(scorer: SentimentScorer, text: str) -> None:
    expected = SentimentIntensityAnalyzer().polarity_scores(text)
    got = scorer.score(text, "en")
    assert got is not None
    assert (got.compound, got.pos, got.neu, got.neg) == (
        expected["compound"],
        expected["pos"],
        expected["neu"],
        expected["neg"],
    )
    assert got.label == label_for(expected["compound"])
    assert (got.model, got.model_version) == (VADER_MODEL, VADER_VERSION)


def test_vader_scores_english_emoji(scorer: SentimentScorer) -> None:
    loved, cried = scorer.score("😍", "en"), scorer.score("😭", "en")
    assert loved is not None
    assert loved.label == "positive"
    assert cried is not None
    assert cried.label == "negative"


@pytest.mark.parametrize(
    ("lang", "text", "label", "model"),
    [
        ("de", "Der Service ist nicht gut.", "negative", "brandmon-lexicon-de"),
        ("de", "Super, vielen Dank!", "positive", "brandmon-lexicon-de"),
        ("de", "Der Zug fährt um acht.", "neutral", "brandmon-lexicon-de"),
        ("de", "😡", "negative", "brandmon-lexicon-de"),
        ("da", "Maden er ikke god.", "negative", "brandmon-lexicon-da"),
        ("da", "Fantastisk service!", "positive", "brandmon-lexicon-da"),
        ("da", "👍", "positive", "brandmon-lexicon-da"),
    ],
)
def test_german_and_danish_get_their_lexicon_scorer(
    scorer: SentimentScorer, lang: str, text: str, label: str, model: str
) -> None:
    got = scorer.score(text, lang)
    assert got is not None
    assert (got.label, got.model) == (label, model)
    assert got.model_version
    assert got.model_version != VADER_VERSION


@pytest.mark.parametrize("lang", ["fr", "nl", "sv", "nb", "und", "", "EN", "de-DE"])
def test_other_languages_get_none_never_zero(scorer: SentimentScorer, lang: str) -> None:
    assert scorer.score("great 😍 gut god", lang) is None


def test_lexicon_scorers_are_built_on_first_use_and_kept() -> None:
    scorer = SentimentScorer()
    scorer.score("great", "en")
    scorer.score("bien", "fr")
    assert scorer._lexicon_scorers == {}
    scorer.score("gut", "de")
    german = scorer._lexicon_scorers["de"]
    scorer.score("sehr gut", "de")
    assert scorer._lexicon_scorers == {"de": german}


@pytest.mark.parametrize(
    ("compound", "label"),
    [(-1.0, "negative"), (-0.05, "negative"), (-0.0499, "neutral"), (0.0, "neutral"), (0.0499, "neutral"),
     (0.05, "positive"), (1.0, "positive")],
)  # fmt: skip
def test_label_thresholds_are_vaders(compound: float, label: str) -> None:
    assert POSITIVE_THRESHOLD == 0.05
    assert label_for(compound) == label


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ziemlich gut", "de"),
        ("nicht so toll", "de"),
        ("etwas teuer, aber okay", "de"),
        ("lidt dyrt", "da"),
        ("ikke dårligt", "da"),
        ("meh", "en"),
        ("not bad", "en"),
    ],
)
def test_every_label_agrees_with_label_for(scorer: SentimentScorer, text: str, lang: str) -> None:
    got = scorer.score(text, lang)
    assert got is not None
    assert got.label == label_for(got.compound)
