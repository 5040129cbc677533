"""Brand query syntax: what parses to which AST, precedence, term spelling, and exact error positions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from streams.query_ast import all_terms, evaluate, positive_terms, requires_term, words_of
from streams.query_lint import lint_query
from streams.query_syntax import (
    MAX_DEPTH,
    And,
    Field,
    Near,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    parse_query,
    tokenize_query,
)

EXAMPLE = '("acme" OR #acme OR @acmeinc OR "acme corp") AND NOT (roadrunner OR "wile e") AND lang:(en OR de)'


def word(*words: str, prefix: bool = False) -> Term:
    return Term("word", words, prefix, "")


def test_the_product_example_parses_to_the_expected_tree() -> None:
    assert parse_query(EXAMPLE) == And(
        (
            Or(
                (
                    word("acme"),
                    Term("hashtag", ("acme",), False, ""),
                    Term("handle", ("acmeinc",), False, ""),
                    word("acme", "corp"),
                )
            ),
            Not(Or((word("roadrunner"), word("wile", "e")))),
            Field("lang", ("en", "de")),
        )
    )


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("a OR b AND c", Or((word("a"), And((word("b"), word("c")))))),
        ("a b c", And((word("a"), word("b"), word("c")))),
        ("a NOT b", And((word("a"), Not(word("b"))))),
        ("NOT NOT a", Not(Not(word("a")))),
        ("NOT a NEAR/2 b", Not(Near((word("a"),), (word("b"),), 2, False))),
        ("(a OR b) ONEAR/3 c", Near((word("a"), word("b")), (word("c"),), 3, True)),
        (
            "((a OR (b)) AND (c OR (d AND NOT e)))",
            And((Or((word("a"), word("b"))), Or((word("c"), And((word("d"), Not(word("e")))))))),
        ),
        ("a OR b OR c", Or((word("a"), word("b"), word("c")))),
        ("and", word("and")),
        ("near", word("near")),
        ("NEARBY", word("nearby")),
    ],
)
def test_precedence_and_structure(query: str, tree: Node) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "kind", "words", "prefix", "display"),
    [
        ("Acme", "word", ("acme",), False, "acme"),
        ("coca-cola", "word", ("coca", "cola"), False, "coca-cola"),
        ('"Acme  Corp"', "word", ("acme", "corp"), False, "acme corp"),
        ("“acme corp”", "word", ("acme", "corp"), False, "acme corp"),
        ("recall*", "word", ("recall",), True, "recall*"),
        ('"acme rec*"', "word", ("acme", "rec"), True, "acme rec*"),
        ('"c\\*"', "word", ("c",), False, "c*"),
        ('"say \\"hi\\""', "word", ("say", "hi"), False, 'say "hi"'),
        ("#AcmeRecall", "hashtag", ("acmerecall",), False, "#acmerecall"),
        ("#acme*", "hashtag", ("acme",), True, "#acme*"),
        ('"#Acme"', "hashtag", ("acme",), False, "#acme"),
        ("@AcmeInc", "handle", ("acmeinc",), False, "@acmeinc"),
        ("bob@acme.com", "word", ("bob", "acme", "com"), False, "bob@acme.com"),
        ("STRAßE", "word", ("strasse",), False, "strasse"),
        ("\uff21\uff23\uff2d\uff25", "word", ("acme",), False, "acme"),
        ("Brødbær", "word", ("brødbær",), False, "brødbær"),
        ("索尼", "word", ("索", "尼"), False, "索尼"),
        ("#索尼", "hashtag", ("索尼",), False, "#索尼"),
        ("हिंदी", "word", ("हिंदी",), False, "हिंदी"),
    ],
)
def test_terms(query: str, kind: str, words: tuple[str, ...], prefix: bool, display: str) -> None:
    term = parse_query(query)
    assert isinstance(term, Term)
    assert (term.kind, term.words, term.prefix, term.display) == (kind, words, prefix, display)


def test_terms_compare_by_what_they_match_not_by_spelling() -> None:
    assert parse_query("coca-cola") == parse_query('"Coca Cola"')
    assert parse_query("#acme") != parse_query("acme")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lang:EN", Field("lang", ("en",))),
        ("lang:(en OR de OR da)", Field("lang", ("en", "de", "da"))),
        ("lang:en_US", Field("lang", ("en-us",))),
        ("lang:und", Field("lang", ("und",))),
        ("site:www.Acme.com", Field("site", ("acme.com",))),
        ("site:shop.acme.co.uk.", Field("site", ("shop.acme.co.uk",))),
        ("author:@Bob", Field("author", ("bob",))),
        ('author:"Jane Doe"', Field("author", ("jane doe",))),
        ('source:(twitter OR "my feed")', Field("source", ("twitter", "my feed"))),
        ("LANG:de", Field("lang", ("de",))),
    ],
)
def test_fields(query: str, field: Field) -> None:
    assert parse_query(query) == field


def test_positions_point_into_the_query() -> None:
    tree = parse_query('acme AND NOT "wile e" OR #x')
    assert isinstance(tree, Or)
    first, last = tree.operands
    assert isinstance(first, And)
    assert [operand.position for operand in first.operands] == [0, 9]
    assert last.position == 25
    assert [(t.kind, t.position) for t in tokenize_query('a "b c" lang:(x)')] == [
        ("WORD", 0),
        ("PHRASE", 2),
        ("FIELD", 8),
        ("(", 13),
        ("WORD", 14),
        (")", 15),
        ("END", 16),
    ]


@pytest.mark.parametrize(
    ("query", "position", "message", "expected"),
    [
        ("", 0, "empty query", "a term"),
        ("   ", 0, "empty query", "a term"),
        ("acme AND", 5, "AND needs a right-hand side", "a term"),
        ("acme OR", 5, "OR needs a right-hand side", "a term"),
        ("OR acme", 0, "OR needs a left-hand side", "a term"),
        ("AND acme", 0, "AND needs a left-hand side", "a term"),
        ("acme NOT", 5, "NOT needs a right-hand side", "a term"),
        ("acme AND OR b", 5, "AND needs a right-hand side", "a term"),
        ("(acme OR b", 0, "unclosed parenthesis", "')'"),
        ("acme (", 5, "unclosed parenthesis", "')'"),
        ("((a) OR (b)", 0, "unclosed parenthesis", "')'"),
        ("acme)", 4, "unbalanced ')'", "'('"),
        ("a OR b) AND (c", 6, "unbalanced ')'", "'('"),
        ("acme AND ()", 9, "empty parentheses", "a term inside"),
        ('acme OR ""', 8, "empty phrase", "words between the quotes"),
        ('"   "', 0, "empty phrase", "words"),
        ('acme "wile e', 5, "unterminated phrase", 'a closing "'),
        ('"ends with a backslash\\"', 0, "unterminated phrase", 'a closing "'),
        ("acme”", 4, "closing quote without an opening one", "before the phrase"),
        ("a NEAR/0 b", 2, "NEAR distance '0' is not allowed", "from 1 to 9999"),
        ("a NEAR/x b", 2, "NEAR distance 'x' is not allowed", "NEAR/3"),
        ("a ONEAR/10000 b", 2, "ONEAR distance '10000' is not allowed", "ONEAR/3"),
        ("a NEAR b", 2, "NEAR needs a distance", "NEAR/n"),
        ("a NEAR/ b", 2, "NEAR needs a distance", "NEAR/n"),
        ("NEAR/3 b", 0, "NEAR/3 needs a left-hand side", "a term"),
        ("a NEAR/3", 2, "NEAR/3 needs a right-hand side", "a term"),
        ("a NEAR/3 b NEAR/3 c", 11, "NEAR cannot be chained", "AND between proximity clauses"),
        ("(a AND b) NEAR/2 c", 1, "NEAR works on terms only", "(a OR b)"),
        ("lang:en NEAR/2 c", 0, "NEAR works on terms only", "a term"),
        ("acme AND country:dk", 9, "unknown field 'country:'", "one of author:, lang:, site:, source:"),
        ("lang:english", 5, "'english' is not a language code", "ISO 639-1"),
        ("lang:xx", 5, "'xx' is not a language code", "en, de, da"),
        ("lang:(en OR zz)", 12, "'zz' is not a language code", "ISO 639-1"),
        ("lang:", 5, "lang: needs a value", "lang:(x OR y)"),
        ("lang:(en de)", 9, "lang:(...) takes values joined by OR", "OR or ')'"),
        ("lang:(en OR)", 11, "unexpected ')' in lang:(...)", "a value"),
        ("lang:(en", 5, "unclosed parenthesis", "')'"),
        ("lang:e*", 5, "wildcards are not supported", "a plain lang"),
        ("site:https://acme.com/x", 5, "is not a host", "a host like example.com"),
        ("site:acme.com:8080", 5, "is not a host", "no scheme, path or port"),
        ("ac*me", 2, "wildcard inside a term", "only at the end"),
        ("*acme", 0, "wildcard inside a term", "only at the end"),
        ('"acme * corp"', 6, "wildcard inside a term", "only at the end"),
        ("acme-*", 5, "wildcard after punctuation", "a letter or digit right before *"),
        ("#acme-corp", 0, "'#acme-corp' is not a hashtag", "# followed by letters"),
        ("#acme索尼", 0, "'#acme索尼' is not a hashtag", "# followed by letters"),
        ("@acme.inc", 0, "'@acme.inc' is not a handle", "@ followed by letters"),
        ("#", 0, "nothing to search in '#'", "emoji and punctuation are not searchable"),
        ("acme OR 🔥", 8, "nothing to search in '🔥'", "words, a #hashtag or an @handle"),
    ],
)
def test_errors_say_where_and_what_was_expected(
    query: str, position: int, message: str, expected: str
) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query(query)
    error = raised.value
    assert error.position == position
    assert message in error.message
    assert expected in error.expected
    assert f"at position {position}" in str(error)


def test_queries_of_only_not_or_fields_parse() -> None:
    assert parse_query("NOT acme") == Not(word("acme"))
    assert parse_query("lang:de AND NOT acme") == And((Field("lang", ("de",)), Not(word("acme"))))


@dataclass
class FakeOracle:
    present: set[str]
    fields: set[str]
    near_pairs: set[tuple[str, str]]

    def term(self, term: Term) -> bool:
        return term.display in self.present

    def field(self, field: Field) -> bool:
        return any(f"{field.name}:{value}" in self.fields for value in field.values)

    def near(self, first: Term, second: Term, distance: int, ordered: bool) -> bool:
        return (first.display, second.display) in self.near_pairs


def displays(query: str, oracle: FakeOracle) -> list[str] | None:
    terms = evaluate(parse_query(query), oracle)
    return None if terms is None else [term.display for term in terms]


def test_evaluate_collects_every_true_branch_and_never_negated_terms() -> None:
    oracle = FakeOracle({"acme", "#acme", "roadrunner", "recall"}, {"lang:en"}, {("acme", "recall")})
    assert displays("acme OR #acme OR globex", oracle) == ["acme", "#acme"]
    assert displays("acme AND NOT globex AND lang:en", oracle) == ["acme"]
    assert displays("acme AND NOT roadrunner", oracle) is None
    assert displays("acme AND lang:de", oracle) is None
    assert displays("NOT globex", oracle) == []
    assert displays("acme NEAR/3 recall", oracle) == ["acme", "recall"]
    assert displays("recall NEAR/3 acme", oracle) is None
    assert displays("(acme OR #acme) NEAR/3 (recall OR globex)", oracle) == ["acme", "recall"]
    assert displays("(globex OR (acme AND (recall OR NOT lang:en)))", oracle) == ["acme", "recall"]


def test_term_helpers() -> None:
    tree = parse_query("(acme OR x NEAR/2 y) AND NOT (roadrunner OR z) AND lang:en")
    assert [t.display for t in positive_terms(tree)] == ["acme", "x", "y"]
    assert [t.display for t in all_terms(tree)] == ["acme", "x", "y", "roadrunner", "z"]
    assert requires_term(tree)
    assert not requires_term(parse_query("acme OR lang:de"))
    assert not requires_term(parse_query("NOT acme"))
    assert requires_term(parse_query("(acme OR lang:de) AND recall"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("🔥Acme🔥", ["acme"]),
        ("❤️acme", ["acme"]),
        ("acme's", ["acme", "s"]),
        ("acme_corp", ["acme_corp"]),
        ("A\u0308PFEL", ["äpfel"]),
        ("我喜欢acme产品", ["我", "喜", "欢", "acme", "产", "品"]),
        ("ソニー", ["ソ", "ニ", "ー"]),
        ("привет acme", ["привет", "acme"]),
        ("\U0001d400\U0001d41c\U0001d426\U0001d41e", ["acme"]),  # mathematical bold
        ("𐐀𐐁 x", ["𐐨𐐩", "x"]),
    ],
)
def test_words_are_split_the_same_way_for_queries_and_posts(text: str, words: list[str]) -> None:
    assert words_of(text) == words


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("(" * 10_000 + "acme" + ")" * 10_000, MAX_DEPTH),
        ("NOT " * 5_000 + "acme", 4 * MAX_DEPTH),
        ("acme AND " + "(NOT " * 3_000 + "x" + ")" * 3_000, 9 + 5 * (MAX_DEPTH // 2)),
    ],
)
def test_deep_nesting_is_a_syntax_error_not_a_recursion_error(query: str, position: int) -> None:
    """10,000 nested parentheses raised RecursionError out of the parser (and so out of config load)."""
    with pytest.raises(QuerySyntaxError, match="nested too deeply") as error:
        parse_query(query)
    assert error.value.position == position
    [problem] = lint_query(query)
    assert (problem.severity, problem.message) == ("error", "nested too deeply")


def test_nesting_up_to_the_limit_parses_and_means_the_same() -> None:
    deep = parse_query("(" * MAX_DEPTH + "acme" + ")" * MAX_DEPTH)
    assert deep == Term("word", ("acme",), False, "")
    nots = parse_query("NOT " * (MAX_DEPTH - 1) + "(acme)")
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(nots, Not)
        nots = nots.operand
    assert nots == Term("word", ("acme",), False, "")
