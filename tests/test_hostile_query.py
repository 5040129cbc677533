"""Hostile brand queries and texts: the query parser and linter either compile a query or raise
their own error with a position; language detection answers a bounded set of codes; sentiment
scoring does not raise. Shared with the fuzz run (`python -m bench.fuzz`)."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from streams.language import DEFAULT_LANGUAGES, NEIGHBOURS, UNDETERMINED, LanguageIdentifier
from streams.query_lint import lint_query
from streams.query_match import PostFields, QueryMatcher
from streams.query_syntax import MAX_DEPTH, QuerySyntaxError, parse_query
from streams.sentiment import SentimentScorer
from tests.test_hostile_input import LANG_TAGS, SUITE, TRICKY_CHARS, Target, hostile_text, huge, posts

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")  # huge values
# --- queries -------------------------------------------------------------------------------------

OPERATORS = ["AND", "OR", "NOT", "NEAR/3", "ONEAR/1", "NEAR/9999"]
BAD_OPERATORS = ["NEAR/0", "NEAR/", "NEAR/x", "NEAR/10000", "and", "near/2", "ONEAR"]
LANGS = ["en", "en-GB", "de", "und", "EN"]
HOSTS = ["acme.com", "www.acme.com", "xn--bcher-kva.de", "ACME.COM"]
BAD_VALUES = ["xx", "-", "@bob", "", "e\u200bn", "http://acme.com", "a..b"]


def _either(name: str, values: list[str]) -> str:
    return f"{name}:({' OR '.join(values)})"


words = st.sampled_from(["acme", "#acme", "@acmeinc", "acme*", "acme_corp", "coca-cola", "the", "索尼", "ø"])
good_fields = st.one_of(
    st.builds("lang:{}".format, st.sampled_from(LANGS)),
    st.builds("site:{}".format, st.sampled_from(HOSTS)),
    st.builds("source:{}".format, st.sampled_from(["rss", "RSS", "partner_x"])),
    st.builds("author:{}".format, st.sampled_from(["@bob", "bob", "Bob@mastodon.social"])),
    st.builds(_either, st.just("lang"), st.lists(st.sampled_from(LANGS), min_size=1, max_size=3)),
)
bad_leaves = st.one_of(
    st.sampled_from(["a*", "#*", "@", "*", "ac*me", "url:x", "lang:", "”"]),
    st.builds("{}:{}".format, st.sampled_from(["lang", "site", "LANG"]), st.sampled_from(BAD_VALUES)),
    st.builds(_either, st.just("site"), st.lists(st.sampled_from(BAD_VALUES), max_size=3)),
    st.text(TRICKY_CHARS, min_size=1, max_size=3),
    st.builds('"{}'.format, st.text("acme \\", max_size=8)),  # unterminated
)
leaves = st.one_of(
    words,
    words,
    words,
    good_fields,
    st.builds('"{}"'.format, st.text(TRICKY_CHARS + "acme \\*", min_size=1, max_size=12)),
    st.builds("“acme {}”".format, st.text("acme \\", max_size=8)),
    bad_leaves,
)
operators = st.sampled_from(OPERATORS * 6 + BAD_OPERATORS)
tokens = st.sampled_from([*OPERATORS, *BAD_OPERATORS, "(", ")"])


def _join(parts: list[str], spaced: bool) -> str:
    return (" " if spaced else "").join(parts)


grammar_queries = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds("{} {} {}".format, inner, operators, inner),
        st.builds("{} {}".format, inner, inner),
        st.builds("({})".format, inner),
        st.builds("NOT {}".format, inner),
        st.builds(_join, st.lists(st.one_of(inner, tokens), max_size=6), st.booleans()),
    ),
    max_leaves=30,
)
"""Queries shaped like the grammar: mostly valid, often one token away from an error."""
deep_queries = st.builds(
    lambda opener, n, closed: opener * n + "acme" + (")" * n if closed else ""),
    st.sampled_from(["(", "NOT ", "(NOT ", "NOT (", '("a" OR ']),
    st.integers(1, 10_000),
    st.booleans(),
)
queries = st.one_of(st.text(max_size=60), hostile_text, grammar_queries, grammar_queries, deep_queries)
POSTS = [
    PostFields("I love Acme, the #AcmeRecall is fine", lang="en", source="rss", url="https://www.acme.com/x"),
    PostFields("我喜欢索尼的产品 coca cola", lang="und", source="bluesky", author="@bob"),
    PostFields("\u202eacme\u200b acme\x00 acme", lang=None, source=None, author=None, url="http://[x"),
]


def check_query(query: str) -> None:
    try:
        root = parse_query(query)
    except QuerySyntaxError as raised:
        check_syntax_error(query, raised)
        return
    problems = lint_query(query)
    assert all(p.severity == "warning" and 0 <= p.position <= len(query) for p in problems)
    matcher = QueryMatcher([("acme", query)])
    assert parse_query(query) == root
    for post in POSTS:
        found = matcher.match(post)
        assert set(found) <= {"acme"}
        assert all(found.values())


def check_syntax_error(query: str, error: QuerySyntaxError) -> None:
    assert error.message
    assert error.expected
    assert 0 <= error.position <= len(query)
    problems = lint_query(query)
    assert [(p.severity, p.message, p.position) for p in problems] == [
        ("error", error.message, error.position)
    ]


@SUITE
@given(queries)
@example("(" * 10_000 + "acme" + ")" * 10_000)
@example("NOT " * 10_000 + "acme")
@example("(" * MAX_DEPTH + "acme" + ")" * MAX_DEPTH)
@example('"\\')
@example("acme NEAR/3 (b OR NOT c)")
@example("lang:(en OR")
def test_a_query_compiles_or_is_a_syntax_error_with_a_position(query: str) -> None:
    check_query(query)


# --- language and sentiment ----------------------------------------------------------------------

DETECTED = frozenset({*DEFAULT_LANGUAGES, *NEIGHBOURS, UNDETERMINED})
texts = st.one_of(hostile_text, posts, huge(st.one_of(posts, hostile_text), 5_000))


@cache
def identifier() -> LanguageIdentifier:
    languages = LanguageIdentifier()
    languages.detect("bonjour tout le monde")  # no function words: loads lingua's models
    return languages


@cache
def scorer() -> SentimentScorer:
    sentiment = SentimentScorer()
    for lang in ("en", "de", "da"):  # builds the lexicon scorers
        sentiment.score("acme", lang)
    return sentiment


def check_language(case: tuple[str, str | None]) -> None:
    text, declared = case
    assert identifier().detect(text, declared) in DETECTED


@SUITE
@given(st.tuples(texts, st.one_of(st.none(), st.sampled_from(LANG_TAGS), hostile_text)))
@example(("\x00" * 10_000, "en"))
@example(("der die das " * 1_000 + "\u202e", "e\u200bn"))
def test_language_detection_answers_a_configured_code_a_neighbour_or_und(
    case: tuple[str, str | None],
) -> None:
    check_language(case)


def check_sentiment(case: tuple[str, str]) -> None:
    """No exception, and a score only for the languages that have a scorer (texts stay short:
    the sentiment scorers' behaviour and speed are tested in `test_sentiment*.py`)."""
    text, lang = case
    result = scorer().score(text[:300], lang)
    assert (result is None) == (lang not in ("en", "de", "da"))


@SUITE
@given(st.tuples(st.one_of(hostile_text, posts), st.sampled_from(["en", "de", "da", "nl", UNDETERMINED])))
def test_sentiment_scoring_does_not_raise_on_hostile_text(case: tuple[str, str]) -> None:
    check_sentiment(case)


def fuzz_targets() -> list[Target]:
    return [
        Target("query parser and linter", queries, check_query),
        Target(
            "language detection",
            st.tuples(huge(texts, 300_000) | texts, st.one_of(st.none(), hostile_text)),
            check_language,
            identifier,
        ),
        Target(
            "sentiment (short texts)",
            st.tuples(st.one_of(hostile_text, posts), st.sampled_from(["en", "de", "da", "nl"])),
            check_sentiment,
            scorer,
        ),
    ]
