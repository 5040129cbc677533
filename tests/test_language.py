"""Language identification: the detected language, `und` when unsure, the declared one as fallback."""

from __future__ import annotations

import pytest

from streams.language import UNDETERMINED, LanguageIdentifier, lingua_language, primary_subtag

ENGLISH = "This is the best coffee I have had in years, and the staff were so friendly."
GERMAN = "Ich habe das nicht gewusst, aber der Kaffee ist wirklich schon sehr gut und auch günstig."
DANISH = "Jeg har ikke prøvet det før, men kaffen er god og der er også plads til os."
NORWEGIAN = "Jeg har aldri smakt så god kaffe før, og betjeningen var hyggelig hele veien."
SWEDISH = "Jag har aldrig druckit så gott kaffe förut, och personalen var väldigt trevlig."
DUTCH = "Ik heb nog nooit zulke goede koffie gedronken, en het personeel was erg vriendelijk."
FRENCH = "Je n'ai jamais bu un café aussi bon, et le personnel était vraiment très sympathique."


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENGLISH, "en"),
        ("Why is my order not here yet? I paid for express shipping.", "en"),
        (GERMAN, "de"),
        ("Die neue App von Acme ist nicht gut, wir sind enttäuscht.", "de"),
        ("Mein Paket ist noch nicht da, was ist los?", "de"),
        (DANISH, "da"),
        ("Hvad sker der med min pakke? Den er ikke kommet endnu.", "da"),
        ("Kaffen smager fantastisk, og personalet var søde ved os", "da"),
    ],
)
def test_clear_sentences_are_detected(identifier: LanguageIdentifier, text: str, expected: str) -> None:
    assert identifier.detect(text) == expected
    assert identifier.detect(text.upper()) == expected


@pytest.mark.parametrize(("text", "expected"), [(NORWEGIAN, "nb"), (SWEDISH, "sv"), (DUTCH, "nl")])
def test_neighbour_languages_are_named_not_forced_into_a_configured_one(
    identifier: LanguageIdentifier, text: str, expected: str
) -> None:
    assert identifier.detect(text) == expected


def test_a_language_far_from_the_configured_ones_is_not_scored_as_one(identifier: LanguageIdentifier) -> None:
    assert identifier.detect(FRENCH) not in identifier.languages


@pytest.mark.parametrize(
    "text",
    [
        "",
        "acme",
        "🔥🔥🔥",
        "#acme @globex https://example.com/x/this/is/the/path",
        "great value.",
        "1234 5678 91011",
        "acme globex initech",
    ],
)
def test_short_or_wordless_text_is_undetermined(identifier: LanguageIdentifier, text: str) -> None:
    assert identifier.detect(text) == UNDETERMINED


def test_urls_handles_and_hashtags_do_not_vote(identifier: LanguageIdentifier) -> None:
    noisy = "@the_and_is #derdiedas https://example.com/og/er/det/ikke " + DANISH
    assert identifier.detect(noisy) == "da"


def test_declared_language_decides_only_when_detection_cannot(identifier: LanguageIdentifier) -> None:
    assert identifier.detect("great value.", "en-GB") == "en"
    assert identifier.detect("super Preis!", "de_AT") == "de"
    assert identifier.detect(GERMAN, "en") == "de", "confident detection beats a wrong declaration"
    assert identifier.detect("great value.", "fr") == UNDETERMINED, "fr is not configured"


def test_only_configured_languages_come_from_function_words() -> None:
    english_only = LanguageIdentifier(["en"])
    assert english_only.detect(ENGLISH) == "en"
    assert english_only.detect(GERMAN) != "en"
    assert english_only.detect("super Preis!", "de") == UNDETERMINED


def test_long_text_is_judged_by_its_start(identifier: LanguageIdentifier) -> None:
    assert identifier.detect(f"{GERMAN} {GERMAN} {ENGLISH * 500}") == "de"
    assert identifier.detect(f"{ENGLISH} {ENGLISH} {GERMAN * 500}") == "en"


def test_unknown_language_code_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="'xx' is not an ISO 639-1 code"):
        LanguageIdentifier(["en", "xx"])
    assert lingua_language("da").iso_code_639_1.name == "DA"


def test_primary_subtag() -> None:
    assert primary_subtag("en-GB") == "en"
    assert primary_subtag("de_AT") == "de"
    assert primary_subtag("EN") == "en"
    assert primary_subtag("") is None
    assert primary_subtag(None) is None
    assert primary_subtag("-GB") is None
