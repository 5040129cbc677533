"""The slow reference matcher: every query's terms searched with a regex of their own, per post.

It is what a first implementation would do (and what `bench/query_matching.py` times against
`QueryMatcher`), and the oracle that `tests/test_query_match.py` compares `QueryMatcher` with. It
shares only the parser and `evaluate` (the definition of a query's meaning) with `QueryMatcher`;
words, hashtags, their CamelCase parts, links and positions it finds its own way: a regex per term
over the normalised text, with word boundaries checked per character, and brute force for NEAR.
Its CamelCase split knows ASCII, ÆØÅ and ÄÖÜ, which the generated posts stay within.

`PreviousMatcher` is `QueryMatcher` as it was before issue 8's fast paths (no ASCII path, no
cache, every candidate through `evaluate`, positions for every several-term report): the
baseline `bench/query_matching.py` times them against, and what the tests check they change no
result of, on any text (the regex reference only knows the generated posts' scripts).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from itertools import accumulate
from urllib.parse import urlsplit

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no type stubs

from streams.query_ast import (
    CJK,
    SIGIL_AFTER_NON_WORD,
    SIGIL_BODY,
    WORD,
    WORD_CHAR,
    Field,
    Node,
    Term,
    all_terms,
    evaluate,
    find_words,
    normalise,
    positive_terms,
    word_starts,
)
from streams.query_match import PostFields, term_key, triggers
from streams.query_oracle import url_host
from streams.query_syntax import parse_query

_URL = re.compile(r"(?i)https?://([^\s/?#:]+)\S*|(www\.[^\s/?#:]+)\S*")
_HASHTAG = re.compile(rf"(?<!{WORD_CHAR})#({SIGIL_BODY.pattern})")
_CAMEL = re.compile(r"[A-ZÆØÅÄÖÜ]+(?=[A-ZÆØÅÄÖÜ][a-zæøåäöüß])|[A-ZÆØÅÄÖÜ]?[a-zæøåäöüß]+|[A-ZÆØÅÄÖÜ]+|\d+")
Span = tuple[int, int, int, int]


_WORD_CHAR = re.compile(WORD_CHAR)
_CJK_CHAR = re.compile(f"[{CJK}]")


def _is_cjk(word: str) -> bool:
    return _CJK_CHAR.match(word) is not None


def term_regex(term: Term) -> re.Pattern[str]:
    """The term as a regex over normalised text: its words with the non-word runs between them
    captured, every start found (a lookahead); `occurrences` checks the word boundaries."""
    sigil = {"hashtag": "#", "handle": "@"}.get(term.kind, "")
    return re.compile(f"(?=({re.escape(sigil)}" + r"(\W*)".join(re.escape(w) for w in term.words) + "))")


def occurrences(term: Term, regex: re.Pattern[str], text: str) -> list[int]:
    """Where `term` starts in `text` as whole words: not inside a longer word (`\\w` plus combining
    marks, but a CJK character is a word of its own), words apart only by punctuation or spaces."""
    sigil, first_cjk, last_cjk = term.kind != "word", _is_cjk(term.words[0]), _is_cjk(term.words[-1])
    found = []
    for hit in regex.finditer(text):
        start, end, gaps = hit.start(1), hit.end(1), hit.groups()[1:]
        before, after = text[start - 1 : start], text[end : end + 1]
        if (sigil or not first_cjk) and _WORD_CHAR.match(before):
            continue
        if not term.prefix and (
            _CJK_CHAR.match(after) if sigil and last_cjk else not last_cjk and _WORD_CHAR.match(after)
        ):
            continue
        if any(_WORD_CHAR.search(gap) for gap in gaps):
            continue
        glued = zip(gaps, term.words, term.words[1:], strict=False)
        if any(not gap and not (_is_cjk(one) or _is_cjk(two)) for gap, one, two in glued):
            continue
        found.append(start)
    return found


class _RegexPost:
    """`evaluate`'s oracle for one post, from regex searches of the normalised text."""

    def __init__(self, post: PostFields, regexes: dict[Term, re.Pattern[str]]) -> None:
        self.post, self.regexes = post, regexes
        self.known: dict[Term, list[Span]] = {}
        nfkc = _URL.sub(
            lambda url: f" {url.group(1) or url.group(2)} ", unicodedata.normalize("NFKC", post.text)
        )
        self.text = nfkc.casefold()
        self.starts = [word.start() for word in WORD.finditer(self.text)]
        cased = [tag.group(1) for tag in _HASHTAG.finditer(nfkc)]
        self.splits = [
            (self._word(tag.start() + 1), " ".join(_CAMEL.findall(body)).casefold())
            for tag, body in zip(_HASHTAG.finditer(self.text), cased, strict=True)
            if len(_CAMEL.findall(body)) > 1
        ]

    def _word(self, offset: int) -> int:
        return bisect.bisect_left(self.starts, offset)

    def spans(self, term: Term) -> list[Span]:
        """(first word, last word, first part, last part) of every occurrence; part -1: the #/@ form."""
        if (known := self.known.get(term)) is not None:
            return known
        found: list[Span] = []
        regex = self.regexes[term]
        for start in occurrences(term, regex, self.text):
            if term.kind == "word":
                found.append((self._word(start), self._word(start) + len(term.words) - 1, 0, 0))
            else:
                found.append((self._word(start + 1), self._word(start + 1), -1, -1))
        for word, parts in self.splits if term.kind == "word" else ():
            for start in occurrences(term, regex, parts):
                part = parts.count(" ", 0, start) + 1
                found.append((word, word, part, part + len(term.words) - 1))
        self.known[term] = sorted(found)
        return self.known[term]

    def term(self, term: Term) -> bool:
        return bool(self.spans(term))

    def field(self, field: Field) -> bool:
        post = self.post
        if field.name == "lang":
            lang = (post.lang or "").casefold().replace("_", "-")
            return any(lang == value or lang.startswith(value + "-") for value in field.values)
        if field.name == "site":
            host = url_host(post.url or "")
            return any(host == value or host.endswith("." + value) for value in field.values)
        found = post.source if field.name == "source" else (post.author or "").lstrip("@")
        return (found or "").casefold() in field.values

    def near(self, first: Term, second: Term, distance: int, ordered: bool) -> bool:
        for a in self.spans(first):
            for b in self.spans(second):
                if a[1] < b[0] or (a[0] == a[1] == b[0] == b[1] and 0 < a[3] < b[2]):
                    gap = b[0] - a[1] - 1 if a[1] < b[0] else b[2] - a[3] - 1
                elif b[1] < a[0] or (a[0] == a[1] == b[0] == b[1] and 0 < b[3] < a[2]):
                    gap = a[0] - b[1] - 1 if b[1] < a[0] else a[2] - b[3] - 1
                    if ordered:
                        continue
                else:
                    continue
                if gap <= distance:
                    return True
        return False


