"""`lint_query`: syntax errors with position and expectation; warnings for queries that parse but
cannot match, match on their own without a term, or are dangerously broad."""

from __future__ import annotations

import dataclasses

import pytest

from streams.query_lint import QueryProblem, lint_query

NEAR_EXPECTED = "NEAR/n with a whole number n from 1 to 9999, e.g. NEAR/3"
FIELD_EXPECTED = 'one of author:, lang:, site:, source: (or quote the text: "a:b")'
EXAMPLE = '("acme" OR #acme OR @acmeinc OR "acme corp") AND NOT (roadrunner OR "wile e") AND lang:(en OR de)'


def warnings(query: str) -> list[str]:
    problems = lint_query(query)
    assert all(problem.severity == "warning" for problem in problems)
    return [problem.message for problem in problems]


@pytest.mark.parametrize(
    "query",
    [
        EXAMPLE,
        "acme",
        "acme* AND NOT acme",
        "(acme OR globex) AND NOT acme",
        "acme AND (NOT acme OR lang:de)",
        "acme AND lang:en AND lang:en-gb",
        "acme AND site:acme.com AND site:shop.acme.com",
        "acme AND NOT site:shop.acme.com AND site:acme.com",
        "(hp AND printer) OR (ge AND turbine)",
        "the NEAR/2 acme",
        "acme AND (the OR und)",
        '"the who" OR acme',
        "recall* OR acme",
        "(acme NEAR/3 recall) AND NOT (acme NEAR/1 recall)",
        "#acme AND NOT @acme",
        "acme AND (lang:en OR lang:de) AND NOT lang:en",
    ],
)
def test_good_queries_have_no_problems(query: str) -> None:
    assert lint_query(query) == []


@pytest.mark.parametrize(
    ("query", "position", "message", "expected"),
    [
        ("acme AND (roadrunner", 9, "unclosed parenthesis", "')' to close it"),
        ("acme)", 4, "unbalanced ')'", "a matching '(' before it"),
        ("acme AND", 5, "AND needs a right-hand side", "a term, phrase, field or '('"),
        ("OR acme", 0, "OR needs a left-hand side", "a term, phrase, field or '('"),
        ("acme AND NOT", 9, "NOT needs a right-hand side", "a term, phrase, field or '('"),
        ('acme OR ""', 8, "empty phrase", "words between the quotes"),
        ("a NEAR/0 b", 2, "NEAR distance '0' is not allowed", NEAR_EXPECTED),
        ("a NEAR/x b", 2, "NEAR distance 'x' is not allowed", NEAR_EXPECTED),
        ("acme country:dk", 5, "unknown field 'country:'", FIELD_EXPECTED),
        (
            "acme lang:deutsch",
            10,
            "'deutsch' is not a language code",
            "an ISO 639-1 code brandmon detects, e.g. en, de, da (or und: undetermined)",
        ),
        ("", 0, "empty query", "a term, phrase, field or '('"),
    ],
)
def test_syntax_errors_are_one_error_with_position_and_expectation(
    query: str, position: int, message: str, expected: str
) -> None:
    assert lint_query(query) == [QueryProblem("error", message, position, expected)]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("acme AND NOT acme", "'acme' is both required and excluded"),
        ("Acme AND NOT (roadrunner OR ACME)", "'acme' is both required and excluded"),
        ('"acme corp" AND NOT acme', "'acme corp' is required but contains the excluded 'acme'"),
        ("acme AND NOT acme*", "'acme' is required but contains the excluded 'acme*'"),
        ("#acme AND NOT acme", "'#acme' is required but contains the excluded 'acme'"),
        ("acme AND lang:en AND lang:de", "lang:de and lang:en cannot both hold"),
        ("acme AND lang:en AND NOT lang:en", "lang:en is both required and excluded"),
        ("acme AND lang:en-gb AND NOT lang:en", "lang:en-gb is required but lang:en is excluded"),
        ("acme site:shop.acme.com NOT site:acme.com", "site:shop.acme.com is required but site:acme.com"),
        ("acme AND source:twitter AND source:reddit", "source:reddit and source:twitter cannot both hold"),
        ("(acme OR #acme) AND NOT acme", "'acme' is both required and excluded"),
        ("(acme NEAR/3 recall) NOT (acme NEAR/5 recall)", "the same proximity is both required and excluded"),
        ("(acme NEAR/3 recall) AND NOT acme", "'acme' is both required and excluded"),
    ],
)
def test_contradictions_never_match(query: str, reason: str) -> None:
    problems = lint_query(query)
    assert [(p.severity, p.position) for p in problems] == [("warning", 0)]
    assert problems[0].message.startswith("can never match: ")
    assert reason in problems[0].message


