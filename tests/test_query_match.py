"""`QueryMatcher`: boolean brand queries over posts, one automaton for all of them; the alias
compatibility of `query_from_aliases`; agreement with the slow regex reference of the bench; and
the fast paths (ASCII text, the text cache, OR-of-terms queries, a word and its #/@ form) against
the matcher before them (`bench.query_reference.PreviousMatcher`) and the general paths."""

from __future__ import annotations

import itertools
import random
import re
import string
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bench.corpus import simulated
from bench.query_matching import workload
from bench.query_reference import PreviousMatcher, RegexMatcher, previous_post_text
from brandmon.config import load_config
from streams.query_ast import CJK, WORD, WORD_CHAR, word_pattern
from streams.query_match import BrandQuery, PostFields, QueryMatcher, query_from_aliases
from streams.query_oracle import split_host, url_host
from streams.query_syntax import QuerySyntaxError
from streams.query_text import post_text, split_hashtag
from tests.test_hostile_input import TRICKY_CHARS, hostile_text

EXAMPLE = '("acme" OR #acme OR @acmeinc OR "acme corp") AND NOT (roadrunner OR "wile e") AND lang:(en OR de)'


def found(query: str, text: str, **fields: str | None) -> list[str] | None:
    """The terms `query` matches in the post, None if it does not match."""
    return QueryMatcher([("b", query)]).match(PostFields(text, **fields)).get("b")


@pytest.mark.parametrize(
    ("text", "lang", "terms"),
    [
        ("Acme Corp ships anvils", "en", ["acme corp"]),
        ("Ich liebe #Acme", "de", ["#acme"]),
        ("thanks @AcmeInc!", "en-GB", ["@acmeinc"]),
        (
            "@acmeinc said ACME is #acme, acme again, and Acme Corp",
            "en",
            ["@acmeinc", "acme", "#acme", "acme corp"],
        ),
        ("acme vs roadrunner", "en", None),
        ("acme and Wile E. Coyote", "en", None),
        ("acme and wile", "en", ["acme"]),
        ("jeg elsker acme", "da", None),
        ("acme", None, None),
    ],
)
def test_the_product_example(text: str, lang: str | None, terms: list[str] | None) -> None:
    assert found(EXAMPLE, text, lang=lang) == terms


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        ("apple", "pineapple and apple pie", ["apple"]),
        ("apple", "pineapple juice, applesauce, snapple", None),
        ("acme", "ACME!", ["acme"]),
        ("acme", "🔥acme🔥", ["acme"]),
        ("acme", "❤️acme", ["acme"]),
        ("acme", "well...acme?", ["acme"]),
        ("acme", "acme's new anvil", ["acme"]),
        ("acme", "acme_corp acme2 2acme xacme", None),
        ("acme", "acmé and éacme", None),
        ("äpfel", "ÄPFEL vom Markt", ["äpfel"]),
        ("äpfel", "A\u0308PFEL", ["äpfel"]),
        ("äpfel", "apfel", None),
        ("straße", "STRASSE", ["strasse"]),
        ("brødbær", "BRØDBÆR er godt", ["brødbær"]),
        ("brødbær", "brodbaer", None),
        ("ø", "o", None),
        ("æble", "Æble", ["æble"]),
        ("acme", "\uff21\uff23\uff2d\uff25 rocks", ["acme"]),
        ("ΣΟΦΙΑ", "σοφια", ["σοφια"]),
    ],
)
def test_words_case_and_unicode(query: str, text: str, terms: list[str] | None) -> None:
    assert found(query, text) == terms


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        ('"acme corp"', "Acme, Corp. and more", ["acme corp"]),
        ('"acme corp"', "acme\ncorp", ["acme corp"]),
        ('"acme corp"', "acme big corp", None),
        ('"acme corp"', "corp acme", None),
        ("coca-cola", "I drink Coca Cola", ["coca-cola"]),
        ('"acme rec*"', "the acme recalls", ["acme rec*"]),
        ("recall*", "RECALLS and recalled", ["recall*"]),
        ("recall*", "prerecall", None),
        ("recall*", "recall", ["recall*"]),
        ("acme AND NOT recall*", "acme recalled", None),
    ],
)
def test_phrases_and_wildcards(query: str, text: str, terms: list[str] | None) -> None:
    assert found(query, text) == terms


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        ("#acme", "#acme rules", ["#acme"]),
        ("#acme", "acme rules", None),
        ("#acme", "#AcmeRecall", None),
        ("acme", "#AcmeRecall", ["acme"]),
        ("recall", "#AcmeRecall", ["recall"]),
        ('"acme recall"', "omg #AcmeRecall!!", ["acme recall"]),
        ("#acmerecall", "#AcmeRecall", ["#acmerecall"]),
        ("acmerecall", "#AcmeRecall", ["acmerecall"]),
        ("acme", "#ACMERecall", ["acme"]),
        ("acme", "#acme2024", ["acme"]),
        ("acme", "#acme_recall", ["acme"]),
        ("acme", "#acmefans", None),
        ("acme", "#acme", ["acme"]),
        ("acme", "@acme", ["acme"]),
        ("#acme*", "#AcmeFans", ["#acme*"]),
        ("@acmeinc", "@AcmeInc", ["@acmeinc"]),
        ("@acmeinc", "mail bob@acmeinc", None),
        ("acmeinc", "mail bob@acmeinc", ["acmeinc"]),
        ("@acme", "@acmeinc", None),
        ('"big acme"', "big #AcmeRecall", None),
        ("#索尼", "我喜欢#索尼 的产品", ["#索尼"]),
        ("#索尼", "#索尼产品", None),
        ("#索*", "#索尼产品", ["#索*"]),
        ("索尼", "#索尼产品", ["索尼"]),
        ("#索尼", "a#索尼", None),
    ],
)
def test_hashtags_and_handles(query: str, text: str, terms: list[str] | None) -> None:
    assert found(query, text) == terms


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        ("recall", "see https://acme.com/recall", None),
        ("acme", "see https://acme.com/recall", ["acme"]),
        ("acme", "https://example.com/?utm=acme#acme", None),
        ("acme", "www.acme.com/news", ["acme"]),
        ("recall", "HTTPS://ACME.COM/RECALL", None),
        ("recall", "acme.com/recall", ["recall"]),
        ("acme AND recall", "https://acme.com/recall and a recall", ["acme", "recall"]),
    ],
)
def test_link_hosts_are_text_and_link_paths_are_not(query: str, text: str, terms: list[str] | None) -> None:
    assert found(query, text) == terms


