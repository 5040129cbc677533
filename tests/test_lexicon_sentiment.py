"""The German and Danish lexicon scorers: VADER's rules (negation, boosters, contrast, "!", ALL CAPS,
emoji) on brandmon's German lexicon and on AFINN-da, and the engine's own additions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from brandmon.schemas import MAX_MESSAGE_BYTES
from streams.lexicon_sentiment import MAX_CACHED_WORD_CHARS, LexiconScorer
from streams.sentiment import SentimentScorer, label_for
from streams.sentiment_da import DanishScorer, danish_rules
from streams.sentiment_de import GermanScorer, german_rules


@pytest.fixture(scope="module")
def de() -> GermanScorer:
    return GermanScorer()


@pytest.fixture(scope="module")
def da() -> DanishScorer:
    return DanishScorer()


def compound(scorer: GermanScorer | DanishScorer, text: str) -> float:
    return scorer.polarity_scores(text)["compound"]


@pytest.mark.parametrize(
    ("positive", "negated"),
    [
        ("Das ist gut", "Das ist nicht gut"),
        ("Der Service war freundlich", "Der Service war nie freundlich"),
        ("Ein Erfolg", "Kein Erfolg"),
        ("Das gefällt mir", "Das gefällt mir nicht"),  # `nicht` after the verb
        ("Ich mag den Laden", "Ich mag den Laden nicht"),
    ],
)
def test_german_negation_flips_the_sign(de: GermanScorer, positive: str, negated: str) -> None:
    assert compound(de, positive) > 0.05
    assert compound(de, negated) < -0.05


@pytest.mark.parametrize(
    ("positive", "negated"),
    [
        ("Maden er god", "Maden er ikke god"),
        ("Det var en god oplevelse", "Det var aldrig en god oplevelse"),
        ("Jeg elsker det", "Jeg elsker det ikke"),  # `ikke` after the verb
    ],
)
def test_danish_negation_flips_the_sign(da: DanishScorer, positive: str, negated: str) -> None:
    assert compound(da, positive) > 0.05
    assert compound(da, negated) < -0.05


def test_negated_negative_turns_mildly_positive(de: GermanScorer, da: DanishScorer) -> None:
    assert 0.05 < compound(de, "Das ist nicht schlecht") < compound(de, "Das ist gut")
    assert compound(da, "Det er ikke dårligt") > 0.05


def test_punctuation_ends_a_negation(de: GermanScorer) -> None:
    assert compound(de, "Nicht schlimm. Gut gemacht") > compound(de, "Nicht gut gemacht")
    assert compound(de, "Ich weiß nicht, gut gemacht") > 0.05


@pytest.mark.parametrize(
    ("scorer_name", "plain", "boosted", "dampened"),
    [
        ("de", "Das Essen ist gut", "Das Essen ist sehr gut", "Das Essen ist etwas gut"),
        ("de", "Der Zug ist schlecht", "Der Zug ist total schlecht", "Der Zug ist kaum schlecht"),
        ("da", "Maden er god", "Maden er meget god", "Maden er lidt god"),
        ("da", "Maden er dårlig", "Maden er virkelig dårlig", "Maden er lidt dårlig"),
    ],
)
def test_boosters_raise_and_dampeners_lower_the_magnitude(
    request: pytest.FixtureRequest, scorer_name: str, plain: str, boosted: str, dampened: str
) -> None:
    scorer = request.getfixturevalue(scorer_name)
    assert abs(compound(scorer, dampened)) < abs(compound(scorer, plain)) < abs(compound(scorer, boosted))


@pytest.mark.parametrize(
    ("scorer_name", "text"),
    [
        ("de", "Das Essen war gut, aber der Service war schlecht"),
        ("de", "Pünktlich. Aber furchtbar laut und dreckig."),
        ("da", "Maden var god, men betjeningen var dårlig"),
    ],
)
def test_what_follows_a_contrast_word_weighs_more(
    request: pytest.FixtureRequest, scorer_name: str, text: str
) -> None:
    scorer = request.getfixturevalue(scorer_name)
    assert compound(scorer, text) < -0.05


def test_contrast_keeps_the_later_praise(de: GermanScorer, da: DanishScorer) -> None:
    assert compound(de, "Der Zug war schlecht, aber das Personal war super freundlich") > 0.05
    assert compound(da, "Toget var dårligt, men personalet var fantastisk") > 0.05


@pytest.mark.parametrize(
    ("scorer_name", "text"),
    [("de", "Das ist gut"), ("de", "Das ist schlecht"), ("da", "Det er godt"), ("da", "Det er dårligt")],
)
def test_exclamation_marks_raise_the_magnitude_up_to_four(
    request: pytest.FixtureRequest, scorer_name: str, text: str
) -> None:
    scorer = request.getfixturevalue(scorer_name)
    magnitudes = [abs(compound(scorer, text + "!" * n)) for n in range(6)]
    assert magnitudes[0] < magnitudes[1] < magnitudes[2] < magnitudes[4]
    assert magnitudes[4] == magnitudes[5]


def test_all_caps_words_raise_the_magnitude_only_among_lower_case(de: GermanScorer, da: DanishScorer) -> None:
    assert abs(compound(de, "Das ist GUT")) > abs(compound(de, "Das ist gut"))
    assert abs(compound(de, "Der Service ist SCHLECHT")) > abs(compound(de, "Der Service ist schlecht"))
    assert abs(compound(da, "Maden er DÅRLIG")) > abs(compound(da, "Maden er dårlig"))
    assert compound(de, "DAS IST GUT") == compound(de, "das ist gut")  # everything shouted: no emphasis


@pytest.mark.parametrize("text", ["😍", "😡", "👍", "💔", ":-)", ":(", "<3"])
def test_emoji_alone_score_the_same_in_german_and_danish(
    de: GermanScorer, da: DanishScorer, text: str
) -> None:
    assert compound(de, text) == compound(da, text) != 0.0


def test_emoji_have_their_sign_and_add_to_words(de: GermanScorer, da: DanishScorer) -> None:
    assert compound(de, "😍") > 0.05
    assert compound(de, "😡") < -0.05
    assert compound(de, "💔") < -0.05  # VADER's description, "broken heart", would read positive
    assert compound(de, "Lieferung heute 😡") < -0.05
    assert compound(da, "Levering i dag 👍") > 0.05
    assert compound(de, "Das ist gut 👍") > compound(de, "Das ist gut")
    assert compound(de, "gut😡😡") < 0  # emoji glued to a word are still tokens
    assert compound(de, "Super ❤️") > compound(de, "Super")  # the variation selector is ignored


def test_umlauts_and_sharp_s_may_be_spelled_out(de: GermanScorer) -> None:
    """Decision: ae/oe/ue/ss count as ä/ö/ü/ß; a dropped umlaut does not ("schon" means "already")."""
    for written, spelled_out in [
        ("schön", "schoen"),
        ("Ärger", "Aerger"),
        ("großartig", "grossartig"),
        ("übel", "uebel"),
        ("Müll", "Muell"),
    ]:
        assert compound(de, spelled_out) == compound(de, written) != 0.0
    assert compound(de, "schon") == 0.0
    assert compound(de, "SCHÖN") == compound(de, "schön")
    assert compound(de, "voellig kaputt") == compound(de, "völlig kaputt") < compound(de, "kaputt")


def test_danish_letters(da: DanishScorer) -> None:
    assert compound(da, "Det var en dårlig oplevelse") < -0.05
    assert compound(da, "Sikke en glæde") > 0.05
    assert compound(da, "Det er skønt") > 0.05  # from brandmon's supplement to AFINN-da
    assert compound(da, "MADEN VAR DÅRLIG") == compound(da, "maden var dårlig")  # Å lower-cased
    assert compound(da, "Ærgerligt og træls") < -0.05


def test_inflected_forms_and_compounds(de: GermanScorer, da: DanishScorer) -> None:
    assert compound(da, "flotte") == compound(da, "flot") > 0.05  # agreement ending not listed in AFINN
    assert compound(de, "Serverausfall in der Zentrale") < -0.05  # ends in a lexicon noun
    assert compound(de, "Heizungsausfall") == compound(de, "Ausfall") < -0.05
    assert compound(de, "entspannen") > 0.0  # lower case: not read as "ent" + "Spannen" -> "Pannen"
    assert compound(de, "Wir sind gefahren") == 0.0  # "fahren", not the noun "Gefahren"
    assert compound(de, "Der Teller war mager") < 0.0  # not "mag" + "er"


def test_phrases_and_courtesy(de: GermanScorer, da: DanishScorer) -> None:
    assert compound(de, "Danke für nichts") < -0.05
    assert compound(de, "Vielen Dank!") > 0.05
    assert compound(de, "Liebe Grüße aus Berlin") == 0.0
    assert compound(de, "Danke für die Info") > 0.05
    late = "der Zug ist schon wieder zu spät"
    assert compound(de, f"Danke, {late}") == compound(de, late) < -0.05  # sarcasm or formula
    assert compound(da, "Tak, toget er forsinket igen") == compound(da, "Toget er forsinket igen") < -0.05


NOTHING = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}


def test_urls_and_neutral_text_score_zero(de: GermanScorer, da: DanishScorer) -> None:
    assert de.polarity_scores("https://example.com/gut/super/toll") == NOTHING
    assert de.polarity_scores("Der Zug fährt um acht.") == {**NOTHING, "neu": 1.0}
    assert da.polarity_scores("") == NOTHING


@pytest.mark.parametrize(
    "text",
    [
        "Das ist SEHR gut!!! 👍",
        "Nicht schlecht, aber teuer.",
        "Maden var god, men dyr :(",
        "Kein Problem",
        "?!?! ...",
    ],
)
def test_results_are_vader_shaped(de: GermanScorer, da: DanishScorer, text: str) -> None:
    for scorer in (de, da):
        scores = scorer.polarity_scores(text)
        assert set(scores) == {"neg", "neu", "pos", "compound"}
        assert -1.0 <= scores["compound"] <= 1.0
        assert sum((scores["neg"], scores["neu"], scores["pos"])) in (0.0, pytest.approx(1.0, abs=0.002))
        sentiment = scorer.score(text)
        assert sentiment.compound == scores["compound"]
        assert sentiment.label == label_for(scores["compound"])


def test_model_and_version_name_the_lexicon(de: GermanScorer, da: DanishScorer) -> None:
    german, danish = de.score("gut"), da.score("god")
    assert german.model == "brandmon-lexicon-de"
    assert danish.model == "brandmon-lexicon-da"
    assert "+brandmon-de." in german.model_version
    assert "+afinn-da-32+brandmon-da." in danish.model_version
    assert GermanScorer().model_version == german.model_version  # deterministic across builds


def test_version_changes_with_any_lexicon_entry_or_rule_word() -> None:
    rules, _ = german_rules()
    changed = dataclasses.replace(rules, lexicon={**rules.lexicon, "gut": 2.0})
    assert changed.digest() != rules.digest()
    assert dataclasses.replace(rules, negators=rules.negators | {"nö"}).digest() != rules.digest()
    danish = danish_rules()
    assert dataclasses.replace(danish, emoji={**danish.emoji, "🙂": 0.1}).digest() != danish.digest()


def test_optional_gervader_plugin_adds_words_ours_win(tmp_path: Path) -> None:
    plugin = tmp_path / "GERVaderLexicon.txt"
    plugin.write_text("quuxig\t2.5\t0.5\t[2, 3]\ngut\t-3.0\t0.1\t[-3, -3]\n", encoding="utf-8")
    scorer = SentimentScorer(german_plugin_lexicon=plugin)
    with_plugin, ours = scorer.score("quuxig", "de"), GermanScorer()
    assert with_plugin is not None
    assert with_plugin.label == "positive"
    assert "+brandmon-de+gervader." in with_plugin.model_version
    assert compound(ours, "quuxig") == 0.0
    assert GermanScorer(extra_lexicon=plugin).polarity_scores("gut") == ours.polarity_scores("gut")


def test_word_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("streams.lexicon_sentiment.MAX_CACHED_WORDS", 10)
    scorer = LexiconScorer(danish_rules(), "m", "v")
    scorer.polarity_scores(" ".join(f"ord{i}" for i in range(100)) + " god")
    assert all(len(cache) <= 10 for cache in scorer._caches)
    assert scorer.polarity_scores("god")["compound"] > 0.05


def test_long_words_are_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Junk words of any length would otherwise fill the memo with up to 256 KiB each."""
    scorer = LexiconScorer(danish_rules(), "m", "v")
    giant = "x" * (MAX_CACHED_WORD_CHARS + 1)
    assert scorer.polarity_scores(f"{giant} god {giant.upper()}")["compound"] > 0.05
    assert all(len(word) <= MAX_CACHED_WORD_CHARS for cache in scorer._caches for word in cache)


def test_a_maximum_size_message_is_scored(de: GermanScorer) -> None:
    """A 256 KiB message must not stall a worker: the engine is linear in the text (the time of
    hostile 256 KiB messages is measured in `bench.sentiment_speed`, not asserted here)."""
    sentence = "Der Zug war pünktlich, aber das WLAN war total kaputt!!! 😡 Danke für nichts. "
    repeated = sentence * (MAX_MESSAGE_BYTES // len(sentence.encode()))
    assert len(repeated.encode()) <= MAX_MESSAGE_BYTES
    assert de.polarity_scores(repeated)["compound"] == -1.0
    assert de.polarity_scores(sentence)["compound"] < -0.05
