"""`streams.vader_exact.ExactVader` gives vaderSentiment 3.3.2's `polarity_scores`, value for value.

"The same" means the same `repr`: equal keys in the same order and the same floats, -0.0 included.
The references are vaderSentiment itself on VADER's own human-rated snippets (../shared), on a seeded
corpus built from every kind of thing its rules look at, on hypothesis' texts, and on hostile texts
of a few KiB (vaderSentiment is quadratic: larger ones take it seconds; the time of 256 KiB messages
is measured in `bench.sentiment_speed`, not here).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterable
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vaderSentiment import vaderSentiment as vader

from bench.sentiment_speed import hostile_texts
from streams import vader_exact
from streams.sentiment import SentimentScorer
from streams.vader_exact import SCORES_EMPTY, SCORES_NEUTRAL, ExactVader, but_check
from tests.conftest import SHARED

VADER = vader.SentimentIntensityAnalyzer()
EXACT = ExactVader()
REVIEWS = SHARED / "datasets" / "vader-reviews"


@cache
def vader_scores(text: str) -> str:
    return repr(VADER.polarity_scores(text))


def differences(texts: Iterable[str], exact: ExactVader = EXACT, show: int = 3) -> list[tuple[str, str, str]]:
    """(text, vaderSentiment's result, ours) for the first `show` texts where the two differ in any bit."""
    found = []
    for text in texts:
        want, got = vader_scores(text), repr(exact.polarity_scores(text))
        if got != want:
            found.append((text[:300], want, got))
            if len(found) == show:
                break
    return found


def _words(text: str) -> list[str]:
    return text.split()


RULE_TOKENS = [
    *vader.NEGATE, *vader.BOOSTER_DICT, *vader.SPECIAL_CASES, *vader.SENTIMENT_LADEN_IDIOMS,
    *_words("no no or nor least but but BUT But isn't don't ain't wasn't nt n't the to for of at very so"),
]  # fmt: skip
STRUCTURES = [
    "{n} {w}", "{n} {b} {w}", "{b} {b} {w}", "{n} {x} {w}", "{n} {x} {x} {w}", "{b} {x} {x} {w}", "no {w}",
    "no {x} {w}", "no {x} or {w}", "no {w} nor {w}", "never so {w}", "never this {w}", "never {x} so {w}",
    "without doubt {w}", "without {x} doubt {w}", "at least {w}", "very least {w}", "the least {w}",
    "least {w}", "kind of {w}", "kind of {x} {w}", "sort of {w}", "{w} but {w}", "{w} {w} but {w} {w}",
    "{x} the shit {w}", "{x} {x} bad ass", "{w} to die for", "{x} {x} {x} yeah right",
]  # fmt: skip
FILLER = _words("the a it was is product service movie i you we they and with on in from after plot app")
PUNCTUATED = ["{}!", "{}!!", "{}?", "{}...", "({})", '"{}"', "{},", "'{}'", "{}!?", "#{}", "@{}", "{}:"]
SEPARATORS = [" "] * 12 + ["  ", "\t", "\n", "", "\xa0", "\u200b", "\u3000", "\x1c"]
RUNS = ["!", "!!", "!!!", "!!!!", "!!!!!", "?", "??", "???", "????", "?!?!", "...", ":)", ":-("]


def vocabulary(rng: random.Random) -> tuple[list[str], list[str]]:
    lexicon = sorted(VADER.lexicon)
    single = sorted(k for k in VADER.emojis if len(k) == 1)
    longer = sorted(k for k in VADER.emojis if len(k) > 1)[:50]  # never matched: VADER reads one character
    emoji = [*rng.sample(single, 300), *longer, "\U0001f3fd", "\ufe0f"]
    words = rng.sample(lexicon, 1500) + [w for w in lexicon if not w.isalpha()][:200] + RULE_TOKENS
    return words, emoji


def generated_corpus(count: int, seed: int = 2014) -> list[str]:
    """Texts from lexicon words, rule words, idioms, emoji, emoticons, case and punctuation games."""
    rng = random.Random(seed)
    words, emoji = vocabulary(rng)
    boosters = sorted(vader.BOOSTER_DICT)
    texts = []
    for k in range(count):
        size = rng.choice((1, 2, 3, 5, 8, 13, 21, 34)) if k % 50 else rng.randint(120, 260)
        pieces = []
        for _ in range(size):
            r = rng.random()
            if r < 0.85:
                piece = rng.choice(words if r < 0.45 else FILLER if r < 0.65 else emoji if r < 0.75 else RUNS)
            else:
                w, x, b, n = (rng.choice(pool) for pool in (words, FILLER, boosters, vader.NEGATE))
                piece = rng.choice(STRUCTURES).format(w=w, x=x, b=b, n=n)
            shape = rng.random()
            if shape < 0.1:
                piece = piece.upper()
            elif shape < 0.15:
                piece = piece.title()
            elif shape < 0.25:
                piece = rng.choice(PUNCTUATED).format(piece)
            if rng.random() < 0.04:  # repeats: VADER's "but" finds values by equality
                pieces.extend([piece, rng.choice(SEPARATORS)] * rng.randint(2, 4))
            pieces.extend([piece, rng.choice(SEPARATORS)])
        texts.append("".join(pieces))
    return texts


CORPUS = generated_corpus(6000)


def test_the_corpus_covers_the_rules() -> None:
    joined = "\n".join(CORPUS).lower()
    for needle in (
        "kind of",
        "at least",
        "but",
        "never so",
        "without doubt",
        "the shit",
        "n't",
        "!!!!",
        "????",
    ):
        assert needle in joined
    many = [text for text in CORPUS if len(EXACT.scored.intersection(text.lower().split())) > 20]
    assert sum(len([w for w in text.lower().split() if w in EXACT.scored]) > vader_exact.SCAN_BUT_UP_TO
               and "but" in text.lower().split() for text in many) >= 20  # fmt: skip
    assert sum(len(text) > 1500 for text in CORPUS) >= 50


def test_equal_to_vader_on_a_generated_corpus() -> None:
    assert differences(CORPUS) == []


@pytest.mark.shared
def test_equal_to_vader_on_all_of_vaders_rated_snippets() -> None:
    paths = sorted(REVIEWS.glob("*_GroundTruth.txt"))
    if not paths:
        pytest.skip(f"{REVIEWS} is missing: VADER's snippets are read from the ../shared checkout")
    texts = [line.split("\t")[2] for path in paths for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(texts) > 19_000
    assert differences(texts) == []


@pytest.mark.parametrize(
    "text",
    [
        "", " \t\n ", "...", "!!!", "The book was good.", "The book was only kind of good.", "kind of",
        "At least it isn't a horrible book.", "the least bad", "very least good", "least",
        "Not bad at all", "no", "no good", "no no", "not good or bad", "no joy or nor fun",
        "never so good", "never this bad", "without doubt good", "without a doubt, excellent",
        "it is the shit", "bad ass", "yeah right", "kiss of death", "to die for", "bus stop",
        "the shit bad ass", "the bomb yeah right", "bus stop the shit", "the shit kiss of death",
        "good but bad", "good good but good good", "but", "BUT it was great", "great but but awful",
        "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", "GOOD", "GOOD bad", "SUX!",
        "Catch utf-8 emoji such as 💘 and 💋 and 😁", "😁😁x😁", " 😁 ", "💘!!", "☺️ ☹️", "ON! 🔛",
        "skeptics irritate =p opportunistically", "Make sure you :) or :D today!", "İYİ good",
        "GOOD \u212a", "good\x1cbad", "good\u200bbad", "Σ ΣΑΣ good", "isn't good", "isn\u2019t good",
    ],
)  # fmt: skip
def test_equal_to_vader_on_the_rules_and_quirks(text: str) -> None:
    assert differences([text]) == []


def test_minus_zero_compound_is_kept() -> None:
    """VADER can round a tiny negative sum to -0.0; so do we (and `Sentiment` keeps it)."""
    text = "skeptics irritate =p opportunistically"
    assert repr(VADER.polarity_scores(text)["compound"]) == "-0.0"
    assert repr(EXACT.polarity_scores(text)["compound"]) == "-0.0"


TOKENS = st.sampled_from(sorted({*RULE_TOKENS, *FILLER, *RUNS, "good", "GREAT", "😁", "💘"}))
ODD_CHARS = st.sampled_from(
    ["\u200b", "\u200d", "\u202e", "\u2066", "\u2069", "\x00", "\x1c", "\x85", "\ufe0f", "\U0001f3fd", "İ",
     "Σ", "\u212a", "ß", "\u2019", "😁", "☺", "!", "?", "'"]
)  # fmt: skip
WILD = st.text(st.one_of(st.characters(), ODD_CHARS), max_size=10)
SEPARATOR = st.sampled_from([*SEPARATORS, "\u2028", "\x85", "\r\n"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.one_of(TOKENS, WILD, st.sampled_from(list(VADER.lexicon))), SEPARATOR), max_size=40)
)
def test_equal_to_vader_on_token_soup(pieces: list[tuple[str, str]]) -> None:
    assert differences(["".join(token + separator for token, separator in pieces)]) == []


@settings(max_examples=300, deadline=None)
@given(st.text(st.one_of(st.characters(exclude_categories=()), ODD_CHARS), max_size=300))
def test_equal_to_vader_on_any_text(text: str) -> None:
    assert differences([text]) == []


@pytest.mark.parametrize("kind", sorted(hostile_texts(512)))
def test_equal_to_vader_on_hostile_texts_of_a_few_kib(kind: str) -> None:
    assert differences([hostile_texts(4096)[kind]]) == []


@pytest.mark.parametrize("many", [False, True])
def test_but_rule_agrees_with_vaders_own(many: bool) -> None:
    """On sentiment lists with many equal values and zeros, short (VADER's scan) and long (heaps)."""
    rng = random.Random(5)
    pool: list[float] = [0.0, -0.0, 1.9, -1.9, 0.95, 2.85, 3, -2, 1.5, 0.75, 4.275, -2.5]
    scan = vader_exact.SCAN_BUT_UP_TO
    for _ in range(200):
        size = rng.randint(scan + 1, scan + 80) if many else rng.randint(1, scan)
        n = size + rng.randint(1, 60)
        positions = sorted(rng.sample(range(n), size))
        full: list[float] = [0] * n
        for position in positions:
            full[position] = rng.choice(pool)
        bi = rng.choice([p for p in range(n) if p not in positions] + positions[:1])
        words = [rng.choice(("x", "but")) if p > bi else "x" for p in range(n)]
        words[bi] = "but"
        values = [full[p] for p in positions]
        but_check(values, positions, bi)
        want = VADER._but_check(words, list(full))
        assert [repr(w) if w else "0" for w in want] == [
            repr(values[positions.index(p)]) if p in positions and values[positions.index(p)] else "0"
            for p in range(n)
        ]


def test_neutral_and_empty_results_are_vaders() -> None:
    for text in ("the parcel arrived on tuesday", "kind of", "very very", "but", "12 34 %%"):
        assert VADER.polarity_scores(text) == SCORES_NEUTRAL == EXACT.polarity_scores(text)
    for text in ("", " ", "\n\t\x1c"):
        assert VADER.polarity_scores(text) == SCORES_EMPTY == EXACT.polarity_scores(text)
    result = EXACT.polarity_scores("nothing here")
    result["neu"] = 0.5  # callers may change what they get
    assert EXACT.polarity_scores("nothing here") == SCORES_NEUTRAL


def test_what_the_shortcuts_rely_on() -> None:
    """`str.lower` is idempotent and keeps whitespace for every code point (so VADER's second
    lower-casing changes nothing and tokens hold no spaces); no lexicon valence is 0, even with the
    ALL-CAPS step (so skipping VADER's `+ 0.0` for a word with no rule before it changes nothing);
    no emoji is ASCII (so an ASCII text has none) and no emoji description holds an emoji (so they
    may be replaced in any order)."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        lower = char.lower()
        assert lower.lower() == lower
        assert any(c.isspace() for c in lower) == char.isspace()
    valences = set(VADER.lexicon.values())
    assert 0 not in valences | {v + vader.C_INCR for v in valences} | {v - vader.C_INCR for v in valences}
    assert not any(char.isascii() for char in EXACT.emoji)
    assert all(EXACT.emoji.isdisjoint(description) for description in VADER.emojis.values())


def test_token_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vader_exact, "MEMO_SIZE", 10)
    exact = ExactVader()
    assert differences([" ".join(f"w{i}" for i in range(100)) + " good " + "x" * 100], exact) == []
    assert len(exact._memo) <= 10
    assert all(len(token) <= vader_exact.MEMO_TOKEN_CHARS for token in exact._memo)


def test_scorer_gives_vaders_numbers_cached_or_not() -> None:
    scorer = SentimentScorer(cache_texts=100)
    texts = [text for text in CORPUS if len(text) <= 300][:1000]
    for text in texts * 2 + texts[:50] * 3:
        got = scorer.score(text, "en")
        assert got is not None
        assert repr(
            {"neg": got.neg, "neu": got.neu, "pos": got.pos, "compound": got.compound}
        ) == vader_scores(text)
