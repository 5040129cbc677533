"""Language identification: the detected language, `und` when unsure, the declared one as fallback;
cheap evidence (function words, the declaration, letters) before lingua, and a cache that changes
no answer."""

from __future__ import annotations

import pytest

from streams.language import (
    UNDETERMINED,
    LanguageIdentifier,
    detection_words,
    lingua_language,
    primary_subtag,
)

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


@pytest.fixture(scope="module")
def uncached() -> LanguageIdentifier:
    """No cache, so `lingua_calls` counts what each text needs."""
    return LanguageIdentifier(cache_size=0)


def lingua_calls(identifier: LanguageIdentifier, text: str, declared: str | None) -> tuple[str, int]:
    """The answer and how many times lingua was asked for it."""
    before = identifier.lingua_calls
    answer = identifier.detect(text, declared)
    return answer, identifier.lingua_calls - before


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


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        ("great experience with brewbird today", "en", "en"),  # one English word, nothing against it
        ("Mein Paket ist noch nicht da, was ist los?", "de", "de"),
        ("Jeg kan ikke logge ind på kontoen", "da", "da"),  # Norwegian shares these words: declared decides
        ("Der Kundenservice von Acme ist eine Katastrophe", "en", "de"),  # a wrong declaration outvoted
        ("Mein Paket ist noch nicht da, was ist los?", "en", "de"),
        ("Hvad er det af noget, jeg har aldrig set noget lignende", None, "da"),  # hvad af noget: not nb
        (ENGLISH, None, "en"),
        (GERMAN, "en", "de"),
    ],
)
def test_clear_or_uncontradicted_evidence_needs_no_lingua(
    uncached: LanguageIdentifier, text: str, declared: str | None, expected: str
) -> None:
    assert lingua_calls(uncached, text, declared) == (expected, 0)


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        ("brewbird reports higher quarterly sales", "en", "en"),  # no function word: not taken blind
        ("Kaffeklubben åbner ny butik i Aarhus", "en", "da"),  # å is not an English letter
        ("Bohnenwerk eröffnet neuen Laden in Hamburg", "en", "de"),  # nor ö
        ("Mega fed koncert i går, the best", "en", None),  # `the`, but å
        ("Jeg er virkelig skuffet over Acme", "en", "da"),  # words English lacks
        (DANISH, "en", "da"),  # and Norwegian has most of
        ("Ik ben echt teleurgesteld in Acme", "en", "nl"),
        ("Jeg har ikke tid til det", None, None),  # Danish or Norwegian: only lingua can tell
        ("customer service is a joke", "en", "en"),  # a lone `is` is Dutch too
    ],
)
def test_ambiguous_or_contradicted_evidence_goes_to_lingua(
    uncached: LanguageIdentifier, text: str, declared: str | None, expected: str | None
) -> None:
    answer, calls = lingua_calls(uncached, text, declared)
    assert calls == 1
    if expected is not None:
        assert answer == expected


def test_a_neighbour_declared_as_a_configured_language_is_not_taken_on_shared_words(
    uncached: LanguageIdentifier,
) -> None:
    assert lingua_calls(uncached, "Hva er det du sier, jeg skjønner det ikke", "da") == ("nb", 1)


CACHE_CASES = [
    (text, declared)
    for text in (ENGLISH, GERMAN, DANISH, NORWEGIAN, SWEDISH, DUTCH, FRENCH, "great value.", "Das ist gut so")
    for declared in (None, "en", "de", "da", "fr")
]


def test_cached_answers_equal_uncached_ones_and_repeats_skip_lingua() -> None:
    cached, fresh = LanguageIdentifier(), LanguageIdentifier(cache_size=0)
    first = [cached.detect(text, declared) for text, declared in CACHE_CASES]
    calls = cached.lingua_calls
    again = [cached.detect(text, declared) for text, declared in CACHE_CASES]
    assert first == again == [fresh.detect(text, declared) for text, declared in CACHE_CASES]
    assert calls > 0
    assert cached.lingua_calls == calls, "repeats are answered from the cache"
    info = cached.cache_info()
    assert info is not None
    assert info.hits >= len([1 for text, _ in CACHE_CASES if len(detection_words(text)) >= 3])
    assert fresh.cache_info() is None


def test_the_cache_key_is_what_the_decision_uses() -> None:
    languages = LanguageIdentifier()
    text = "Hvad sker der med min pakke? Den er ikke kommet endnu."
    languages.detect(f"{text} https://example.com/a @one #acme", "da")
    languages.detect(f"{text.upper()} https://example.com/b @two", "da")  # the same words, casefolded
    padded = text + " ok" * 100  # past DETECT_CHARS
    languages.detect(f"{padded} one ending", "da")
    languages.detect(f"{padded} and another", "da")
    info = languages.cache_info()
    assert info is not None
    assert (info.hits, info.currsize) == (2, 2)
    languages.detect(text, "en")  # another declaration can change the answer: its own entry
    languages.detect(text, "en-GB")  # the same primary subtag: the same entry
    info = languages.cache_info()
    assert info is not None
    assert (info.hits, info.currsize) == (3, 3)


def test_the_cache_is_bounded() -> None:
    languages = LanguageIdentifier(cache_size=2)
    for text in (ENGLISH, GERMAN, DANISH):
        languages.detect(text)
    info = languages.cache_info()
    assert info is not None
    assert (info.currsize, info.maxsize) == (2, 2)
