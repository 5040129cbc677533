"""A post's text laid out as one string for a single Aho-Corasick pass over every query's terms.

`PostText.canonical` is `" w1 w2 ... wn "`: the post's words (see `query_ast` for what a word is)
joined by single spaces, so a term key `" acme corp "` can only match whole words in sequence and
a prefix key `" recall"` only word starts. Hashtags and handles follow as extra segments, so a
term is found in each form it has in the post:

* `#AcmeRecall` is the word `acmerecall` in the word stream (as the old alias matcher saw it), the
  segment `" #acmerecall "` for the query `#acmerecall`, and, split at case changes, digits and
  `_`, the segment `" acme recall "`, so the plain term `acme` and the phrase "acme recall" match
  too. A phrase does not run from the text into such a split (`"big acme"` misses `big #AcmeRecall`).
* `@AcmeInc` is the word `acmeinc` and the segment `" @acmeinc "`. `bob@acme.com` is no handle.
* `#索尼` is the words `索 尼` and the segment `" #索尼 "`: a hashtag of CJK characters is their run.

Segments end and start with a space, so two spaces separate them and no key spans two.

Links: a URL's host stays in the text (a link to acme.com mentions acme), its path, query and
fragment do not (`https://acme.com/recall` is no mention of a recall; slugs and tracking
parameters are not what the author wrote). `site:` matches the host of the post's own URL.

ASCII text (most posts) takes a shorter path with the same result: NFKC leaves it unchanged,
casefold is `lower`, a word is `[0-9a-z_]+` and a hashtag splits by one regex (tests check each
against the general path, character class by character class).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from itertools import accumulate

from streams.query_ast import CJK, SIGIL_AFTER_NON_WORD, SIGIL_BODY, WORD, WORD_CHAR_BMP, word_pattern

_COUNT_SPACES_UP_TO = 1000
"""In a word stream this short, counting the spaces before a key beats building word offsets."""
_URL = re.compile(
    r"(?<![\w@.])(?:https?://(?:[^\s/?#@]*@)?(?P<host>[^\s/?#<>\"':]+)|(?P<www>www\.[^\s/?#<>\"':]+))"
    r"[^\s<>\"]*",
    re.IGNORECASE,
)
_SIGIL = re.compile(rf"{SIGIL_AFTER_NON_WORD}({SIGIL_BODY.pattern})")
_SIGIL_BMP = re.compile(rf"([#@])(?<!{WORD_CHAR_BMP}[#@])({WORD_CHAR_BMP}+|[{CJK}]+)")
"""`_SIGIL` in text where `word_pattern` is `WORD_BMP`: a class beyond the BMP costs a scan of its
300 ranges at every character that ends a body."""
_ASCII_WORDS = str.maketrans(
    {chr(c): chr(c).lower() if chr(c).isalnum() or chr(c) == "_" else " " for c in range(128)}
)
"""ASCII text -> its words lowercased and separated by spaces: `WORD`'s only ASCII word
characters are letters, digits and `_` (`str.split` then beats `findall`)."""
_ASCII_SIGIL = re.compile(r"([#@])(?<![0-9A-Za-z_][#@])([0-9A-Za-z_]+)")
"""`_SIGIL` on ASCII text."""
_ASCII_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
"""`split_hashtag` on an ASCII body: an upper run before a capitalised word, a word, an upper run,
digits; `_` only separates."""


def split_hashtag(body: str, *, ascii_path: bool = True) -> list[str]:
    """The parts of a hashtag body as written: `AcmeRecall2024` -> Acme, Recall, 2024;
    `ACMERecall` -> ACME, Recall; `iPhone` -> i, Phone; `acme_recall` -> acme, recall.
    Combining marks stay with their letter. `ascii_path=False` sends an ASCII body down the
    general path too, for the tests that check both give the same."""
    if ascii_path and body.isascii():
        return _ASCII_PARTS.findall(body)
    if body.isalpha() and (body.islower() or body.isupper() or body.istitle()):
        return [body]
    parts: list[str] = []
    start, before = 0, ""
    for i, char in enumerate(body):
        if unicodedata.category(char) in ("Mn", "Mc"):
            continue
        upper_run_ends = before.isupper() and i + 1 < len(body) and body[i + 1].islower()
        case_change = char.isupper() and (before.islower() or upper_run_ends)
        if char == "_" or before == "_" or (before and (char.isdigit() != before.isdigit() or case_change)):
            parts.append(body[start:i])
            start = i
        before = char
    parts.append(body[start:])
    return [part for part in parts if part.strip("_")]


def _host_only(url: re.Match[str]) -> str:
    return " " + (url.group("host") or url.group("www")) + " "


def without_link_paths(text: str) -> str:
    """`text` with each link replaced by its host between spaces (see the module docstring)."""
    if "://" in text or "ww." in text or "WW." in text:
        return _URL.sub(_host_only, text)
    return text


@dataclass(slots=True)
class PostText:
    canonical: str
    words: list[str]
    main_end: int
    """`canonical[:main_end]` is the word stream; after it come hashtag and handle segments."""
    nfkc: str = ""
    """The text after NFKC with link paths removed: the word stream is its casefolded words."""
    segment_starts: list[int] = field(default_factory=list)
    segment_sources: list[tuple[int, bool]] = field(default_factory=list)
    """Per segment: offset in `nfkc` of its `#` or `@`, and whether it holds a hashtag's parts."""
    _ends: list[int] | None = None
    _segment_words: list[int] | None = None

    def position(self, start: int) -> tuple[int, int]:
        """(word index, part) of a key found at `start` (its leading space). Part 0: the word stream;
        -1: a #hashtag or @handle (it starts before its word); 1, 2, ...: a hashtag's split parts.
        Computed only for NEAR and for ordering several terms, so the offsets are built lazily."""
        if start < self.main_end:
            if self.main_end <= _COUNT_SPACES_UP_TO:
                return self.canonical.count(" ", 0, start), 0
            return self._word_at(start), 0
        if self._segment_words is None:
            self._segment_words = self._words_before_sigils()
        segment = bisect.bisect_right(self.segment_starts, start) - 1
        word = self._segment_words[segment]
        if not self.segment_sources[segment][1]:
            return word, -1
        return word, 1 + self.canonical.count(" ", self.segment_starts[segment] + 1, start + 1)

    def _word_at(self, start: int) -> int:
        """The index of the word at `start` in the word stream, by the word offsets (built once)."""
        if self._ends is None:
            self._ends = [i + n for i, n in enumerate(accumulate(map(len, self.words), initial=0))]
        return bisect.bisect_left(self._ends, start)

    def _words_before_sigils(self) -> list[int]:
        """Per segment, the index of the word after its `#` or `@`: how many words come before it.
        Counted between consecutive sigils, which are no word characters, so no word is cut."""
        pattern = word_pattern(self.nfkc)
        counts: list[int] = []
        words = before = 0
        for at, _ in self.segment_sources:
            if at != before:
                words += len(pattern.findall(self.nfkc, before, at))
                before = at
            counts.append(words)
        return counts


