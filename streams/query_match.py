"""Which brands' boolean queries a post matches, for thousands of queries at once.

One regex per query and term would cost every post thousands of scans (see
`bench/query_matching.py`). Instead every term of every query becomes one key of a single
pyahocorasick automaton over `PostText.canonical` (words joined by single spaces, see
`query_text`), so one pass finds every term present, on word boundaries, with its offsets. Only
the queries that one of those terms can trigger (per query the terms of its most selective AND
operand) are then evaluated, by `query_ast.evaluate` itself, so the matcher cannot drift from the
definition.

A post matches a brand when the query is true and at least one of its positive terms was found:
a mention is text about the brand, and the found terms are its evidence on the scored topic.
Fields and NOT only narrow, so `NOT roadrunner` or `lang:de` alone never match (rather than
flooding a brand with every post of the firehose) and `acme OR lang:de` is `acme`; `lint_query`
warns about both.

`query_from_aliases` turns a brand's plain alias list into a query with the old `AliasMatcher`'s
behaviour (NFKC + casefold, whole words, the alias as the reported term), except where the query
semantics are deliberately wider: punctuation inside an alias only separates words (`acme corp`
also matches `acme-corp` and `acme\\ncorp`; `a.b` matches `a b`), CamelCase hashtags are split
(`#AcmeFans` mentions `acme`), and link paths are not text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no type stubs

from streams.query_ast import (
    SIGIL,
    And,
    Near,
    Node,
    Or,
    Term,
    all_terms,
    evaluate,
    positive_terms,
    requires_term,
    words_of,
)
from streams.query_oracle import PostOracle
from streams.query_syntax import parse_query
from streams.query_text import post_text


@dataclass(frozen=True, slots=True)
class PostFields:
    text: str
    lang: str | None = None
    source: str | None = None
    author: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class BrandQuery:
    brand_id: str
    query: str


def term_key(term: Term) -> str:
    """The automaton key: a leading space for the word start, a trailing one unless a prefix."""
    return " " + SIGIL[term.kind] + " ".join(term.words) + ("" if term.prefix else " ")


def query_from_aliases(aliases: Sequence[str]) -> str:
    """`"alias one" OR "alias two" ...`, each alias quoted with `\\`, `"`, `”` and `*` escaped."""
    quoted: dict[str, None] = {}
    for alias in aliases:
        if not words_of(alias):
            raise ValueError(f"alias {alias!r} has no letters or digits to match")
        escaped = "".join("\\" + char if char in '\\"”*' else char for char in alias.strip())
        quoted[f'"{escaped}"'] = None
    if not quoted:
        raise ValueError("no aliases to build a query from")
    return " OR ".join(quoted)


def triggers(root: Node, weight: dict[Term, int]) -> list[Term]:
    """Terms of which every post matching `root` contains one (a match needs a positive term found);
    per AND the operand whose terms are used by the fewest queries (`weight`), as the rarest."""
    return _required(root, weight) if requires_term(root) else positive_terms(root)


def _required(node: Node, weight: dict[Term, int]) -> list[Term]:
    match node:
        case Term():
            return [node]
        case Near():
            return min([*node.left], [*node.right], key=lambda side: sum(weight[t] for t in side))
        case And():
            options = [_required(op, weight) for op in node.operands if requires_term(op)]
            return min(options, key=lambda terms: sum(weight[t] for t in terms))
        case Or():
            return [term for operand in node.operands for term in _required(operand, weight)]
        case _:
            raise AssertionError(f"{node} requires no term")


@dataclass(frozen=True, slots=True)
class _Query:
    brand_id: str
    root: Node


class QueryMatcher:
    def __init__(self, queries: Iterable[tuple[str, str]] | Iterable[BrandQuery]) -> None:
        self._queries: list[_Query] = []
        for item in queries:
            brand_id, text = (item.brand_id, item.query) if isinstance(item, BrandQuery) else item
            self._queries.append(_Query(brand_id, parse_query(text)))
        brand_ids = [query.brand_id for query in self._queries]
        if len(set(brand_ids)) < len(brand_ids):
            twice = next(brand for i, brand in enumerate(brand_ids) if brand in brand_ids[:i])
            raise ValueError(f"brand {twice!r} has two queries")
        self.term_ids: dict[Term, int] = {}
        """Every distinct term of every query (positive or under NOT) -> its automaton value."""
        self.terms: list[Term] = []
        weight: dict[Term, int] = {}
        for query in self._queries:
            for term in all_terms(query.root):
                if term not in self.term_ids:
                    self.term_ids[term] = len(self.terms)
                    self.terms.append(term)
            for term in set(positive_terms(query.root)):
                weight[term] = weight.get(term, 0) + 1
        self.key_lengths = [len(term_key(term)) for term in self.terms]
        self.node_ids = {id(t): self.term_ids[t] for query in self._queries for t in all_terms(query.root)}
        """id() of each Term node of the parsed queries -> its term id: hashing a Term costs more."""
        self._triggered_by: dict[int, list[int]] = {}
        for index, query in enumerate(self._queries):
            for term_id in sorted({self.term_ids[t] for t in triggers(query.root, weight)}):
                self._triggered_by.setdefault(term_id, []).append(index)
        self._automaton: ahocorasick.Automaton | None = None
        if self.terms:
            self._automaton = ahocorasick.Automaton()
            for term_id, term in enumerate(self.terms):
                self._automaton.add_word(term_key(term), term_id)
            self._automaton.make_automaton()

    def match(self, post: PostFields) -> dict[str, list[str]]:
        """Brand id -> the positive terms found (as written, normalised; the longest where they
        overlap) in order of first appearance, for every brand whose query the post satisfies
        with at least one term found, in the order the queries were given."""
        if self._automaton is None:
            return {}
        text = post_text(post.text)
        hits = list(self._automaton.iter(text.canonical))
        oracle = PostOracle(self.node_ids, self.key_lengths, text, hits, post)
        candidates: set[int] = set()
        for term_id in oracle.present:
            if (triggered := self._triggered_by.get(term_id)) is not None:
                candidates.update(triggered)
        found: dict[str, list[str]] = {}
        for index in sorted(candidates):
            query = self._queries[index]
            if terms := evaluate(query.root, oracle):
                found[query.brand_id] = oracle.in_order(terms)
        return found