class RegexMatcher:
    """The naive matcher: every query's terms searched with their own regexes in every post."""

    def __init__(self, queries: Iterable[tuple[str, str]]) -> None:
        self.queries: list[tuple[str, Node]] = [(brand, parse_query(query)) for brand, query in queries]
        self.regexes: dict[Term, re.Pattern[str]] = {}
        for _, root in self.queries:
            for term in all_terms(root):
                self.regexes.setdefault(term, term_regex(term))

    def match(self, post: PostFields) -> dict[str, list[str]]:
        oracle = _RegexPost(post, self.regexes)
        found: dict[str, list[str]] = {}
        for brand, root in self.queries:
            if terms := evaluate(root, oracle):
                found[brand] = _longest_in_order(list(dict.fromkeys(terms)), oracle)
        return found


def _inside(outer: Span, inner: Span) -> bool:
    """`inner` lies in `outer`, which is bigger: more words or parts, or the #tag/@handle of a word."""
    outer_in_parts, inner_in_parts = outer[2] > 0, inner[2] > 0
    if inner_in_parts and not outer_in_parts:
        return outer[0] <= inner[0] <= outer[1]
    if inner_in_parts:
        return outer[0] == inner[0] and set(range(inner[2], inner[3] + 1)) < set(
            range(outer[2], outer[3] + 1)
        )
    if outer_in_parts:
        return False
    words, inner_words = set(range(outer[0], outer[1] + 1)), set(range(inner[0], inner[1] + 1))
    return words > inner_words or (words == inner_words and outer[2] == -1 and inner[2] == 0)


def _longest_in_order(terms: list[Term], oracle: _RegexPost) -> list[str]:
    spans = {term: oracle.spans(term) for term in terms}
    first: dict[str, tuple[int, int]] = {}
    for term in terms:
        others = [span for other in terms if other != term for span in spans[other]]
        alone = [(s[0], s[2]) for s in spans[term] if not any(_inside(o, s) for o in others)]
        if alone:
            first[term.display] = min(min(alone), first.get(term.display, min(alone)))
    return sorted(first, key=first.__getitem__)


# --- the matcher before issue 8's fast paths -----------------------------------------------------
# `QueryMatcher.match` as it was (commit 3479d2e), kept for `bench/query_matching.py` to time the
# fast paths against in the same run, and for the tests to check they changed no result: every
# post's text is normalised, scanned by the automaton and given its own oracle; every candidate
# query goes through `evaluate`; nothing is cached.

