"""`SentimentScorer.score(text, lang)`, the one entry point: vaderSentiment's exact numbers for English
(cached by text; `tests/test_vader_exact.py` checks them on far more texts), the lexicon scorers for
German and Danish, `None` for everything else."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.sentiment_speed import hostile_texts
from brandmon.schemas import MAX_MESSAGE_BYTES, Sentiment
from streams.sentiment import (
    POSITIVE_THRESHOLD,
    SCORED_LANGUAGES,
    VADER_MODEL,
    VADER_VERSION,
    SentimentScorer,
    label_for,
)
from streams.vader_exact import ExactVader

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


def test_english_keeps_vaders_minus_zero() -> None:
    """VADER rounds a tiny negative sum to a compound of -0.0; the `Sentiment` says -0.0 too, even
    after a text whose scores differ only by that sign (0.0 == -0.0, so they must not be shared)."""
    text, plus = "skeptics irritate =p opportunistically", "good abandon"
    vader = SentimentIntensityAnalyzer()
    assert repr(vader.polarity_scores(text)) == repr({"neg": 0.5, "neu": 0.0, "pos": 0.5, "compound": -0.0})
    assert repr(vader.polarity_scores(plus)) == repr({"neg": 0.5, "neu": 0.0, "pos": 0.5, "compound": 0.0})
    for scorer in (SentimentScorer(), SentimentScorer(cache_texts=0)):
        for _ in range(2):
            for words, compound in ((plus, "0.0"), (text, "-0.0")):
                got = scorer.score(words, "en")
                assert got is not None
                assert repr(got.compound) == compound
                assert f'"compound":{compound},' in got.model_dump_json()


def test_cache_is_bounded_per_language_and_skips_long_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("streams.sentiment.CACHED_TEXT_CHARS", 40)
    scorer = SentimentScorer(cache_texts=3)
    texts = [f"post {i} is great" for i in range(5)]
    first = [scorer.score(text, "en") for text in texts]
    assert list(scorer._cache) == [("en", t) for t in texts[2:]]
    assert scorer.score(texts[2], "en") is first[2]  # a hit moves it to the end
    assert list(scorer._cache) == [("en", texts[3]), ("en", texts[4]), ("en", texts[2])]
    scorer.score("a long post, " * 10 + "great", "en")
    assert len(scorer._cache) == 3
    assert all("a long post" not in text for _, text in scorer._cache)
    uncached = SentimentScorer(cache_texts=0)
    uncached.score("great", "en")
    assert not uncached._cache


def test_a_cached_text_keeps_its_score_in_each_language() -> None:
    """`gift` is poison in German and a present (or married) in Danish and English."""
    scorer, uncached = SentimentScorer(), SentimentScorer(cache_texts=0)
    text = "Das ist gift, super"
    for _ in range(2):
        scores = {lang: scorer.score(text, lang) for lang in ("en", "de", "da", "fr")}
        assert scores == {lang: uncached.score(text, lang) for lang in ("en", "de", "da", "fr")}
    assert scores["fr"] is None
    assert len({s.model for s in scores.values() if s is not None}) == 3


def test_equal_scores_share_one_sentiment(scorer: SentimentScorer) -> None:
    neutral = scorer.score("the parcel arrived on tuesday", "en")
    assert neutral is scorer.score("my order is here", "en")
    assert neutral is not None
    assert (neutral.compound, neutral.neu, neutral.label) == (0.0, 1.0, "neutral")
    assert scorer.score("", "en") == Sentiment(
        compound=0.0,
        pos=0.0,
        neu=0.0,
        neg=0.0,
        label="neutral",
        model=VADER_MODEL,
        model_version=VADER_VERSION,
    )


LARGEST = hostile_texts(MAX_MESSAGE_BYTES)


@pytest.mark.parametrize("lang", SCORED_LANGUAGES)
@pytest.mark.parametrize("kind", sorted(LARGEST))
def test_largest_messages_of_any_kind_are_scored(lang: str, kind: str) -> None:
    """256 KiB messages built to find slow paths; `bench.sentiment_speed` shows they take milliseconds
    (vaderSentiment itself needs seconds for 16 KiB of some of them)."""
    text = LARGEST[kind]
    got = SentimentScorer(cache_texts=0).score(text, lang)
    assert got is not None
    assert got.label == label_for(got.compound)
    if lang == "en":
        assert got.compound == ExactVader().polarity_scores(text)["compound"]
