"""Which brands' boolean queries a post matches, for thousands of queries at once.

One regex per query and term would cost every post thousands of scans (see
`bench/query_matching.py`). Instead every term of every query becomes one key of a single
pyahocorasick automaton over `PostText.canonical` (words joined by single spaces, see
`query_text`), so one pass finds every term present, on word boundaries, with its offsets. Only
the queries that one of those terms can trigger (per query the terms of its most selective AND
operand) are then evaluated, by `query_ast.evaluate` itself, so the matcher cannot drift from the
definition; a query that is an OR of terms (every alias list) is not walked: `evaluate` of it is
the terms present, which the set of found term ids answers.

Most posts cost one normalisation and one automaton pass (`bench/query_matching.py` times it on
the simulated stream): the oracle that knows positions is built only for NEAR, general queries
and several terms to order. Reshares and bots repeat texts, so the matches of the last
`TEXT_CACHE_SIZE` texts are kept when they depend on the text alone (no query with fields was a
candidate).

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

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no type stubs

from streams.query_ast import (
    SIGIL,
    And,
    Field,
    Near,
    Node,
    Not,
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


TEXT_CACHE_SIZE = 4096
"""Texts whose matches a matcher keeps (least recently used out): reshares and bots repeat texts.
Only texts that no query with fields is a candidate for: their matches are the text's alone."""
CACHED_TEXT_LENGTH = 1000
"""Longer texts are not kept: they are rarely repeated verbatim and would hold megabytes."""


@dataclass(frozen=True, slots=True)
class _Query:
    brand_id: str
    root: Node
    any_of: tuple[tuple[int, Term], ...] | None
    """A query that is one term or an OR of terms: per distinct term (first spelling), its term id.
    `evaluate` of it is the present ones, so the matcher skips the tree. None: evaluate the tree."""
    text_only: bool
    """No field anywhere: whether and with which terms it matches depends on the text alone."""


Found = tuple[tuple[str, tuple[str, ...]], ...]
"""The matches of a text whatever the post's fields (no query with fields was a candidate), in
query order: brand id and the terms to report. What the cache keeps: tuples of strings only,
which the garbage collector stops tracking, so thousands of cached texts cost its collections
nothing (the text's hits and positions are not kept)."""


def _any_of(root: Node, term_ids: dict[Term, int]) -> tuple[tuple[int, Term], ...] | None:
    operands = root.operands if isinstance(root, Or) else (root,)
    if not all(isinstance(operand, Term) for operand in operands):
        return None
    first: dict[int, Term] = {}
    for term in operands:
        assert isinstance(term, Term)
        first.setdefault(term_ids[term], term)
    return tuple(first.items())


def _has_field(node: Node) -> bool:
    match node:
        case Field():
            return True
        case Not():
            return _has_field(node.operand)
        case And() | Or():
            return any(_has_field(operand) for operand in node.operands)
        case _:
            return False


class QueryMatcher:
    """Not thread-safe (the text cache): one matcher per thread."""

    def __init__(
        self,
        queries: Iterable[tuple[str, str]] | Iterable[BrandQuery],
        *,
        cache_size: int = TEXT_CACHE_SIZE,
    ) -> None:
        parsed: list[tuple[str, Node]] = []
        for item in queries:
            brand_id, text = (item.brand_id, item.query) if isinstance(item, BrandQuery) else item
            parsed.append((brand_id, parse_query(text)))
        brand_ids = [brand_id for brand_id, _ in parsed]
        if len(set(brand_ids)) < len(brand_ids):
            twice = next(brand for i, brand in enumerate(brand_ids) if brand in brand_ids[:i])
            raise ValueError(f"brand {twice!r} has two queries")
        self.term_ids: dict[Term, int] = {}
        """Every distinct term of every query (positive or under NOT) -> its automaton value."""
        self.terms: list[Term] = []
        weight: dict[Term, int] = {}
        for _, root in parsed:
            for term in all_terms(root):
                if term not in self.term_ids:
                    self.term_ids[term] = len(self.terms)
                    self.terms.append(term)
            for term in set(positive_terms(root)):
                weight[term] = weight.get(term, 0) + 1
        self._queries = [
            _Query(brand_id, root, _any_of(root, self.term_ids), not _has_field(root))
            for brand_id, root in parsed
        ]
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
        self._cache_size = cache_size
        self._cache: OrderedDict[str, Found] = OrderedDict()

    def match(self, post: PostFields) -> dict[str, list[str]]:
        """Brand id -> the positive terms found (as written, normalised; the longest where they
        overlap) in order of first appearance, for every brand whose query the post satisfies
        with at least one term found, in the order the queries were given."""
        if self._automaton is None:
            return {}
        text = post.text
        if (cached := self._cache.get(text)) is not None:
            self._cache.move_to_end(text)
            return {brand_id: [*terms] for brand_id, terms in cached}
        found, text_only = self._scan(post)
        if text_only and self._cache_size and len(text) <= CACHED_TEXT_LENGTH:
            self._cache[text] = tuple(found)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return {brand_id: [*terms] for brand_id, terms in found}

    def _scan(self, post: PostFields) -> tuple[list[tuple[str, tuple[str, ...]]], bool]:
        """The matches of `post` in query order, and whether no query with fields was a candidate
        (then they are the text's alone). The oracle is built only for what the set of present
        terms cannot answer: a query other than an OR of terms, or several terms to order."""
        assert self._automaton is not None
        normalised = post_text(post.text)
        hits = list(self._automaton.iter(normalised.canonical))
        present = {term_id for _, term_id in hits}
        found: list[tuple[str, tuple[str, ...]]] = []
        text_only = True
        oracle: PostOracle | None = None
        for index in self._candidates(present):
            query = self._queries[index]
            terms: list[Term] | None = None
            if query.any_of is not None:
                terms = [term for term_id, term in query.any_of if term_id in present]
                if len(terms) <= 1:  # the usual case: the only term found is the one to report
                    if terms:
                        found.append((query.brand_id, (terms[0].display,)))
                    continue
            if oracle is None:
                oracle = PostOracle(self.node_ids, self.key_lengths, normalised, hits, post, present)
            if terms is None:
                text_only = text_only and query.text_only
                terms = evaluate(query.root, oracle)
            if terms:
                found.append((query.brand_id, tuple(oracle.in_order(terms))))
        return found, text_only

    def _candidates(self, present: set[int]) -> list[int]:
        """The indexes of the queries that the terms `present` (term ids) trigger, in query order."""
        candidates: set[int] = set()
        for term_id in present:
            if (triggered := self._triggered_by.get(term_id)) is not None:
                candidates.update(triggered)
        return sorted(candidates)
