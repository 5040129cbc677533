"""The slow reference matcher: every query's terms searched with a regex of their own, per post.

It is what a first implementation would do (and what `bench/query_matching.py` times against
`QueryMatcher`), and the oracle that `tests/test_query_match.py` compares `QueryMatcher` with. It
shares only the parser and `evaluate` (the definition of a query's meaning) with `QueryMatcher`;
words, hashtags, their CamelCase parts, links and positions it finds its own way: a regex per term
over the normalised text, with word boundaries checked per character, and brute force for NEAR.
Its CamelCase split knows ASCII, ÆØÅ and ÄÖÜ, which the generated posts stay within.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable

from streams.query_ast import CJK, SIGIL_BODY, WORD, WORD_CHAR, Field, Node, Term, all_terms, evaluate
from streams.query_match import PostFields
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
