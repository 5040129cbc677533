"""Brands configured with plain aliases: each alias is a quoted phrase of the brand's query.

Whole words, case-insensitive after NFKC + casefold, several brands at once: what alias configs
relied on before boolean queries existed, now through `QueryMatcher` and `query_from_aliases`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from streams.query_ast import normalise
from streams.query_match import PostFields, QueryMatcher, query_from_aliases


@dataclass(frozen=True)
class Brand:
    id: str
    aliases: list[str] = field(default_factory=list)


ACME = Brand("acme", ["acme", "#acme", "@acmeinc", "acme corp"])
GLOBEX = Brand("globex", ["globex", "#globex"])
APPLE = Brand("apple", ["apple"])


class AliasQueries:
    def __init__(self, brands: list[Brand]) -> None:
        self._matcher = QueryMatcher([(b.id, query_from_aliases(b.aliases)) for b in brands if b.aliases])

    def match(self, text: str) -> dict[str, list[str]]:
        return self._matcher.match(PostFields(text))


@pytest.fixture
def matcher() -> AliasQueries:
    return AliasQueries([ACME, GLOBEX, APPLE])


@pytest.mark.parametrize(
    "text",
    [
        "acme",
        "acme is great",
        "I love acme",
        "Acme's new anvil",
        "ACME!",
        "(acme)",
        '"acme"',
        "acme, anvil-free",
        "acme.",
        "🔥acme🔥",
        "🔥 acme 🔥",
        "well...acme?",
        "acme-powered",
        "line one\nacme\tline two",
    ],
)
def test_whole_word_matches(matcher: AliasQueries, text: str) -> None:
    assert matcher.match(text) == {"acme": ["acme"]}


@pytest.mark.parametrize(
    "text",
    [
        "pineapple juice",
        "applesauce",
        "snapple",
        "acmeology",
        "the acmes",
        "xacme",
        "acme_corp",
        "acme2",
        "2acme",
    ],
)
def test_no_match_inside_other_words(matcher: AliasQueries, text: str) -> None:
    assert matcher.match(text) == {}


def test_apple_vs_pineapple(matcher: AliasQueries) -> None:
    assert matcher.match("pineapple and apple pie") == {"apple": ["apple"]}


def test_phrase_alias(matcher: AliasQueries) -> None:
    assert matcher.match("Just bought from Acme Corp today") == {"acme": ["acme corp"]}
    assert matcher.match("ACME CORP.") == {"acme": ["acme corp"]}
    assert matcher.match("acme corporation") == {"acme": ["acme"]}  # the phrase needs a word end


def test_phrase_with_a_non_breaking_space_matches_after_nfkc(matcher: AliasQueries) -> None:
    assert matcher.match("acme\u00a0corp rocks") == {"acme": ["acme corp"]}


def test_hashtag_and_handle_aliases(matcher: AliasQueries) -> None:
    assert matcher.match("#Acme is trending") == {"acme": ["#acme"]}
    assert matcher.match("thanks @AcmeInc!") == {"acme": ["@acmeinc"]}
    assert matcher.match("@acmeincorporated") == {}
    assert matcher.match("mail me at bob@acmeinc") == {}  # not a handle: a word character before '@'


def test_plain_alias_matches_inside_a_hashtag_and_mention() -> None:
    matcher = AliasQueries([Brand("acme", ["acme"])])
    assert matcher.match("so good #acme") == {"acme": ["acme"]}
    assert matcher.match("cc @acme") == {"acme": ["acme"]}
    assert matcher.match("#acmefans") == {}


def test_distinct_terms_in_order_of_first_appearance(matcher: AliasQueries) -> None:
    text = "@acmeinc said ACME is #acme, acme again, and Acme Corp"
    assert matcher.match(text) == {"acme": ["@acmeinc", "acme", "#acme", "acme corp"]}


@pytest.mark.parametrize(
    ("alias", "text"),
    [
        ("äpfel", "ÄPFEL vom Markt"),
        ("ÄPFEL", "frische äpfel"),
        ("äpfel", "A\u0308PFEL"),  # decomposed: A + combining diaeresis
        ("straße", "STRASSE"),  # casefold: ß -> ss
        ("acme", "\uff21\uff23\uff2d\uff25 rocks"),  # fullwidth letters, NFKC
        ("ﬁnance", "finance news"),  # ligature in the alias
        ("café", "CAFE\u0301 du coin"),
        ("ΣΟΦΙΑ", "σοφια"),
    ],
)
def test_unicode_case_and_compatibility(alias: str, text: str) -> None:
    matcher = AliasQueries([Brand("b", [alias])])
    assert matcher.match(text) == {"b": [normalise(alias)]}


def test_accented_letter_is_part_of_the_word() -> None:
    matcher = AliasQueries([Brand("acme", ["acme"])])
    assert matcher.match("acmé") == {}
    assert matcher.match("acme\u0301") == {}  # composes to acmé under NFKC
    assert matcher.match("éacme") == {}


def test_one_text_matching_two_brands(matcher: AliasQueries) -> None:
    assert matcher.match("Acme vs #globex: who wins?") == {"acme": ["acme"], "globex": ["#globex"]}


def test_shared_alias_counts_for_both_brands() -> None:
    matcher = AliasQueries([Brand("acme", ["acme", "roadrunner"]), Brand("wile", ["coyote", "Roadrunner"])])
    assert matcher.match("meep meep, roadrunner") == {"acme": ["roadrunner"], "wile": ["roadrunner"]}
    assert matcher.match("coyote and acme") == {"wile": ["coyote"], "acme": ["acme"]}


def test_aliases_are_stripped() -> None:
    matcher = AliasQueries([Brand("acme", ["  acme corp  "])])
    assert matcher.match("acme corp") == {"acme": ["acme corp"]}


def test_regex_characters_in_aliases_are_literal() -> None:
    matcher = AliasQueries([Brand("dot", ["a.b"]), Brand("star", ["x*"])])
    assert matcher.match("a.b and x*") == {"dot": ["a.b"], "star": ["x*"]}
    assert matcher.match("axb and xxx") == {}


def test_no_brands_matches_nothing() -> None:
    assert AliasQueries([]).match("acme globex anything") == {}
    assert AliasQueries([Brand("acme", [])]).match("acme") == {}


def test_empty_text(matcher: AliasQueries) -> None:
    assert matcher.match("") == {}