@pytest.mark.parametrize(
    ("query", "fields", "matches"),
    [
        ("acme lang:en", {"lang": "en"}, True),
        ("acme lang:en", {"lang": "EN-us"}, True),
        ("acme lang:en-us", {"lang": "en"}, False),
        ("acme lang:en", {"lang": "de"}, False),
        ("acme lang:en", {}, False),
        ("acme lang:(de OR da)", {"lang": "da"}, True),
        ("acme source:twitter", {"source": "Twitter"}, True),
        ("acme source:twitter", {"source": "reddit"}, False),
        ("acme author:@bob", {"author": "@Bob"}, True),
        ("acme author:bob", {"author": "bobby"}, False),
        ("acme site:acme.com", {"url": "https://acme.com/x"}, True),
        ("acme site:acme.com", {"url": "https://shop.acme.com/x"}, True),
        ("acme site:acme.com", {"url": "https://ACME.COM./x"}, True),
        ("acme site:acme.com", {"url": "acme.com/x"}, True),
        ("acme site:acme.com", {"url": "https://notacme.com/x"}, False),
        ("acme site:acme.com", {"url": "https://acme.com.evil.io/x"}, False),
        ("acme site:acme.com", {"url": "not a url"}, False),
        ("acme NOT site:acme.com", {}, True),
    ],
)
def test_fields(query: str, fields: dict[str, str], matches: bool) -> None:
    assert (found(query, "acme", **fields) is not None) == matches