@pytest.mark.parametrize("query", ["NOT acme", "NOT (acme OR globex)", "lang:de", "lang:de AND NOT acme"])
def test_a_query_without_a_term_never_matches(query: str) -> None:
    assert warnings(query)[0] == "can never match: no term to look for (fields and NOT only narrow a match)"


def test_field_contradiction_without_terms_is_reported_too() -> None:
    assert warnings("lang:en AND lang:de") == [
        "can never match: no term to look for (fields and NOT only narrow a match)",
        "can never match: lang:de and lang:en cannot both hold",
    ]


def test_nested_alternatives_without_a_term_are_flagged() -> None:
    problems = lint_query("acme OR ((x OR lang:de) AND NOT y)")
    assert [(p.position, p.message) for p in problems] == [
        (15, "this alternative has no term to look for: it cannot match on its own")
    ]


def test_an_alternative_without_a_term_is_flagged_where_it_is() -> None:
    problems = lint_query("acme OR lang:de OR (NOT globex AND source:rss)")
    assert [(p.position, p.message) for p in problems] == [
        (8, "this alternative has no term to look for: it cannot match on its own"),
        (20, "this alternative has no term to look for: it cannot match on its own"),
    ]


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("hp OR dell", 0, "'hp' has only 2 letters: alone it matches many unrelated posts"),
        ("acme OR (x AND lang:en)", 9, "'x' has only 1 letters: alone it matches many unrelated posts"),
        ("acme OR the", 8, "'the' is one of the most common words: alone it matches most posts"),
        ("acme OR und", 8, "'und' is one of the most common words: alone it matches most posts"),
        ("acme OR og", 8, "'og' is one of the most common words: alone it matches most posts"),
        ("acme OR (The NOT globex)", 9, "'the' is one of the most common words: alone it matches most posts"),
        ("ab* OR acme", 0, "wildcard on the short stem 'ab*' matches a large share of all words"),
        ("acme AND a*", 9, "wildcard on the short stem 'a*' matches a large share of all words"),
    ],
)
def test_dangerously_broad(query: str, position: int, message: str) -> None:
    assert [(p.position, p.message) for p in lint_query(query)] == [(position, message)]


def test_broad_terms_suggest_a_fix() -> None:
    (problem,) = lint_query("acme OR the")
    assert problem.expected == "a phrase or AND context for the"
    (problem,) = lint_query("ab*")
    assert problem.expected == "at least 3 letters before *"


@pytest.mark.parametrize(
    ("query", "position", "word", "operator"),
    [
        ("acme and roadrunner", 5, "and", "AND"),
        ("acme or globex", 5, "or", "OR"),
        ("acme Not globex", 5, "Not", "NOT"),
        ("acme near/3 recall", 5, "near/3", "NEAR/3"),
        ("acme onear/2 recall", 5, "onear/2", "ONEAR/2"),
    ],
)
def test_lower_case_operators_are_searched_as_words(
    query: str, position: int, word: str, operator: str
) -> None:
    problems = [p for p in lint_query(query) if "searched as a word" in p.message]
    message = f"'{word}' is searched as a word: operators are upper-case"
    assert problems == [QueryProblem("warning", message, position, f'{operator}, or "{word}"')]


def test_problems_are_sorted_by_position_and_frozen() -> None:
    problems = lint_query("acme or globex OR hp OR lang:de")
    assert [p.position for p in problems] == [5, 18, 24]
    with pytest.raises(dataclasses.FrozenInstanceError):
        problems[0].position = 3  # type: ignore[misc]


def test_a_huge_query_is_not_expanded_and_gives_no_false_warning() -> None:
    clauses = " AND ".join(f"(a{i} OR b{i} OR c{i})" for i in range(12))
    assert lint_query(f"{clauses} AND NOT zzz") == []
    assert lint_query(f"{clauses} AND acme AND NOT acme") == []
