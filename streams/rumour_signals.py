"""Is a post asking whether a claim is true, or saying that it is not?

Rumours spread as questions ("is it true that...", "stimmt es...", "passer det...") and are met
by corrections ("that is not true", "Falschmeldung", "det passer ikke"). A burst whose share of
such posts rises is more likely a rumour than ordinary news. Patterns are matched on the
normalised text (NFKC + casefold), in English, German and Danish, on word boundaries.

Python's `re` tries each pattern at each word of a post (~100 us a pattern on a long post), while
most posts contain none of the words the patterns need. So each pattern names anchors, one of
which every text it matches contains (tests/test_spike_inputs.py proves it per pattern); one
Aho-Corasick pass finds the anchors in a post, and a pattern is only tried near an anchor of its
own: at the anchor itself when every match begins with one (`leading`), else within the longest
match the pattern allows on either side of it.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # no stubs; `getwidth` only
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no type stubs

from streams.query_ast import normalise


class Rule(NamedTuple):
    pattern: str
    anchors: tuple[str, ...]
    leading: bool = False
    """Every match begins with one of the anchors."""


ENQUIRY_RULES = (
    # English
    Rule(r"is (it|this|that) (really )?true", ("true",)),
    Rule(r"is (it|this) real", ("real",)),
    Rule(r"can (anyone|someone) confirm", ("confirm",)),
    Rule(r"any(one|body) (know|heard)", ("know", "heard")),
    Rule(r"is (this|that) (legit|confirmed)", ("legit", "confirm")),
    Rule(r"really\s*\?", ("really",), leading=True),
    Rule(r"\bunconfirmed", ("confirm",)),
    Rule(r"\brumou?rs?\b", ("rumo",), leading=True),
    Rule(r"\bheard that\b", ("heard",), leading=True),
    Rule(r"\bapparently\b", ("apparently",), leading=True),
    Rule(r"\ballegedly\b", ("allegedly",), leading=True),
    Rule(r"(source|sources|proof|evidence|link)\s*\?", ("source", "proof", "evidence", "link"), leading=True),
    Rule(r"any (proof|evidence|source)", ("proof", "evidence", "source")),
    Rule(r"(can|could) you confirm", ("confirm",)),
    Rule(r"(is|has) (this|that|it) (been )?confirmed", ("confirm",)),
    Rule(r"how do (you|they|we) know", ("know",)),
    # German
    Rule(r"stimmt (es|das)", ("stimmt",), leading=True),
    Rule(r"ist (das|es) wahr", ("wahr",)),
    Rule(r"kann (das )?(jemand|wer) bestätigen", ("bestätig",)),
    Rule(r"\bwirklich\s*\?", ("wirklich",), leading=True),
    Rule(r"\bger(ü|ue)cht", ("gerücht", "geruecht"), leading=True),
    Rule(r"\bangeblich", ("angeblich",), leading=True),
    Rule(r"\bunbestätigt", ("bestätig",)),
    # Danish
    Rule(r"passer det", ("passer det",), leading=True),
    Rule(r"er det (virkelig )?(rigtigt|sandt)", ("rigtigt", "sandt")),
    Rule(r"kan nogen bekræfte", ("bekræft",)),
    Rule(r"\bvirkelig\s*\?", ("virkelig",), leading=True),
    Rule(r"\brygte", ("rygte",), leading=True),
    Rule(r"\bangiveligt", ("angiveligt",), leading=True),
    Rule(r"ubekræftet", ("bekræft",)),
)
CORRECTION_RULES = (
    # English
    Rule(r"(that|this|it)('s| is) not true", ("true",)),
    Rule(r"\bnot true\b", ("true",)),
    Rule(r"\bdebunk", ("debunk",), leading=True),
    Rule(r"\bfake news\b", ("fake",), leading=True),
    Rule(r"\bhoax\b", ("hoax",), leading=True),
    Rule(r"\bfalse (claim|report|rumou?r|story)", ("false",), leading=True),
    Rule(r"\bmisinformation\b", ("misinformation",), leading=True),
    Rule(r"\bfact[- ]?check", ("fact",), leading=True),
    Rule(r"\b(lies|liar|lying)\b", ("lies", "liar", "lying"), leading=True),
    Rule(r"(that|this|it)('s| is) (wrong|false)", ("wrong", "false")),
    # German
    Rule(r"(das )?stimmt nicht", ("stimmt",)),
    Rule(r"\bnicht wahr\b", ("wahr",)),
    Rule(r"\bfalschmeldung", ("falsch",), leading=True),
    Rule(r"\bfake\b", ("fake",), leading=True),
    Rule(r"\bfalsch\b", ("falsch",), leading=True),
    Rule(r"\bdementi(?!a)", ("dementi",), leading=True),
    Rule(r"\bwiderlegt", ("widerlegt",), leading=True),
    # Danish
    Rule(r"det passer ikke", ("passer ikke",)),
    Rule(r"\bikke (rigtigt|sandt)", ("rigtigt", "sandt")),
    Rule(r"\bfalsk", ("falsk",), leading=True),
    Rule(r"\bforkert\b", ("forkert",), leading=True),
    Rule(r"\bafkræft", ("afkræft",), leading=True),
)
ENQUIRY_PATTERNS = tuple(rule.pattern for rule in ENQUIRY_RULES)
CORRECTION_PATTERNS = tuple(rule.pattern for rule in CORRECTION_RULES)


@dataclass(frozen=True, slots=True)
class RumourSignals:
    enquiry: bool
    correction: bool


_SIGNALS = {(e, c): RumourSignals(e, c) for e in (False, True) for c in (False, True)}
_ENQUIRY, _CORRECTION = 0, 1


class _Search:
    """One rule compiled; `near` searches it around one of its anchors found in a text."""

    def __init__(self, signal: int, rule: Rule) -> None:
        self.signal = signal
        self.pattern = re.compile(rf"\b(?:{rule.pattern})")
        self.leading = rule.leading
        longest = int(sre_parse.parse(self.pattern.pattern).getwidth()[1])
        self.width = longest if longest < sre_parse.MAXREPEAT else None
        if self.width is None and not self.leading:
            raise ValueError(f"an unbounded pattern must begin with its anchors: {rule.pattern}")

    def near(self, normal: str, start: int, end: int) -> bool:
        """Whether the pattern matches `normal` anywhere, given that any match contains one of
        its anchors and one is at `start:end`: a match containing this one starts there (leading)
        or within `width` before its end and ends within `width` after its start. Another anchor
        has its own turn."""
        if self.leading:
            return self.pattern.match(normal, start) is not None
        assert self.width is not None
        first, stop = max(0, end - self.width), min(len(normal), start + self.width + 1)
        match = self.pattern.search(normal, first, stop)
        if match is not None and match.end() == stop < len(normal):
            # Ends where the window does, so it may rest on the window's end (a `\b` there).
            match = self.pattern.search(normal, first)
        return match is not None


def _automaton() -> ahocorasick.Automaton:
    """Anchor -> (its length, the searches of the rules that name it)."""
    searches: dict[str, list[_Search]] = {}
    for signal, rules in ((_ENQUIRY, ENQUIRY_RULES), (_CORRECTION, CORRECTION_RULES)):
        for rule in rules:
            search = _Search(signal, rule)
            for anchor in rule.anchors:
                searches.setdefault(anchor, []).append(search)
    automaton = ahocorasick.Automaton()
    for anchor, anchor_searches in searches.items():
        automaton.add_word(anchor, (len(anchor), tuple(anchor_searches)))
    automaton.make_automaton()
    return automaton


_ANCHORS = _automaton()


def rumour_signals(text: str) -> RumourSignals:
    return signals_of_normal(normalise(text))


def signals_of_normal(normal: str) -> RumourSignals:
    """`rumour_signals` of a text already normalised (callers that need the normal form too)."""
    found = [False, False]
    for last, (length, searches) in _ANCHORS.iter(normal):
        for search in searches:
            if not found[search.signal] and search.near(normal, last + 1 - length, last + 1):
                found[search.signal] = True
                if found[_ENQUIRY] and found[_CORRECTION]:
                    return _SIGNALS[True, True]
    return _SIGNALS[found[_ENQUIRY], found[_CORRECTION]]