_PREV_URL = re.compile(
    r"(?<![\w@.])(?:https?://(?:[^\s/?#@]*@)?(?P<host>[^\s/?#<>\"':]+)|(?P<www>www\.[^\s/?#<>\"':]+))"
    r"[^\s<>\"]*",
    re.IGNORECASE,
)
_PREV_SIGIL = re.compile(rf"{SIGIL_AFTER_NON_WORD}({SIGIL_BODY.pattern})")


def previous_split_hashtag(body: str) -> list[str]:
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


class PreviousText:
    def __init__(self, canonical: str, words: list[str], nfkc: str) -> None:
        self.canonical, self.words, self.main_end, self.nfkc = canonical, words, len(canonical), nfkc
        self.segment_starts: list[int] = []
        self.segment_sources: list[tuple[int, bool]] = []
        self._ends: list[int] | None = None
        self._segment_words: list[int] | None = None

    def position(self, start: int) -> tuple[int, int]:
        if start < self.main_end:
            if self._ends is None:
                self._ends = [i + n for i, n in enumerate(accumulate(map(len, self.words), initial=0))]
            return bisect.bisect_left(self._ends, start), 0
        if self._segment_words is None:
            starts = word_starts(self.nfkc)
            self._segment_words = [bisect.bisect_left(starts, at + 1) for at, _ in self.segment_sources]
        segment = bisect.bisect_right(self.segment_starts, start) - 1
        word = self._segment_words[segment]
        if not self.segment_sources[segment][1]:
            return word, -1
        return word, 1 + self.canonical.count(" ", self.segment_starts[segment] + 1, start + 1)


def previous_post_text(text: str) -> PreviousText:
    nfkc = unicodedata.normalize("NFKC", text)
    if "://" in nfkc or "ww." in nfkc or "WW." in nfkc:
        nfkc = _PREV_URL.sub(lambda url: " " + (url.group("host") or url.group("www")) + " ", nfkc)
    words = find_words(nfkc.casefold())
    canonical = " " + " ".join(words) + " "
    post = PreviousText(canonical, words, nfkc)
    if "#" not in nfkc and "@" not in nfkc:
        return post
    segments = [canonical]
    size = len(canonical)
    for found in _PREV_SIGIL.finditer(nfkc):
        sigil, body = found.group(1), found.group(2)
        segments.append(f" {sigil}{body.casefold()} ")
        post.segment_starts.append(size)
        post.segment_sources.append((found.start(), False))
        size += len(segments[-1])
        if sigil == "#" and len(parts := previous_split_hashtag(body)) > 1:
            segments.append(" " + " ".join(parts).casefold() + " ")
            post.segment_starts.append(size)
            post.segment_sources.append((found.start(), True))
            size += len(segments[-1])
    post.canonical = "".join(segments)
    return post


Hit = tuple[int, int, int, int]


class _PreviousOracle:
    def __init__(
        self,
        node_ids: dict[int, int],
        key_lengths: list[int],
        text: PreviousText,
        hits: list[tuple[int, int]],
        post: PostFields,
    ) -> None:
        self._node_ids, self._key_lengths, self._text, self._hits = node_ids, key_lengths, text, hits
        self.present = {term_id for _, term_id in hits}
        self._post = post
        self._host: str | None = None
        self._ends: dict[int, list[int]] = {}
        self._positions: dict[int, list[Hit]] = {}

    def term(self, term: Term) -> bool:
        return self._node_ids[id(term)] in self.present

    def _ends_of(self, term_id: int) -> list[int]:
        if (ends := self._ends.get(term_id)) is None:
            ends = self._ends[term_id] = [end for end, found in self._hits if found == term_id]
        return ends

    def field(self, field: Field) -> bool:
        post = self._post
        if field.name == "lang":
            lang = normalise(post.lang or "").replace("_", "-")
            return any(lang == value or lang.startswith(value + "-") for value in field.values)
        if field.name == "source":
            return normalise(post.source or "") in field.values
        if field.name == "author":
            return normalise(post.author or "").lstrip("@") in field.values
        if self._host is None:
            self._host = _previous_url_host(post.url or "")
        return any(self._host == value or self._host.endswith("." + value) for value in field.values)

    def hits(self, term: Term) -> list[Hit]:
        term_id = self._node_ids[id(term)]
        if (known := self._positions.get(term_id)) is not None:
            return known
        found: list[Hit] = []
        for end in self._ends_of(term_id):
            word, part = self._text.position(end - self._key_lengths[term_id] + 1)
            if part:
                found.append((word, word, part, part + len(term.words) - 1 if part > 0 else -1))
            else:
                found.append((word, word + len(term.words) - 1, 0, 0))
        found.sort()
        self._positions[term_id] = found
        return found

    def near(self, first: Term, second: Term, distance: int, ordered: bool) -> bool:
        others = self.hits(second)
        starts = [hit[0] for hit in others]
        reach = distance + len(second.words)
        for a in self.hits(first):
            low, high = bisect.bisect_left(starts, a[0] - reach), bisect.bisect_right(starts, a[1] + reach)
            for b in others[low:high]:
                gap = _previous_gap(a, b)
                if gap is not None and gap[0] <= distance and (gap[1] or not ordered):
                    return True
        return False

    def in_order(self, terms: list[Term]) -> list[str]:
        unique = list(dict.fromkeys(terms))
        if len(unique) == 1:
            return [unique[0].display]
        spans = [self.hits(term) for term in unique]
        longest = max(len(term.words) for term in unique)
        first: dict[str, tuple[int, int]] = {}
        for i, term in enumerate(unique):
            others = sorted(hit for j, hits in enumerate(spans) if j != i for hit in hits)
            if alone := _previous_uncovered(spans[i], others, longest):
                first[term.display] = min(min(alone), first.get(term.display, min(alone)))
        return sorted(first, key=first.__getitem__)


