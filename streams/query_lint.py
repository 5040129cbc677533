"""What is wrong with a brand query before it goes live, with the character position of each problem.

Errors are the parser's: a query with one does not run. Warnings are for queries that parse but
will not do what was meant, found from the AST alone:

* it can never match: a contradiction in every way it could be true (`acme AND NOT acme`,
  `"acme corp" AND NOT acme`, `lang:en AND lang:de`), or no term to look for at all (`NOT acme`,
  `lang:de`): a match needs a found term, fields and NOT only narrow (see `query_match`);
* an OR alternative with no term (`acme OR lang:de`), which cannot match on its own;
* dangerously broad: an alternative that alone matches on a word of one or two letters or a very
  common word (`the`, `und`, `og`), or a wildcard on a stem shorter than three letters (`ab*`);
* `and`, `or`, `not`, `near/3` in lower case, which are searched as words.

Contradictions are found by expanding the query into its alternatives (disjunctive normal form),
capped so that a huge query is not expanded; then no warning is given rather than a wrong one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from streams.query_ast import And, Field, Near, Node, Not, Or, Term, positive_terms, requires_term
from streams.query_syntax import QuerySyntaxError, parse_query, tokenize_query

_COMMON_WORDS = """
a an and are as at be but by for from has have he i in is it its my not of on or our so that the their
they this to was we were will with you your
aber auch auf aus bei bin das dass dem den der des die du ein eine einen er es für hat ich im in ist mit
nicht noch sie sind so und von war was wie wir zu
af at de den der det du eller en er et for fra har hun han i ikke jeg kan med men og om på så som til var vi
"""
STOP_WORDS = frozenset(_COMMON_WORDS.split())
"""The most common words of English, German and Danish: alone, each matches a large share of posts."""
_CAP = 256

Atom = Term | Near | tuple[str, str]
Conjunction = frozenset[tuple[Atom, bool]]


@dataclass(frozen=True, slots=True)
class QueryProblem:
    severity: Literal["error", "warning"]
    message: str
    position: int
    expected: str | None = None


def lint_query(query: str) -> list[QueryProblem]:
    """Every problem found, by position: one error if the query does not parse, else warnings."""
    try:
        root = parse_query(query)
    except QuerySyntaxError as error:
        return [QueryProblem("error", error.message, error.position, error.expected)]
    problems = [*_operator_words(query), *_termless(root), *_never(root), *_broad(root)]
    return sorted(problems, key=lambda problem: problem.position)


def _operator_words(query: str) -> list[QueryProblem]:
    found = []
    for token in tokenize_query(query):
        operator = token.text.upper()
        if token.kind == "WORD" and re.fullmatch(r"AND|OR|NOT|O?NEAR/\d+", operator):
            message = f"'{token.text}' is searched as a word: operators are upper-case"
            found.append(QueryProblem("warning", message, token.position, f'{operator}, or "{token.text}"'))
    return found


def _termless(root: Node) -> list[QueryProblem]:
    if not positive_terms(root):
        message = "can never match: no term to look for (fields and NOT only narrow a match)"
        return [QueryProblem("warning", message, root.position, "a term, e.g. acme AND NOT roadrunner")]
    found: list[QueryProblem] = []
    if not requires_term(root):
        _termless_alternatives(root, found)
    return found


def _termless_alternatives(node: Node, found: list[QueryProblem]) -> None:
    """Report the OR alternatives of `node` that hold no term, looking into those that have some."""
    for operand in node.operands if isinstance(node, And | Or) else ():
        if requires_term(operand):
            continue
        if isinstance(operand, Or) or (isinstance(operand, And) and positive_terms(operand)):
            _termless_alternatives(operand, found)
        elif isinstance(node, Or):
            message = "this alternative has no term to look for: it cannot match on its own"
            found.append(QueryProblem("warning", message, operand.position, "a term in it, or remove it"))


def _never(root: Node) -> list[QueryProblem]:
    alternatives = _dnf(root, True)
    has_terms = bool(positive_terms(root))
    reasons = [_conflict(alternative, has_terms) for alternative in alternatives or ()]
    if not reasons or any(reason is None for reason in reasons):
        return []
    expected = "a query that some post can satisfy"
    return [QueryProblem("warning", f"can never match: {reasons[0]}", 0, expected)]


def _dnf(node: Node, positive: bool) -> list[Conjunction] | None:
    """The ways `node` (or its negation) can be true, each a set of (atom, truth); None if too many."""
    match node:
        case Term():
            return [frozenset({(node, positive)})]
        case Field():
            literals = [((node.name, value), positive) for value in node.values]
            return [frozenset({literal}) for literal in literals] if positive else [frozenset(literals)]
        case Not():
            return _dnf(node.operand, not positive)
        case Near():
            if not positive:
                return [frozenset({(node, False)})]
            return [frozenset({(node, True), (a, True), (b, True)}) for a in node.left for b in node.right]
        case And() | Or():
            parts = [_dnf(operand, positive) for operand in node.operands]
            result: list[Conjunction] = [frozenset()] if isinstance(node, And) == positive else []
            for part in parts:
                if part is None:
                    return None
                if isinstance(node, And) == positive:
                    result = [a | b for a in result for b in part]
                else:
                    result += part
                if len(result) > _CAP:
                    return None
            return result


def _conflict(alternative: Conjunction, need_term: bool) -> str | None:
    """Why no post can satisfy all of `alternative` with a term found; None if one can."""
    required = [atom for atom, truth in alternative if truth]
    excluded = [atom for atom, truth in alternative if not truth]
    if need_term and not any(isinstance(atom, Term) for atom in required):
        return "no alternative has a term to look for"
    for need in required:
        for ban in excluded:
            if isinstance(need, Term) and isinstance(ban, Term) and _implies(need, ban):
                if need.key == ban.key:
                    return f"'{need.display}' is both required and excluded"
                return f"'{need.display}' is required but contains the excluded '{ban.display}'"
            if isinstance(need, Near) and isinstance(ban, Near) and _near_implies(need, ban):
                return "the same proximity is both required and excluded"
            if isinstance(need, tuple) and isinstance(ban, tuple) and _field_within(need, ban):
                if need == ban:
                    return f"{need[0]}:{need[1]} is both required and excluded"
                return f"{need[0]}:{need[1]} is required but {ban[0]}:{ban[1]} is excluded"
    fields = sorted(atom for atom in required if isinstance(atom, tuple))
    for (name, one), (other_name, other) in pairwise(fields):
        if name == other_name and not (_within(name, one, other) or _within(name, other, one)):
            return f"{name}:{one} and {name}:{other} cannot both hold"
    return None


def _implies(need: Term, ban: Term) -> bool:
    """Every post containing `need` contains `ban` (a hashtag or handle contains its word)."""
    if ban.kind != "word" and need.kind != ban.kind:
        return False
    last_need, last_ban = len(need.words) - 1, len(ban.words) - 1
    for offset in range(len(need.words) - len(ban.words) + 1):
        for i, word in enumerate(ban.words):
            have, have_prefix = need.words[offset + i], need.prefix and offset + i == last_need
            exact = have == word and not have_prefix
            if not (have.startswith(word) if ban.prefix and i == last_ban else exact):
                break
        else:
            return True
    return False


def _near_implies(need: Near, ban: Near) -> bool:
    same_sides = {t.key for t in need.left} <= {t.key for t in ban.left} and {t.key for t in need.right} <= {
        t.key for t in ban.right
    }
    return same_sides and need.distance <= ban.distance and (need.ordered or not ban.ordered)


def _field_within(need: tuple[str, str], ban: tuple[str, str]) -> bool:
    return need[0] == ban[0] and _within(need[0], need[1], ban[1])


def _within(name: str, value: str, other: str) -> bool:
    """Every post with `name:value` also has `name:other` (en-gb is en, shop.acme.com is acme.com)."""
    if name == "lang":
        return value == other or value.startswith(other + "-")
    if name == "site":
        return value == other or value.endswith("." + other)
    return value == other


def _broad(root: Node) -> list[QueryProblem]:
    found = []
    for term in _standalone(root):
        word = term.words[0]
        if term.kind != "word" or len(term.words) > 1 or term.prefix:
            continue
        if word in STOP_WORDS:
            message = f"'{term.display}' is one of the most common words: alone it matches most posts"
        elif len(word) <= 2:
            message = f"'{term.display}' has only {len(word)} letters: alone it matches many unrelated posts"
        else:
            continue
        found.append(QueryProblem("warning", message, term.position, f"a phrase or AND context for {word}"))
    for term in dict.fromkeys(positive_terms(root)):
        if term.prefix and len(term.words) == 1 and len(term.words[0]) < 3:
            message = f"wildcard on the short stem '{term.display}' matches a large share of all words"
            found.append(QueryProblem("warning", message, term.position, "at least 3 letters before *"))
    return found


def _standalone(node: Node) -> list[Term]:
    """Terms that alone (with at most fields and NOT beside them) make the query true."""
    match node:
        case Term():
            return [node]
        case Or():
            return [term for operand in node.operands for term in _standalone(operand)]
        case And():
            needing = [operand for operand in node.operands if requires_term(operand)]
            return _standalone(needing[0]) if len(needing) == 1 else []
        case _:
            return []
