"""`detect_language`: a supported declared language wins; otherwise stop words, or `und`."""

from __future__ import annotations

import pytest

from streams.language import SUPPORTED, UNDETERMINED, detect_language, primary_subtag

ENGLISH = "This is the best coffee I have had in years, and the staff were so friendly."
GERMAN = "Ich habe das nicht gewusst, aber der Kaffee ist wirklich schon sehr gut und auch günstig."
DANISH = "Jeg har ikke prøvet det før, men kaffen er god og der er også plads til os."


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("EN-us", "en"),
        ("de_AT", "de"),
        ("de-CH-1996", "de"),
        ("da", "da"),
        ("da-DK", "da"),
    ],
)
def test_declared_supported_language_wins(declared: str, expected: str) -> None:
    assert detect_language(GERMAN if expected != "de" else ENGLISH, declared) == expected
    assert detect_language("", declared) == expected


@pytest.mark.parametrize("declared", ["fr", "fr-CA", "es", "zh-Hant", "und", "x", "", None, "-", "_en"])
def test_unsupported_declared_falls_back_to_detection(declared: str | None) -> None:
    assert detect_language(ENGLISH, declared) == "en"
    assert detect_language(GERMAN, declared) == "de"
    assert detect_language(DANISH, declared) == "da"
    assert detect_language("acme", declared) == UNDETERMINED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENGLISH, "en"),
        ("Why is my order not here yet? I paid for express shipping.", "en"),
        ("The new Acme app is just what we needed", "en"),
        (GERMAN, "de"),
        ("Die neue App von Acme ist nicht gut, wir sind enttäuscht.", "de"),
        ("Mein Paket ist noch nicht da, was ist los?", "de"),
        (DANISH, "da"),
        ("Hvad sker der med min pakke? Den er ikke kommet endnu.", "da"),
        ("Vi har også købt en ny cykel, og den kan godt lide regn.", "da"),
    ],
)
def test_clear_sentences_are_detected(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "acme",
        "🔥🔥🔥",
        "#acme @globex https://example.com/x",
        "the",  # one stop word is not enough
        "acme rocks!!!",
        "at for",  # English and Danish tie
        "die the",  # English and German tie
        "1234 5678",
        "Bonjour, le café est excellent aujourd'hui",
    ],
)
def test_short_or_ambiguous_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == UNDETERMINED


def test_a_clear_lead_is_needed() -> None:
    # two English hits against one Danish hit is a clear lead (2 >= 2 * 1) ...
    assert detect_language("it is at") == "en"
    # ... but three against two is not
    assert detect_language("it at for") == UNDETERMINED


def test_detection_ignores_case() -> None:
    assert detect_language(ENGLISH.upper()) == "en"
    assert detect_language(GERMAN.upper()) == "de"


def test_primary_subtag() -> None:
    assert primary_subtag("en-GB") == "en"
    assert primary_subtag("de_AT") == "de"
    assert primary_subtag("EN") == "en"
    assert primary_subtag("") is None
    assert primary_subtag(None) is None
    assert primary_subtag("-GB") is None
    assert set(SUPPORTED) == {"en", "de", "da"}
