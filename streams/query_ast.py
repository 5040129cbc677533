"""Brand queries after parsing: the immutable AST, the word rules, and what a query means.

Queries and posts must split into words by exactly the same rules, or a term could never match
the text it was written for, so both sides use `normalise` and `WORD` from here:

* NFKC then casefold (`ß` matches `ss`, fullwidth letters match ASCII ones; `ø` stays `ø`, never `o`).
* A word is a run of letters, digits, `_` and combining marks (Mn, Mc): Python's `\\w` alone would
  cut Hindi or Thai words at their vowel signs. Variation selectors are not marks here, so `❤️acme`
  still has the word `acme`. Everything else (punctuation, emoji, `#`, `@`) separates words.
* Han, Hiragana and Katakana are written without spaces, so each of their characters is a word of
  its own: `索尼` is the phrase "索 尼" and matches inside `我喜欢索尼的产品`, and `acme` matches in
  `acme的新产品`. Other scripts (Thai, Lao, ...) have no segmentation here: whole runs only.

`evaluate` is the definition of a query's meaning over an `Oracle` that answers single terms,
fields and proximity for one post; the matcher and the slow reference in the bench both use it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal, Protocol, assert_never

TermKind = Literal["word", "hashtag", "handle"]
FieldName = Literal["lang", "source", "author", "site"]
FIELDS: tuple[FieldName, ...] = ("author", "lang", "site", "source")
SIGIL: dict[TermKind, str] = {"word": "", "hashtag": "#", "handle": "@"}

CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
_CJK_SPANS = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


def _word_flags(low: int, high: int) -> bytearray:
    """Per code point in [low, high): 1 if it continues a (non-CJK) word, else 0."""
    chars = "".join(map(chr, range(low, high)))
    word = bytearray(high - low)
    for run in re.finditer(r"\w+", chars):
        word[run.start() : run.end()] = b"\1" * (run.end() - run.start())
    for run in re.finditer(r"\W+", chars):
        for i in range(run.start(), run.end()):
            if unicodedata.category(chars[i]) in ("Mn", "Mc"):
                word[i] = 1
    for a, b in ((0xFE00, 0xFE0F), *_CJK_SPANS):
        a, b = max(a, low), min(b, high - 1)
        if a <= b:
            word[a - low : b - low + 1] = bytes(b - a + 1)
    return word


def _word_class(flags: bytes, low: int) -> str:
    """The code points flagged in `flags` (the first is `low`), as a regex class body of ranges."""
    runs = re.finditer(rb"\x01+", flags)
    return "".join(f"\\U{run.start() + low:08x}-\\U{run.end() - 1 + low:08x}" for run in runs)


_ASTRAL_FLAGS = bytes(_word_flags(0x10000, 0x20000))
_BMP = _word_class(bytes(_word_flags(0, 0x10000)), 0)
_ASTRAL = _word_class(_ASTRAL_FLAGS, 0x10000)
WORD_CHAR = f"[{_BMP}{_ASTRAL}]"
"""One character that continues a (non-CJK) word. `re` looks up a class of the Basic Multilingual
Plane in a bitmap but scans a class beyond it range by range, 5 times slower, so `find_words` uses
`WORD_BMP` unless an astral run (emoji, mostly) holds a word character."""
WORD_CHAR_BMP = f"[{_BMP}]"
"""`WORD_CHAR` within the BMP: the same in text that `word_pattern` gives `WORD_BMP`."""
WORD = re.compile(rf"{WORD_CHAR}+|[{CJK}]")
WORD_BMP = re.compile(rf"{WORD_CHAR_BMP}+|[{CJK}]")
_ASTRAL_RUN = re.compile("[\U00010000-\U0010ffff]+")
SIGIL_AFTER_NON_WORD = f"([#@])(?<![{_BMP}][#@])(?<![{_ASTRAL}][#@])"
"""A `#` or `@` that no word character precedes (`bob@acme.com` has no handle); literal first, fast."""
SIGIL_BODY = re.compile(rf"{WORD_CHAR}+|[{CJK}]+")
"""What follows the sigil of a hashtag or handle: one word, or a run of CJK characters (`#索尼`)."""


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def word_pattern(text: str) -> re.Pattern[str]:
    """`WORD`, or the faster `WORD_BMP` where it finds the same words in `text`."""
    if text.isascii() or not _astral_word(text):
        return WORD_BMP
    return WORD


def _astral_word(text: str) -> bool:
    """Whether `WORD` would match a character beyond the BMP in `text`: a word character of the
    supplementary plane or a CJK one. Looked up per character: `WORD` scans 300 ranges for each."""
    for run in _ASTRAL_RUN.findall(text):
        for char in run:
            code = ord(char)
            if _ASTRAL_FLAGS[code - 0x10000] if code < 0x20000 else code < 0x40000:
                return True
    return False


def find_words(text: str) -> list[str]:
    """The words of already normalised `text`, as `WORD` finds them."""
    return word_pattern(text).findall(text)


def word_starts(text: str) -> list[int]:
    """Where each word of `find_words(text)` starts."""
    return [word.start() for word in word_pattern(text).finditer(text)]


def words_of(text: str) -> list[str]:
    """The words of `text` after `normalise`, split exactly as posts are."""
    return find_words(normalise(text))


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a phrase of words, a #hashtag or an @handle; `prefix` when the last word ends in `*`."""

    kind: TermKind
    words: tuple[str, ...]
    prefix: bool
    display: str = field(compare=False)
    """The normalised term as written, e.g. `"acme corp"` -> `acme corp`, `#Acme` -> `#acme`."""
    position: int = field(default=0, compare=False)

    @property
    def key(self) -> tuple[TermKind, tuple[str, ...], bool]:
        """What the term matches, whatever its spelling or position in the query."""
        return self.kind, self.words, self.prefix