def post_text(text: str, *, ascii_path: bool = True) -> PostText:
    """`text` laid out for the automaton. `ascii_path=False` sends ASCII text down the general
    path too, for the tests that check both give the same."""
    if ascii_path and text.isascii():
        nfkc = without_link_paths(text)
        words = nfkc.translate(_ASCII_WORDS).split()
        sigils = _ASCII_SIGIL
    else:
        nfkc = without_link_paths(unicodedata.normalize("NFKC", text))
        pattern = word_pattern(nfkc)  # the same for nfkc.casefold(): casefold keeps word characters
        words = pattern.findall(nfkc.casefold())
        sigils = _SIGIL if pattern is WORD else _SIGIL_BMP
    canonical = " " + " ".join(words) + " "
    post = PostText(canonical, words, len(canonical), nfkc)
    add_segments(post, sigils, ascii_path=ascii_path)
    return post


def add_segments(post: PostText, sigils: re.Pattern[str] = _SIGIL, *, ascii_path: bool = True) -> None:
    """Append to `post.canonical` (the word stream so far) a segment per hashtag and handle that
    `sigils` finds in `post.nfkc`, and a segment of the parts of each hashtag that splits (by
    `split_hashtag` with `ascii_path`). `sigils` groups the sigil and the body; the default is
    the general one, right for any text."""
    nfkc = post.nfkc
    if "#" not in nfkc and "@" not in nfkc:
        return
    segments = [post.canonical]
    size = len(post.canonical)
    for found in sigils.finditer(nfkc):
        sigil, body = found.group(1), found.group(2)
        segments.append(f" {sigil}{body.casefold()} ")
        post.segment_starts.append(size)
        post.segment_sources.append((found.start(), False))
        size += len(segments[-1])
        if sigil == "#" and len(parts := split_hashtag(body, ascii_path=ascii_path)) > 1:
            segments.append(" " + " ".join(parts).casefold() + " ")
            post.segment_starts.append(size)
            post.segment_sources.append((found.start(), True))
            size += len(segments[-1])
    post.canonical = "".join(segments)