@pytest.mark.parametrize(
    ("query", "text", "matches"),
    [
        ("acme NEAR/2 recall", "acme has a recall", True),
        ("acme NEAR/2 recall", "recall: acme!", True),
        ("acme NEAR/2 recall", "acme, sadly, has... a recall", False),
        ("acme NEAR/3 recall", "acme, sadly, has... a recall", True),
        ("acme NEAR/1 recall", "acme 🔥🔥 — recall", True),
        ("acme NEAR/1 recall", "acme https://x.com/a/b/c recall", False),
        ("acme ONEAR/2 recall", "recall by acme", False),
        ("acme ONEAR/2 recall", "acme did a recall", True),
        ("acme NEAR/1 acme", "acme", False),
        ("acme NEAR/1 acme", "acme acme", True),
        ('"acme corp" NEAR/1 recall', "Acme Corp recall", True),
        ('"acme corp" NEAR/1 recall', "recall of Acme Corp", True),
        ("acme NEAR/1 recall", "#AcmeRecall", True),
        ("acme ONEAR/1 recall", "#RecallAcme", False),
        ("acme NEAR/1 recall", "#acme #recall", True),
        ("(acme OR globex) NEAR/1 (recall OR outage)", "globex outage", True),
        ("acme NEAR/2 recall*", "acme recalled", True),
        ("acme NEAR/2 recall AND NOT acme NEAR/1 recall", "acme big bad recall", True),
        ("acme NEAR/2 recall AND NOT acme NEAR/1 recall", "acme big recall", False),
    ],
)
def test_proximity(query: str, text: str, matches: bool) -> None:
    assert (found(query, text) is not None) == matches


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        ("acme AND NOT (roadrunner OR (wile AND NOT e))", "acme and wile e", ["acme"]),
        ("acme AND NOT (roadrunner OR (wile AND NOT e))", "acme and wile", None),
        ("(a OR (b AND (c OR (d AND NOT e))))", "b d", ["b", "d"]),
        ("(a OR (b AND (c OR (d AND NOT e))))", "b d e", None),
        ("NOT acme", "anything at all", None),
        ("lang:en", "anything at all", None),
        ("acme OR lang:en", "anything at all", None),
        ("(acme OR lang:en) AND recall", "a recall", ["recall"]),
    ],
)
def test_negation_nesting_and_matches_need_a_found_term(
    query: str, text: str, terms: list[str] | None
) -> None:
    assert found(query, text, lang="en") == terms


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        ("acme", "我喜欢acme产品", ["acme"]),
        ("索尼", "我喜欢索尼的产品", ["索尼"]),
        ("索尼", "索 尼", ["索尼"]),
        ("ソニー", "新しいソニーのテレビ", ["ソニー"]),
        ("acme", "\u0430cme", None),  # Cyrillic a
        ("acme", "acme\u043f\u0440\u0438\u0432\u0435\u0442", None),  # acme + Cyrillic
        ("привет", "ПРИВЕТ acme", ["привет"]),
        ("हिंदी", "मुझे हिंदी पसंद है", ["हिंदी"]),
    ],
)
def test_mixed_scripts(query: str, text: str, terms: list[str] | None) -> None:
    assert found(query, text) == terms


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        ("acme OR #acme", "#acme", ["#acme"]),
        ('acme OR "acme corp"', "acme corp", ["acme corp"]),
        ('acme OR "acme corp"', "acme corp and acme", ["acme corp", "acme"]),
        ('acme OR "acme corp"', "acme, then acme corp", ["acme", "acme corp"]),
        ('acme OR "acme recall" OR #acmerecall', "#AcmeRecall", ["#acmerecall"]),
        ("recall OR acme", "acme recall", ["acme", "recall"]),
        ('coca-cola OR "coca cola"', "coca cola", ["coca-cola"]),
    ],
)
def test_reported_terms_are_the_longest_found_in_order_of_appearance(
    query: str, text: str, terms: list[str]
) -> None:
    assert found(query, text) == terms