@dataclass(frozen=True, slots=True)
class Field:
    name: FieldName
    values: tuple[str, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Near:
    """Some term of `left` within `distance` words of some term of `right`; `ordered`: left first."""

    left: tuple[Term, ...]
    right: tuple[Term, ...]
    distance: int
    ordered: bool
    position: int = field(default=0, compare=False)


Node = Term | Field | Not | And | Or | Near


class Oracle(Protocol):
    """What one post says about single terms, fields and proximity; `evaluate` does the rest."""

    def term(self, term: Term) -> bool: ...
    def field(self, field: Field) -> bool: ...
    def near(self, first: Term, second: Term, distance: int, ordered: bool) -> bool: ...


def evaluate(node: Node, oracle: Oracle) -> list[Term] | None:
    """The positive terms that make `node` true (every true branch of an OR counts), None if false."""
    match node:
        case Term():
            return [node] if oracle.term(node) else None
        case Field():
            return [] if oracle.field(node) else None
        case Not():
            return [] if evaluate(node.operand, oracle) is None else None
        case And():
            found: list[Term] = []
            for operand in node.operands:
                if (terms := evaluate(operand, oracle)) is None:
                    return None
                found += terms
            return found
        case Or():
            results = [terms for operand in node.operands if (terms := evaluate(operand, oracle)) is not None]
            return [term for terms in results for term in terms] if results else None
        case Near():
            pairs = [
                (a, b)
                for a in node.left
                for b in node.right
                if oracle.term(a) and oracle.term(b) and oracle.near(a, b, node.distance, node.ordered)
            ]
            return [term for pair in pairs for term in pair] or None
        case _:
            assert_never(node)


def positive_terms(node: Node) -> list[Term]:
    """Terms outside any NOT: the only ones whose presence can make a post match."""
    match node:
        case Term():
            return [node]
        case And() | Or():
            return [term for operand in node.operands for term in positive_terms(operand)]
        case Near():
            return [*node.left, *node.right]
        case _:
            return []


def all_terms(node: Node) -> list[Term]:
    if isinstance(node, Not):
        return all_terms(node.operand)
    if isinstance(node, And | Or):
        return [term for operand in node.operands for term in all_terms(operand)]
    return positive_terms(node)


def requires_term(node: Node) -> bool:
    """True when no post can match without containing one of `positive_terms(node)`."""
    match node:
        case Term() | Near():
            return True
        case And():
            return any(requires_term(operand) for operand in node.operands)
        case Or():
            return all(requires_term(operand) for operand in node.operands)
        case _:
            return False


def near_terms(node: Node) -> list[Term]:
    """Terms used in a NEAR anywhere in `node`: the matcher keeps their positions."""
    match node:
        case Near():
            return [*node.left, *node.right]
        case Not():
            return near_terms(node.operand)
        case And() | Or():
            return [term for operand in node.operands for term in near_terms(operand)]
        case _:
            return []
