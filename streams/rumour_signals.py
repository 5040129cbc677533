"""Is a post asking whether a claim is true, or saying that it is not?

Rumours spread as questions ("is it true that...", "stimmt es...", "passer det...") and are met
by corrections ("that is not true", "Falschmeldung", "det passer ikke"). A burst whose share of
such posts rises is more likely a rumour than ordinary news. Patterns are matched on the
normalised text (NFKC + casefold), in English, German and Danish, on word boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no type stubs

from streams.query_ast import normalise

ENQUIRY_PATTERNS = (
    # English
    r"is (it|this|that) (really )?true",
    r"is (it|this) real",
    r"can (anyone|someone) confirm",
    r"any(one|body) (know|heard)",
    r"is (this|that) (legit|confirmed)",
    r"really\s*\?",
    r"\bunconfirmed",
    r"\brumou?rs?\b",
    r"\bheard that\b",
    r"\bapparently\b",
    r"\ballegedly\b",
    r"(source|sources|proof|evidence|link)\s*\?",
    r"any (proof|evidence|source)",
    r"(can|could) you confirm",
    r"(is|has) (this|that|it) (been )?confirmed",
    r"how do (you|they|we) know",
    # German
    r"stimmt (es|das)",
    r"ist (das|es) wahr",
    r"kann (das )?(jemand|wer) bestätigen",
    r"\bwirklich\s*\?",
    r"\bger(ü|ue)cht",
    r"\bangeblich",
    r"\bunbestätigt",
    # Danish
    r"passer det",
    r"er det (virkelig )?(rigtigt|sandt)",
    r"kan nogen bekræfte",
    r"\bvirkelig\s*\?",
    r"\brygte",
    r"\bangiveligt",
    r"ubekræftet",
)
CORRECTION_PATTERNS = (
    # English
    r"(that|this|it)('s| is) not true",
    r"\bnot true\b",
    r"\bdebunk",
    r"\bfake news\b",
    r"\bhoax\b",
    r"\bfalse (claim|report|rumou?r|story)",
    r"\bmisinformation\b",
    r"\bfact[- ]?check",
    r"\b(lies|liar|lying)\b",
    r"(that|this|it)('s| is) (wrong|false)",
    # German
    r"(das )?stimmt nicht",
    r"\bnicht wahr\b",
    r"\bfalschmeldung",
    r"\bfake\b",
    r"\bfalsch\b",
    r"\bdementi(?!a)",
    r"\bwiderlegt",
    # Danish
    r"det passer ikke",
    r"\bikke (rigtigt|sandt)",
    r"\bfalsk",
    r"\bforkert\b",
    r"\bafkræft",
)

_ENQUIRY = re.compile("|".join(rf"\b(?:{p})" for p in ENQUIRY_PATTERNS))
_CORRECTION = re.compile("|".join(rf"\b(?:{p})" for p in CORRECTION_PATTERNS))

ENQUIRY_ANCHORS = (
    "?", "true", "real", "confirm", "know", "heard", "legit", "rumo", "apparently", "allegedly",
    "proof", "evidence", "source", "stimmt", "wahr", "bestätig", "gerücht", "geruecht",
    "angeblich", "passer det", "rigtigt", "sandt", "bekræft", "rygte", "angiveligt",
)  # fmt: skip
CORRECTION_ANCHORS = (
    "true", "debunk", "fake", "hoax", "false", "misinformation", "fact", "lies", "liar", "lying",
    "wrong", "stimmt", "wahr", "falsch", "dementi", "widerlegt", "passer ikke", "rigtigt", "sandt",
    "falsk", "forkert", "afkræft",
)  # fmt: skip
"""Every text one of the patterns matches contains one of these (tests/test_spike_inputs.py
proves it per pattern): Python's `re` tries each alternative at each word, ~15 us a post, while
most posts contain no anchor and need no regex at all."""


def _automaton(anchors: tuple[str, ...]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for anchor in anchors:
        automaton.add_word(anchor, anchor)
    automaton.make_automaton()
    return automaton


_ENQUIRY_ANCHORS, _CORRECTION_ANCHORS = _automaton(ENQUIRY_ANCHORS), _automaton(CORRECTION_ANCHORS)


def _search(pattern: re.Pattern[str], anchors: ahocorasick.Automaton, normal: str) -> bool:
    return any(True for _ in anchors.iter(normal)) and pattern.search(normal) is not None


@dataclass(frozen=True, slots=True)
class RumourSignals:
    enquiry: bool
    correction: bool


def rumour_signals(text: str) -> RumourSignals:
    normal = normalise(text)
    return RumourSignals(
        enquiry=_search(_ENQUIRY, _ENQUIRY_ANCHORS, normal),
        correction=_search(_CORRECTION, _CORRECTION_ANCHORS, normal),
    )