def test_several_brands_on_one_post_for_share_of_voice() -> None:
    matcher = QueryMatcher(
        [
            BrandQuery("globex", "globex OR #globex"),
            BrandQuery("acme", "acme OR @acmeinc"),
            BrandQuery("initech", "initech AND NOT tps"),
            BrandQuery("acme-recall", "acme NEAR/3 recall*"),
        ]
    )
    post = PostFields("Acme vs #Globex: @acmeinc recalls anvils, initech TPS reports")
    assert matcher.match(post) == {
        "globex": ["#globex"],
        "acme": ["acme", "@acmeinc"],
        "acme-recall": ["acme", "recall*"],
    }
    assert list(matcher.match(post)) == ["globex", "acme", "acme-recall"]


def test_matcher_input_and_errors() -> None:
    assert QueryMatcher([]).match(PostFields("acme")) == {}
    assert QueryMatcher([("a", "acme")]).match(PostFields("")) == {}
    with pytest.raises(ValueError, match="brand 'a' has two queries"):
        QueryMatcher([("a", "acme"), ("a", "globex")])
    with pytest.raises(QuerySyntaxError):
        QueryMatcher([("a", "acme AND")])


def test_very_long_posts_stay_fast() -> None:
    rng = random.Random(3)
    vocabulary = [
        "the",
        "of",
        "acme",
        "recall",
        "über",
        "æble",
        "产品",
        "🔥",
        "#AcmeRecall",
        "@acmeinc",
        "and",
    ]
    vocabulary.append("https://acme.com/x,")
    text = " ".join(rng.choice(vocabulary) for _ in range(20_000))[:100_000] + " globex finale"
    matcher = QueryMatcher(
        [
            ("near", "acme NEAR/1 recall"),
            ("ordered", "the ONEAR/1 of"),
            ("tail", "globex ONEAR/1 finale"),
            ("not", "acme AND NOT über"),
            ("many", "acme OR #acmerecall OR @acmeinc OR recall* OR the"),
        ]
    )
    started = time.perf_counter()
    result = matcher.match(PostFields(text))
    assert time.perf_counter() - started < 2.0
    assert set(result) == {"near", "ordered", "tail", "many"}
    assert QueryMatcher([("x", "zzz NEAR/5 yyy")]).match(PostFields("zzz " * 25_000)) == {}


@dataclass(frozen=True)
class Brand:
    id: str
    aliases: list[str]


@pytest.mark.parametrize(
    ("text", "new"),
    [
        ("acme-corp", ["acme corp"]),
        ("acme  corp", ["acme corp"]),
        ("#AcmeFans", ["acme"]),
        ("see https://apple.com/acme", None),
        ("a b", None),
    ],
)
def test_where_aliases_deliberately_match_differently_from_the_old_alias_regex(
    text: str, new: list[str] | None
) -> None:
    """The old matcher found `acme` in the first, second and fourth text and nothing in the third."""
    brands = [Brand("acme", ["acme", "acme corp"])]
    matcher = QueryMatcher([("acme", query_from_aliases(brands[0].aliases))])
    assert matcher.match(PostFields(text)).get("acme") == new


def test_query_from_aliases_quotes_and_escapes() -> None:
    query = query_from_aliases(["Acme", "#acme", "acme", "@AcmeInc"])
    assert query == '"Acme" OR "#acme" OR "acme" OR "@AcmeInc"'
    query = query_from_aliases([' say "hi" ', "x*", "back\\slash"])
    assert query == r'"say \"hi\"" OR "x\*" OR "back\\slash"'
    matcher = QueryMatcher([("q", query_from_aliases(['say "hi"', "x*"]))])
    assert matcher.match(PostFields('they say "HI"! and x*')) == {"q": ['say "hi"', "x*"]}
    with pytest.raises(ValueError, match="has no letters or digits"):
        query_from_aliases(["acme", "🔥"])
    with pytest.raises(ValueError, match="no aliases"):
        query_from_aliases([])


def test_same_matches_as_the_regex_reference_on_the_bench_workload() -> None:
    queries, posts = workload(120, 300, seed=11)
    fast, slow = QueryMatcher(queries), RegexMatcher(queries)
    results = [fast.match(post) for post in posts]
    assert results == [slow.match(post) for post in posts]
    assert sum(len(found) for found in results) > 50


