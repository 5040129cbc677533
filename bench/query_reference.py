"""The slow reference matcher: every query's terms searched with a regex of their own, per post.

It is what a first implementation would do (and what `bench/query_matching.py` times against
`QueryMatcher`), and the oracle that `tests/test_query_match.py` compares `QueryMatcher` with. It
shares only the parser and `evaluate` (the definition of a query's meaning) with `QueryMatcher`;
words, hashtags, their CamelCase parts, links and positions it finds its own way: a regex per term
over the normalised text, with word boundaries checked per character, and brute force for NEAR.
Its CamelCase split knows ASCII, ÆØÅ and ÄÖÜ, which the generated posts stay within.

`PreviousMatcher` is `QueryMatcher` as it was before issue 8's fast paths (commit 3479d2e): the
baseline `bench/query_matching.py` times them against, and what the tests check they change no
result of, on any text (the regex reference only knows the generated posts' scripts). Frozen here
is only the per-post path those fast paths replaced: `previous_post_text` (no ASCII path: NFKC,
casefold and the word regex for every text, the sigil regex with the classes beyond the BMP, the
general hashtag split for every body), `PreviousText.position` (word offsets even in short texts,
a segment's word from every word start), `_PreviousOracle.field` (values normalised at every
question, the host by `urlsplit`) and `in_order` (positions for every several-term report, every
uncovered hit listed), and `PreviousMatcher.match` (no text cache, every candidate query through
`evaluate`). The rest is the streams code itself, which the fast paths left as it was:
`QueryMatcher`'s construction and choice of candidate queries, `PostText` and `post_text`'s
link stripping, segments and (with `ascii_path=False`) hashtag split (`query_text`), and
`PostOracle`'s term, hit and NEAR answers with `gap`, `covers` and the field tests (`query_oracle`).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable

from streams.query_ast import (
    CJK,
    SIGIL_BODY,
    WORD,
    WORD_CHAR,
    Field,
    Node,
    Term,
    all_terms,
    evaluate,
    find_words,
    word_starts,
)
from streams.query_match import PostFields, QueryMatcher
from streams.query_oracle import Hit, PostOracle, covers, field_holds, split_host, url_host
from streams.query_syntax import parse_query
from streams.query_text import PostText, add_segments, without_link_paths

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
# `QueryMatcher.match` as it was (commit 3479d2e), for `bench/query_matching.py` to time the fast
# paths against in the same run and for the tests to check they changed no result: every post's
# text goes down the general path, is scanned by the automaton and gets its own oracle; every
# candidate query goes through `evaluate`; nothing is cached. Only what the fast paths changed is
# kept here; what they left as it was is the streams code itself (see the module docstring).


class PreviousText(PostText):
    """`PostText` as it was: word offsets for every position in the word stream (no counting of the
    spaces before it in a short text), the word of each #/@ segment from where every word starts."""

    __slots__ = ()

    def position(self, start: int) -> tuple[int, int]:
        if start < self.main_end:
            return self._word_at(start), 0
        return super().position(start)

    def _words_before_sigils(self) -> list[int]:
        starts = word_starts(self.nfkc)
        return [bisect.bisect_left(starts, at + 1) for at, _ in self.segment_sources]


def previous_post_text(text: str) -> PreviousText:
    """`post_text` as it was: no ASCII path (NFKC, casefold and the word regex for every text), the
    sigil regex with the classes beyond the BMP for every text, the general split of every hashtag."""
    nfkc = without_link_paths(unicodedata.normalize("NFKC", text))
    words = find_words(nfkc.casefold())
    canonical = " " + " ".join(words) + " "
    post = PreviousText(canonical, words, len(canonical), nfkc)
    add_segments(post, ascii_path=False)
    return post


class _PreviousOracle(PostOracle):
    """`PostOracle` as it was: a field's value normalised again at every question (the host by
    `urlsplit`, once per post), and `in_order` positions every term it is given and lists every
    hit no other term's hit covers before taking the first."""

    __slots__ = ()

    def field(self, field: Field) -> bool:
        name = field.name
        if name != "site":
            return field_holds(field, self._field_value(name))
        if (host := self._fields.get(name)) is None:
            host = self._fields[name] = split_host(self._post.url or "")
        return field_holds(field, host)

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
    """(word, part) where each of `hits` not inside one of `others` (sorted) starts."""
    starts = [other[0] for other in others]
    found = []
    for hit in hits:
        around = others[bisect.bisect_left(starts, hit[0] - longest) : bisect.bisect_right(starts, hit[0])]
        if not any(covers(other, hit) for other in around):
            found.append((hit[0], hit[2]))
    return found


class PreviousMatcher(QueryMatcher):
    """`QueryMatcher` before the fast paths: its construction (which they did not change), the old
    per-post path."""

    def __init__(self, queries: Iterable[tuple[str, str]]) -> None:
        super().__init__(queries, cache_size=0)

    def match(self, post: PostFields) -> dict[str, list[str]]:
        if self._automaton is None:
            return {}
        text = previous_post_text(post.text)
        hits = list(self._automaton.iter(text.canonical))
        oracle = _PreviousOracle(self.node_ids, self.key_lengths, text, hits, post)
        found: dict[str, list[str]] = {}
        for index in self._candidates(oracle.present):
            query = self._queries[index]
            if terms := evaluate(query.root, oracle):
                found[query.brand_id] = oracle.in_order(terms)
        return found
