"""Brand query syntax: tokenizer and recursive-descent parser producing the AST of `query_ast`.

What users can write (operators are upper-case keywords; anything else, `and` too, is searched for):

    query   := or END
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*       adjacent clauses are ANDed, as in Brandwatch or Talkwalker
    unary   := "NOT" unary | near
    near    := primary [("NEAR/n" | "ONEAR/n") primary]      1 <= n <= 9999; operands: terms or (a OR b)
    primary := "(" or ")" | term | "phrase" | field
    term    := word | word* | #hashtag | #hashtag* | @handle | @handle*
    field   := (lang | source | author | site) ":" (value | "(" value ("OR" value)* ")")

NEAR binds tighter than NOT, NOT tighter than AND, AND tighter than OR: `NOT a NEAR/2 b` is
`NOT (a NEAR/2 b)`. `a NEAR/n b` holds when at most n words lie between an occurrence of a and one
of b, in either order; ONEAR needs a first. Punctuation and emoji are not words: a bare term with
punctuation inside is the phrase of its words (`coca-cola` is `"coca cola"`), and a phrase's
punctuation only separates words. A phrase may end in a wildcard (`"acme rec*"`); inside quotes a
backslash makes the next character literal (`"c\\*"`, `"say \\"hi\\""`), which is how
`query_from_aliases` quotes aliases. `"..."` and `“...”` both quote. Errors are `QuerySyntaxError`
with the 0-based character position and what would fit there, for editors and `lint_query`.
Parentheses and NOTs nest at most `MAX_DEPTH` deep, so no query, however hostile, can exhaust the
stack of the parser or of the recursive passes over its tree (`evaluate`, `lint_query`).

Fields test the post, not its text, case-insensitively: `lang:en` (an ISO 639-1 code brandmon
detects, or `und`) also holds for `en-GB`; `site:acme.com` for the host of the post's URL and its
subdomains (`www.` is ignored); `source:` and `author:` (an `@` is ignored) compare whole values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from streams.query_ast import (
    FIELDS,
    And,
    Field,
    FieldName,
    Near,
    Node,
    Not,
    Or,
    Oracle,
    Term,
    TermKind,
    all_terms,
    evaluate,
    positive_terms,
    requires_term,
)
from streams.query_terms import QuerySyntaxError, field_value, phrase, term, unescape

_BARE = re.compile(r"[^\s()\"“”]+")
_NEAR = re.compile(r"(O?NEAR)(?:/(.*))?", re.S)
_FIELD = re.compile(r"([A-Za-z]+):(.*)", re.S)


TokenKind = Literal["(", ")", "AND", "OR", "NOT", "NEAR", "PHRASE", "WORD", "FIELD", "END"]
_OPERAND_START = ("WORD", "PHRASE", "FIELD", "(", "NOT")
_OPERAND = "a term, phrase, field or '('"
MAX_DEPTH = 100
"""Nesting of `(` and `NOT` allowed; far more than a query a person writes needs."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    """Raw text; a phrase's content without the quotes; a field's value (empty before `(` or `"`)."""
    position: int
    name: str = ""
    distance: int = 0
    ordered: bool = False


def tokenize_query(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char == "(" or char == ")":
            tokens.append(Token("(" if char == "(" else ")", char, i))
            i += 1
        elif char in '"“':
            end = i + 1
            while end < len(query) and query[end] not in '"”':
                end += 2 if query[end] == "\\" else 1
            if end >= len(query):
                raise QuerySyntaxError("unterminated phrase", i, 'a closing " after the phrase')
            tokens.append(Token("PHRASE", query[i + 1 : end], i))
            i = end + 1
        elif char == "”":
            raise QuerySyntaxError("closing quote without an opening one", i, '“ or " before the phrase')
        else:
            bare = _BARE.match(query, i)
            assert bare is not None
            tokens.append(_classify(bare.group(), i))
            i = bare.end()
    tokens.append(Token("END", "", len(query)))
    return tokens


def _classify(raw: str, position: int) -> Token:
    for operator in ("AND", "OR", "NOT"):
        if raw == operator:
            return Token(operator, raw, position)
    if near := _NEAR.fullmatch(raw):
        distance = near.group(2)
        if distance is None or not re.fullmatch(r"[1-9][0-9]{0,3}", distance):
            what = "needs a distance" if not distance else f"distance '{distance}' is not allowed"
            expected = f"{near.group(1)}/n with a whole number n from 1 to 9999, e.g. {near.group(1)}/3"
            raise QuerySyntaxError(f"{near.group(1)} {what}", position, expected)
        return Token("NEAR", raw, position, distance=int(distance), ordered=raw.startswith("O"))
    if field := _FIELD.fullmatch(raw):
        name = field.group(1).lower()
        if name not in FIELDS:
            expected = "one of " + ", ".join(f"{f}:" for f in FIELDS) + ' (or quote the text: "a:b")'
            raise QuerySyntaxError(f"unknown field '{field.group(1)}:'", position, expected)
        return Token("FIELD", field.group(2), position, name=name)
    return Token("WORD", raw, position)


def parse_query(query: str) -> Node:
    """The AST of `query`; QuerySyntaxError at the first problem."""
    return _Parser(query).parse()


class _Parser:
    def __init__(self, query: str) -> None:
        self._tokens = tokenize_query(query)
        self._i = 0
        self._depth = 0

    def _deeper(self, token: Token) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            expected = f"at most {MAX_DEPTH} nested parentheses and NOTs"
            raise QuerySyntaxError("nested too deeply", token.position, expected)

    def _peek(self) -> Token:
        return self._tokens[self._i]

    def _next(self) -> Token:
        token = self._tokens[self._i]
        self._i += 1
        return token

    def parse(self) -> Node:
        if self._peek().kind == "END":
            raise QuerySyntaxError("empty query", 0, _OPERAND)
        root = self._or()
        token = self._peek()
        if token.kind == ")":
            raise QuerySyntaxError("unbalanced ')'", token.position, "a matching '(' before it")
        if token.kind != "END":
            raise QuerySyntaxError(f"unexpected {token.text}", token.position, "AND, OR or the end")
        return root

    def _or(self) -> Node:
        operands = [self._and()]
        while self._peek().kind == "OR":
            operands.append(self._and(self._next()))
        return operands[0] if len(operands) == 1 else Or(tuple(operands), operands[0].position)

    def _and(self, after: Token | None = None) -> Node:
        operands = [self._unary(after)]
        while (kind := self._peek().kind) == "AND" or kind in _OPERAND_START:
            operands.append(self._unary(self._next() if kind == "AND" else None))
        return operands[0] if len(operands) == 1 else And(tuple(operands), operands[0].position)

    def _unary(self, after: Token | None) -> Node:
        if self._peek().kind == "NOT":
            token = self._next()
            self._deeper(token)
            operand = self._unary(token)
            self._depth -= 1
            return Not(operand, token.position)
        left = self._primary(after)
        if self._peek().kind != "NEAR":
            return left
        near = self._next()
        right = self._primary(near)
        if self._peek().kind == "NEAR":
            expected = "AND between proximity clauses, e.g. (a NEAR/3 b) AND (b NEAR/3 c)"
            raise QuerySyntaxError("NEAR cannot be chained", self._peek().position, expected)
        return Near(_near_side(left), _near_side(right), near.distance, near.ordered, near.position)

    def _primary(self, after: Token | None) -> Node:
        token = self._peek()
        if token.kind not in ("WORD", "PHRASE", "FIELD", "("):
            if token.kind == "END" and after is None:
                raise QuerySyntaxError("unexpected end of the query", token.position, _OPERAND)
            if after is not None:
                raise QuerySyntaxError(f"{after.text} needs a right-hand side", after.position, _OPERAND)
            if token.kind in ("AND", "OR", "NEAR"):
                raise QuerySyntaxError(f"{token.text} needs a left-hand side", token.position, _OPERAND)
            raise QuerySyntaxError(f"unexpected '{token.text}'", token.position, _OPERAND)
        self._next()
        if token.kind == "WORD":
            return term(token.text, token.position)
        if token.kind == "PHRASE":
            return phrase(token.text, token.position)
        if token.kind == "FIELD":
            return self._field(token)
        if self._peek().kind == ")":
            raise QuerySyntaxError("empty parentheses", token.position, "a term inside the parentheses")
        if self._peek().kind == "END":
            raise QuerySyntaxError("unclosed parenthesis", token.position, "a term and ')' to close it")
        self._deeper(token)
        inner = self._or()
        self._depth -= 1
        if self._next().kind != ")":
            raise QuerySyntaxError("unclosed parenthesis", token.position, "')' to close it")
        return inner

    def _field(self, token: Token) -> Field:
        name = next(f for f in FIELDS if f == token.name)
        if token.text:
            value_at = token.position + len(name) + 1
            return Field(name, (field_value(name, token.text, value_at),), token.position)
        example = f"a value, e.g. {name}:x or {name}:(x OR y)"
        if self._peek().kind == "PHRASE":
            value = self._next()
            return Field(name, (field_value(name, unescape(value.text), value.position),), token.position)
        if self._peek().kind != "(":
            raise QuerySyntaxError(f"{name}: needs a value", token.position + len(name) + 1, example)
        opening = self._next()
        values: list[str] = []
        while (value := self._next()).kind in ("WORD", "PHRASE"):
            raw = value.text if value.kind == "WORD" else unescape(value.text)
            values.append(field_value(name, raw, value.position))
            if self._peek().kind != "OR":
                break
            self._next()
        else:
            if value.kind == "END":
                raise QuerySyntaxError("unclosed parenthesis", opening.position, "')' to close it")
            raise QuerySyntaxError(f"unexpected '{value.text}' in {name}:(...)", value.position, example)
        closing = self._next()
        if closing.kind == "END":
            raise QuerySyntaxError("unclosed parenthesis", opening.position, "')' to close it")
        if closing.kind != ")":
            raise QuerySyntaxError(f"{name}:(...) takes values joined by OR", closing.position, "OR or ')'")
        return Field(name, tuple(values), token.position)


def _near_side(node: Node) -> tuple[Term, ...]:
    if isinstance(node, Term):
        return (node,)
    if isinstance(node, Or) and all(isinstance(operand, Term) for operand in node.operands):
        return tuple(operand for operand in node.operands if isinstance(operand, Term))
    expected = "a term, phrase, #hashtag, @handle or (a OR b) of those on each side of NEAR"
    raise QuerySyntaxError("NEAR works on terms only", node.position, expected)


__all__ = ["And", "Field", "FieldName", "Near", "Node", "Not", "Or", "Oracle", "QuerySyntaxError", "Term"]
__all__ += ["TermKind", "Token", "all_terms", "evaluate", "parse_query", "positive_terms", "requires_term"]
__all__ += ["MAX_DEPTH", "tokenize_query"]