VOCABULARY = ["acme", "recall", "corp", "globex", "über", "brødbær", "产", "品", "the", "ab"]


def random_term(rng: random.Random) -> str:
    word, tag = rng.choice(VOCABULARY), rng.choice(VOCABULARY[:6])
    return rng.choice(
        [
            word,
            word,
            f'"{word} {rng.choice(VOCABULARY)}"',
            f"{word[:3]}*",
            f"#{tag}",
            f"#{tag}{rng.choice(VOCABULARY[:6])}",
            f"@{tag}",
            f"#{rng.choice(['产品', '产', '品*'])}",
            f'"{word} {rng.choice(VOCABULARY)[:2]}*"',
        ]
    )


def random_query(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth >= 3 or roll < 0.35:
        return random_term(rng)
    if roll < 0.5:
        side = " OR ".join(random_term(rng) for _ in range(rng.randint(1, 2)))
        operator = rng.choice(["NEAR", "ONEAR"])
        return f"({side}) {operator}/{rng.randint(1, 3)} {random_term(rng)}"
    if roll < 0.6:
        field = rng.choice(["lang:en", "lang:(de OR da)", "site:acme.com"])
        return f"{random_query(rng, depth + 1)} AND {field}"
    operator = rng.choice([" AND ", " OR ", " AND NOT ", " "])
    return f"({random_query(rng, depth + 1)}{operator}{random_query(rng, depth + 1)})"


def random_post(rng: random.Random) -> PostFields:
    pieces = []
    for _ in range(rng.randint(1, 14)):
        a, b = rng.choice(VOCABULARY), rng.choice(VOCABULARY)
        pieces.append(
            rng.choice(
                [
                    a,
                    a.upper(),
                    a.title(),
                    f"#{a.title()}{b.title()}",
                    f"#{a}",
                    f"@{a}",
                    f"{a},",
                    f"🔥{a}",
                    f"https://{a}.com/{b}",
                    f"{a}{b}",
                    f"{a}-{b}",
                    "!!",
                    f"#{a}{rng.randint(1, 99)}",
                    f"{a}#产品{b}",
                ]
            )
        )
    url = rng.choice([None, "https://acme.com/x", "https://shop.acme.com/", "https://globex.com"])
    return PostFields(" ".join(pieces), lang=rng.choice([None, "en", "de", "da"]), url=url)


def test_same_matches_as_the_regex_reference_on_random_dense_queries() -> None:
    rng = random.Random(20240501)
    for _ in range(6):
        queries = [(f"q{i}", random_query(rng)) for i in range(60)]
        fast, slow = QueryMatcher(queries), RegexMatcher(queries)
        for _ in range(60):
            post = random_post(rng)
            assert fast.match(post) == slow.match(post), (post, queries)


# --- the fast paths: the same results as the matcher before them ---------------------------------

FAST_PATH_QUERIES = [
    ("aliases", query_from_aliases(["acme", "#acme", "@acmeinc", "acme corp", "acme-corp"])),
    ("handle", "acme OR @acme"),
    ("near", "acme NEAR/2 recall*"),
    ("ordered", "recall ONEAR/1 acme"),
    ("not", 'acme AND NOT "acme corp"'),
    ("split", '#acmerecall OR "acme recall" OR recall'),
    ("cjk", "索尼 OR #索尼 OR 产品"),
    ("fields", "(acme OR #acme) AND lang:(en OR de) AND NOT site:acme.com"),
    ("who", "acme AND (source:rss OR author:@bob)"),
    ("fold", "straße OR İstanbul OR \uff21\uff23\uff2d\uff25 OR café"),
    ("digits", "#acme2024 OR acme* OR iphone"),
    ("astral", "𐐨𐐩 OR \U0001d400cme"),
]
SPACE_FREE_TOKENS = """
acme Acme ACME acme's recall Recalls corp #acme #Acme #ACME #AcmeRecall #ACMERecall #acmeRECALL
#acme_recall #_acme #acme__ #acme2024 #2024acme #iPhone #AcmeFans @acme @AcmeInc @acme_inc
bob@acme.com #@acme acme#acme @#acme # @ _ __ ! , . - 's
"""
FAST_PATH_TOKENS = [
    *SPACE_FREE_TOKENS.split(),
    "acme corp",
    "acme-corp",
    "acme\ncorp",
    "https://acme.com/recall",
    "http://user@Acme.com:8080/x?y#z",
    "https://acme.com.",
    "www.acme.com/recall",
    "WWW.ACME.COM",
    "wWw.acme.com/x",
    "Ww.acme",
    "索尼",
    "#索尼",
    "我喜欢索尼的产品",
    "#索尼Acme",
    "straße",
    "STRASSE",
    "ß",
    "ẞ",
    "İstanbul",
    "istanbul",
    "\u0131",
    "\uff21\uff23\uff2d\uff25",
    "#\uff21cme",
    "a\u0301cme",
    "acme\u0301",
    "café",
    "CAFE\u0301",
    "#CafÉRecall",
    "#ÆbleMost",
    "🔥",
    "❤️acme",
    "😀#acme",
    "𐐀𐐁",
    "#𐐀𐐁",
    "\U0001d400cme",
    "ﬁ",
    "\u00a0",
    "\u200b",
]
fast_path_texts = st.one_of(
    st.lists(st.sampled_from(FAST_PATH_TOKENS), max_size=12).flatmap(
        lambda tokens: st.lists(
            st.sampled_from([" ", "", ",", "\n", "#", "@", "/"]), min_size=len(tokens)
        ).map(lambda glue: "".join(token + sep for token, sep in zip(tokens, glue, strict=False)))
    ),
    st.text(TRICKY_CHARS + "acmeACME recall#@_/.:", max_size=40),
    hostile_text,
)
fast_path_posts = st.builds(
    PostFields,
    fast_path_texts,
    lang=st.sampled_from([None, "en", "de-AT", "da"]),
    source=st.sampled_from([None, "rss", "bluesky"]),
    author=st.sampled_from([None, "@bob", "alice"]),
    url=st.sampled_from(
        [None, "https://acme.com/x", "https://shop.ACME.com./", "http://x@acme.com:1", "globex.com"]
    ),
)


@cache
def fast_path_matchers() -> tuple[PreviousMatcher, QueryMatcher, QueryMatcher]:
    return (
        PreviousMatcher(FAST_PATH_QUERIES),
        QueryMatcher(FAST_PATH_QUERIES, cache_size=0),
        QueryMatcher(FAST_PATH_QUERIES, cache_size=8),
    )


@settings(max_examples=300, deadline=None, database=None)
@given(fast_path_posts)
@example(PostFields("#acme and acme, #AcmeRecall acme recall"))
@example(PostFields("@acme acme @acme", lang="en"))
@example(PostFields("#acme #acme acme #acme", lang="de"))
@example(PostFields("#acmeRecall recall acme #acme"))
def test_same_matches_as_before_the_fast_paths(post: PostFields) -> None:
    previous, uncached, cached = fast_path_matchers()
    expected = previous.match(post)
    assert uncached.match(post) == expected
    assert cached.match(post) == expected
    assert cached.match(post) == expected  # from the cache when no query with fields is a candidate


@settings(max_examples=300, deadline=None, database=None)
@given(fast_path_texts)
@example("#AcmeRecall https://acme.com/x www.Acme.com @bob bob@acme.com #a_b #ACMERecall2024x")
def test_post_text_is_what_it_was_and_the_ascii_path_is_the_general_one(text: str) -> None:
    previous, fast, general = previous_post_text(text), post_text(text), post_text(text, ascii_path=False)
    for laid_out in (fast, general):
        assert (laid_out.canonical, laid_out.words, laid_out.main_end, laid_out.nfkc) == (
            previous.canonical,
            previous.words,
            previous.main_end,
            previous.nfkc,
        )
        assert (laid_out.segment_starts, laid_out.segment_sources) == (
            previous.segment_starts,
            previous.segment_sources,
        )
        starts = [
            i
            for i, char in enumerate(laid_out.canonical[:-1])
            if char == " " and laid_out.canonical[i + 1] != " "
        ]
        assert [laid_out.position(start) for start in starts] == [
            previous.position(start) for start in starts
        ]


def test_ascii_hashtag_split_is_the_general_one() -> None:
    """Every body of up to 6 characters from lower, upper, digit and `_` (the classes the general
    split tells apart), and longer samples."""
    alphabet = "aAb1_B"
    bodies = ["".join(chars) for n in range(1, 7) for chars in itertools.product(alphabet, repeat=n)]
    bodies += ["ACMERecall2024", "iPhoneX", "acme__recall_", "AbCdEF9gH", "x" * 50]
    assert [split_hashtag(body) for body in bodies] == [
        split_hashtag(body, ascii_path=False) for body in bodies
    ]


def test_ascii_word_characters_are_letters_digits_and_underscore() -> None:
    word = re.compile(WORD_CHAR)
    assert (
        "".join(chr(c) for c in range(128) if word.match(chr(c)))
        == string.digits + string.ascii_uppercase + "_" + string.ascii_lowercase
    )


def test_casefold_keeps_word_characters_and_their_plane() -> None:
    """`post_text` decides between `WORD` and `WORD_BMP` on the NFKC text and uses it on its
    casefold: right only if casefold (per character) turns no character into one of another kind."""
    word = re.compile(f"(?:{WORD_CHAR}|[{CJK}])+")
    for code in range(0x110000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF or (folded := char.casefold()) == char:
            continue
        assert bool(word.fullmatch(char)) == bool(word.fullmatch(folded)), hex(code)
        assert word_pattern(char) is word_pattern(folded), hex(code)


def test_astral_word_lookup_is_the_regex() -> None:
    codes = [*range(0x10000, 0x20000), *range(0x1FFF0, 0x20010), *range(0x3FFF0, 0x40010), 0xE0001, 0x10FFFF]
    assert [word_pattern("é" + chr(code)) is WORD for code in codes] == [
        WORD.search(chr(code)) is not None for code in codes
    ]


@settings(max_examples=500, deadline=None, database=None)
@given(
    st.one_of(
        st.builds(
            "{}{}".format,
            st.sampled_from(["https://", "http://", "HTTP://", "", "//", "https:/"]),
            st.text("htps:/aA.-@[]?#\t\n 1é_%", max_size=14),
        ),
        st.text(max_size=20),
    )
)
@example("https://acme.com\n/x")
@example("https://ACME.com./x")
def test_plain_url_host_is_urlsplits(url: str) -> None:
    assert url_host(url) == split_host(url)


def test_the_cache_returns_fresh_lists_and_stays_bounded() -> None:
    matcher = QueryMatcher([("acme", "acme OR #acme"), ("de", "globex AND lang:de")], cache_size=2)
    first = matcher.match(PostFields("#acme and acme"))
    first["acme"].append("changed")
    assert matcher.match(PostFields("#acme and acme")) == {"acme": ["#acme", "acme"]}
    for text in ("acme 1", "acme 2", "acme 3"):
        matcher.match(PostFields(text))
    assert len(matcher._cache) == 2
    # a query with fields is a candidate: evaluated for each post, never from the cache
    assert matcher.match(PostFields("acme globex", lang="de")) == {"acme": ["acme"], "de": ["globex"]}
    assert matcher.match(PostFields("acme globex", lang="en")) == {"acme": ["acme"]}
    assert matcher.match(PostFields("acme " * 1000)) == {"acme": ["acme"]}
    assert "acme " * 1000 not in matcher._cache


def test_same_matches_as_before_on_the_simulated_corpus() -> None:
    config = Path(__file__).resolve().parents[1] / "brandmon" / "demo.yaml"
    queries = [(brand.id, brand.effective_query) for brand in load_config(config).brands]
    previous, matcher = PreviousMatcher(queries), QueryMatcher(queries)
    for mention in simulated(2000, config):
        post = PostFields(
            mention.text, mention.lang_declared, mention.source, mention.author.handle, mention.url
        )
        assert matcher.match(post) == previous.match(post), post