def _previous_uncovered(hits: list[Hit], others: list[Hit], longest: int) -> list[tuple[int, int]]:
    starts = [other[0] for other in others]
    found = []
    for hit in hits:
        around = others[bisect.bisect_left(starts, hit[0] - longest) : bisect.bisect_right(starts, hit[0])]
        if not any(_previous_covers(other, hit) for other in around):
            found.append((hit[0], hit[2]))
    return found


def _previous_gap(a: Hit, b: Hit) -> tuple[int, bool] | None:
    if a[1] < b[0]:
        return b[0] - a[1] - 1, True
    if b[1] < a[0]:
        return a[0] - b[1] - 1, False
    if a[2] > 0 and b[2] > 0 and a[0] == b[0]:
        if a[3] < b[2]:
            return b[2] - a[3] - 1, True
        if b[3] < a[2]:
            return a[2] - b[3] - 1, False
    return None


def _previous_covers(a: Hit, b: Hit) -> bool:
    if b[2] > 0:
        if a[2] <= 0:
            return a[0] <= b[0] <= a[1]
        return a[0] == b[0] and a[2] <= b[2] and b[3] <= a[3] and a[3] - a[2] > b[3] - b[2]
    if a[2] > 0 or not a[0] <= b[0] <= b[1] <= a[1]:
        return False
    return a[1] - a[0] > b[1] - b[0] or a[2] < b[2]


def _previous_url_host(url: str) -> str:
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:
        return ""
    return normalise(host).rstrip(".")


class PreviousMatcher:
    """`QueryMatcher` before the fast paths: same construction, the old per-post path."""

    def __init__(self, queries: Iterable[tuple[str, str]]) -> None:
        self.queries: list[tuple[str, Node]] = [(brand, parse_query(query)) for brand, query in queries]
        brand_ids = [brand for brand, _ in self.queries]
        if len(set(brand_ids)) < len(brand_ids):
            raise ValueError("a brand has two queries")
        self.term_ids: dict[Term, int] = {}
        self.terms: list[Term] = []
        weight: dict[Term, int] = {}
        for _, root in self.queries:
            for term in all_terms(root):
                if term not in self.term_ids:
                    self.term_ids[term] = len(self.terms)
                    self.terms.append(term)
            for term in set(positive_terms(root)):
                weight[term] = weight.get(term, 0) + 1
        self.key_lengths = [len(term_key(term)) for term in self.terms]
        self.node_ids = {id(t): self.term_ids[t] for _, root in self.queries for t in all_terms(root)}
        self._triggered_by: dict[int, list[int]] = {}
        for index, (_, root) in enumerate(self.queries):
            for term_id in sorted({self.term_ids[t] for t in triggers(root, weight)}):
                self._triggered_by.setdefault(term_id, []).append(index)
        self._automaton: ahocorasick.Automaton | None = None
        if self.terms:
            self._automaton = ahocorasick.Automaton()
            for term_id, term in enumerate(self.terms):
                self._automaton.add_word(term_key(term), term_id)
            self._automaton.make_automaton()

    def match(self, post: PostFields) -> dict[str, list[str]]:
        if self._automaton is None:
            return {}
        text = previous_post_text(post.text)
        hits = list(self._automaton.iter(text.canonical))
        oracle = _PreviousOracle(self.node_ids, self.key_lengths, text, hits, post)
        candidates: set[int] = set()
        for term_id in oracle.present:
            if (triggered := self._triggered_by.get(term_id)) is not None:
                candidates.update(triggered)
        found: dict[str, list[str]] = {}
        for index in sorted(candidates):
            brand, root = self.queries[index]
            if terms := evaluate(root, oracle):
                found[brand] = oracle.in_order(terms)
        return found
