"""Which language a mention is written in: `en`, `de`, `da`, another ISO 639-1 code, or `und`.

lingua-language-detector decides, restricted to the configured languages plus close neighbours
(so Norwegian or Swedish is not forced into Danish, nor Dutch into German; a language far from
all of them ends up `und`). It costs 60-300 us a text, more than VADER, so clear cases are settled
first by function words: three or more hits in one configured language and at most half as many
in any other (Norwegian and Swedish included, which is why Danish mostly goes to lingua).
Text with fewer than three words, or where lingua gives no language half the confidence, is `und`
rather than a guess; then the platform's declared language is used if it is a configured one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cached_property

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

UNDETERMINED = "und"
DEFAULT_LANGUAGES = ("en", "de", "da")
NEIGHBOURS = ("sv", "nb", "nl")
"""Detected too, so text in them is named correctly instead of being read as a configured one."""
MIN_WORDS = 3
MIN_CONFIDENCE = 0.5
"""lingua's share for its top language; French text, absent from the candidates, scores ~0.49 as English."""
DETECT_CHARS = 200
"""lingua's cost grows with length while a post's language does not change: look at its start."""

_FUNCTION_WORDS: dict[str, str] = {
    "en": "the and is are was were this that with for not you it of to in my have has but just what "
    "why how they we be so at on",
    "de": "der die das und ist nicht ich ein eine mit für auf es sind wir sie zu von den dem auch "
    "noch aber wie was schon mein meine",
    "da": "og er det den ikke jeg en et med til på af som har vi de at for så men hvad mig min også nu kan",
    "sv": "och är det inte jag en ett med till på av som har vi de att för så men vad mig min också nu kan",
    "nb": "og er det ikke jeg en et med til på av som har vi de å for så men hva meg min også nå kan",
}
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")
_WORD = re.compile(r"[^\W\d_]{2,}")


def primary_subtag(tag: str | None) -> str | None:
    """`de-AT` -> `de`; None for an empty or malformed tag."""
    if not tag:
        return None
    return tag.split("-")[0].split("_")[0].lower() or None


def lingua_language(code: str) -> Language:
    """The lingua language for an ISO 639-1 code; ValueError naming the code if there is none."""
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except (AttributeError, ValueError):
        raise ValueError(f"{code!r} is not an ISO 639-1 code lingua can detect") from None


class LanguageIdentifier:
    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        self.languages = tuple(languages)
        self._detectable = tuple(dict.fromkeys([*self.languages, *NEIGHBOURS]))
        for code in self._detectable:
            lingua_language(code)
        self._words_to_languages: dict[str, tuple[str, ...]] = {}
        for lang, words in _FUNCTION_WORDS.items():
            for word in words.split():
                self._words_to_languages[word] = (*self._words_to_languages.get(word, ()), lang)

    @cached_property
    def _detector(self) -> LanguageDetector:
        """Built on first use: loading the models takes a while and memory."""
        return LanguageDetectorBuilder.from_languages(*(lingua_language(c) for c in self._detectable)).build()

    def detect(self, text: str, declared: str | None = None) -> str:
        declared_primary = primary_subtag(declared)
        hint = declared_primary if declared_primary in self.languages else None
        detected = self._detect(text, hint)
        if detected == UNDETERMINED and hint is not None:
            return hint
        return detected

    def _detect(self, text: str, hint: str | None) -> str:
        start = _NOISE.sub(" ", text[: DETECT_CHARS * 4])[:DETECT_CHARS]
        words = _WORD.findall(start.casefold())
        if len(words) < MIN_WORDS:
            return UNDETERMINED
        hits = self._function_word_hits(words)
        clear = self._clear_winner(hits)
        if clear is not None:
            return clear
        if hint is not None and hits and _agrees(hint, hits):
            return hint
        top = self._detector.compute_language_confidence_values(" ".join(words))[0]
        return top.language.iso_code_639_1.name.lower() if top.value >= MIN_CONFIDENCE else UNDETERMINED

    def _function_word_hits(self, words: Iterable[str]) -> dict[str, int]:
        hits: dict[str, int] = {}
        for word in words:
            for lang in self._words_to_languages.get(word, ()):
                hits[lang] = hits.get(lang, 0) + 1
        return hits

    def _clear_winner(self, hits: dict[str, int]) -> str | None:
        if not hits:
            return None
        ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
        best, best_hits = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0
        if best in self.languages and best_hits >= 3 and best_hits >= 2 * runner_up:
            return best
        return None


def _agrees(hint: str, hits: dict[str, int]) -> bool:
    """The declared language has at least two function words and no language has more: the
    platform's word is then cheaper evidence than lingua's (~60-165 us) and as good."""
    return hits.get(hint, 0) >= 2 and hits[hint] >= max(hits.values())
