"""A cheap language guess for English, German and Danish from function words.

The platform's declared language wins when it names a supported language; otherwise the text needs
at least two stop-word hits and a clear lead, or it is `und` (undetermined) rather than a guess.
"""

from __future__ import annotations

import re

SUPPORTED = ("en", "de", "da")
UNDETERMINED = "und"

_STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "is",
            "are",
            "was",
            "were",
            "this",
            "that",
            "with",
            "for",
            "not",
            "you",
            "it",
            "of",
            "to",
            "in",
            "my",
            "i",
            "have",
            "has",
            "but",
            "just",
            "what",
            "why",
            "how",
            "they",
            "we",
            "be",
            "so",
            "at",
            "on",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ich",
            "ein",
            "eine",
            "mit",
            "für",
            "auf",
            "es",
            "sind",
            "wir",
            "sie",
            "zu",
            "von",
            "den",
            "dem",
            "auch",
            "noch",
            "aber",
            "wie",
            "was",
            "schon",
            "mein",
            "meine",
        ]
    ),
    "da": frozenset(
        [
            "og",
            "er",
            "det",
            "den",
            "ikke",
            "jeg",
            "en",
            "et",
            "med",
            "til",
            "på",
            "af",
            "som",
            "har",
            "vi",
            "de",
            "at",
            "for",
            "så",
            "men",
            "hvad",
            "mig",
            "min",
            "også",
            "nu",
            "kan",
        ]
    ),
}
_WORD = re.compile(r"[^\W\d_]+")


def primary_subtag(tag: str | None) -> str | None:
    if not tag:
        return None
    return tag.split("-")[0].split("_")[0].lower() or None


def detect_language(text: str, declared: str | None = None) -> str:
    declared_primary = primary_subtag(declared)
    if declared_primary in SUPPORTED:
        return declared_primary
    hits = dict.fromkeys(SUPPORTED, 0)
    for word in _WORD.findall(text.casefold()):
        for lang, words in _STOP_WORDS.items():
            if word in words:
                hits[lang] += 1
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    (best, best_hits), (_, runner_up) = ranked[0], ranked[1]
    if best_hits >= 2 and best_hits >= 2 * runner_up:
        return best
    return UNDETERMINED
