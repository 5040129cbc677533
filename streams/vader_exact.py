"""vaderSentiment 3.3.2's `polarity_scores`, score for score, in time linear in the text.

`ExactVader().polarity_scores(text)` returns exactly what vaderSentiment's
`SentimentIntensityAnalyzer().polarity_scores(text)` returns (the same floats, -0.0 included) for any
`str`, with vaderSentiment's own lexicon, emoji table, constants and `normalize` (loaded from the
installed package) and its rules' arithmetic in the same order. Only the way to the work differs:
- emoji become " " + their description by `str.replace`/`str.translate` (VADER, char by char, sometimes
  leaves out the space, which changes neither the tokens nor the "!"/"?" counts);
- each token is stripped and lower-cased once (memoised): VADER lower-cases the whole text again for
  each sentiment word (`_negation_check`, `_special_idioms_check`), which makes it quadratic;
- only sentiment words get rule work; a text with none is neutral at once (`SCORES_NEUTRAL`);
- sentiments are kept for sentiment words only (others are 0 and change no result); the "but" rule
  replays VADER's loop on them, quirk included (`sentiments.index(value)` finds the FIRST position
  holding an equal value), with a heap of positions per value once there are many.
`str.lower` is idempotent and never makes or removes whitespace (`tests/test_vader_exact.py` checks
every code point): VADER's second lower-casing in `negated` changes nothing; tokens hold no space.
"""

from __future__ import annotations

import heapq
import math
import re
import string
from collections.abc import Sequence
from itertools import compress
from typing import Any, Final

from vaderSentiment import vaderSentiment as vader

SCORES_EMPTY: Final = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
"""No token at all: VADER's `score_valence` on an empty list."""
SCORES_NEUTRAL: Final = {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}
"""n tokens, none a sentiment word. Then every sentiment is the int 0 and "but" keeps them 0
(0 * 0.5 == 0); the sum is 0.0, so no "!"/"?" emphasis is added and compound = 0.0 / sqrt(15) = 0.0;
pos_sum = neg_sum = 0.0, neu_count = n, so pos = neg = |0.0 / n| = 0.0 and neu = |n / n| = 1.0."""

NEGATIONS: Final = frozenset(vader.NEGATE)
BOOSTERS: Final[dict[str, float]] = vader.BOOSTER_DICT
SPECIAL_CASES: Final[dict[str, float]] = vader.SPECIAL_CASES
IDIOM_STARTS: Final = frozenset(tuple(k.split()[:2]) for k in (*SPECIAL_CASES, *BOOSTERS) if " " in k)
"""First two words of each multi-word idiom and booster: a sequence VADER builds can only match one
of them if its first two tokens are such a pair (tokens hold no spaces)."""
SO_THIS: Final = ("so", "this")
RULE_WORDS: Final = NEGATIONS | BOOSTERS.keys() | {"no", "least", *SO_THIS}
"""Tokens that change a sentiment word after them (with any token containing "n't" and the idioms).
"never" and "without" are negations; "or"/"nor", "at"/"very" and "doubt" only matter next to them."""
SCAN_BUT_UP_TO = 64
"""Up to this many sentiment words, the "but" rule scans as VADER does (quadratic, fast while short)."""
NON_ASCII: Final = re.compile(r"[^\x00-\x7f]")
REPLACE_UP_TO = 8
"""Up to this many distinct emoji in a text, `str.replace` each; more, one `str.translate`."""
MEMO_SIZE, MEMO_TOKEN_CHARS = 50_000, 40
"""Distinct tokens remembered (the memo is cleared when full; a few MB) and the longest one remembered."""


class ExactVader:
    """vaderSentiment's analyzer, made linear: `polarity_scores(text)` as VADER's, value for value."""

    def __init__(self, analyzer: Any = None) -> None:
        analyzer = analyzer if analyzer is not None else vader.SentimentIntensityAnalyzer()
        self.lexicon: dict[str, float] = analyzer.lexicon
        self.scored: frozenset[str] = frozenset(self.lexicon.keys() - BOOSTERS.keys())
        """Tokens that get a valence: VADER gives boosters 0 even where its lexicon rates them."""
        emoji = {char: text for char, text in analyzer.emojis.items() if len(char) == 1}
        self.emoji: frozenset[str] = frozenset(emoji)
        """VADER looks emoji up one character at a time: only single-character entries ever match."""
        self._emoji_table = {ord(char): " " + text for char, text in emoji.items()}
        self._replace_up_to = REPLACE_UP_TO if all(self.emoji.isdisjoint(t) for t in emoji.values()) else 0
        self._memo: dict[str, str] = {}

    def tokens(self, text: str) -> tuple[str, list[str]]:
        """The text with emoji replaced (VADER counts its "!" and "?") and its tokens before stripping."""
        if not text.isascii() and (present := self.emoji.intersection(NON_ASCII.findall(text))):
            if len(present) > self._replace_up_to:
                text = text.translate(self._emoji_table)
            else:  # faster for a few; no description holds an emoji, so the order does not matter
                for char in present:
                    text = text.replace(char, self._emoji_table[ord(char)])
        return text, text.split()

    def _lower(self, token: str) -> str:  # VADER's `_strip_punc_if_word(token).lower()`, memoised
        stripped = token.strip(string.punctuation)
        word = (stripped if len(stripped) > 2 else token).lower()
        if len(token) <= MEMO_TOKEN_CHARS:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[token] = word
        return word

    def polarity_scores(self, text: str) -> dict[str, float]:
        return dict(self.scores(text))

    def scores(self, text: str) -> dict[str, float]:
        """As `polarity_scores`, but a text with no token or no sentiment word gets `SCORES_EMPTY` or
        `SCORES_NEUTRAL` itself (shared: not to be changed)."""
        text, raw = self.tokens(text)
        if not raw:
            return SCORES_EMPTY
        try:
            lowers = list(map(self._memo.__getitem__, raw))
        except KeyError:
            lowers = [self._memo.get(token) or self._lower(token) for token in raw]
        scored = self.scored
        if scored.isdisjoint(lowers):
            return SCORES_NEUTRAL
        n = len(raw)
        # stripping removes only uncased characters, so a raw token is upper case iff its word is
        cap_diff = 0 < n - sum(map(str.isupper, raw)) < n
        hits = list(compress(range(n), map(scored.__contains__, lowers)))
        values: list[float] = [0] * len(hits)  # every other token's sentiment is 0
        for k, i in enumerate(hits):
            if not (lowers[i] == "kind" and i < n - 1 and lowers[i + 1] == "of"):
                values[k] = self._valence(raw, lowers, i, cap_diff)
        if "but" in lowers:
            but_check(values, hits, lowers.index("but"))
        return _score_valence(values, n, text)

    def _valence(self, raw: Sequence[str], lowers: Sequence[str], i: int, cap_diff: bool) -> float:
        """VADER's `sentiment_valence` for the lexicon word at `i` (not a booster, not "kind" of)."""
        lexicon = self.lexicon
        item = lowers[i]
        valence = lexicon[item]
        before = lowers[i - 3 : i] if i > 2 else lowers[:i]
        if (
            item != "no"
            and RULE_WORDS.isdisjoint(before)
            and "n't" not in " ".join(before)
            and (i < 3 or before[0] in lexicon or not idiom_near(lowers, i))
        ):  # no rule applies; VADER adds 0.0 for each word before, which leaves a non-zero valence as is
            if cap_diff and raw[i].isupper():
                valence = valence + vader.C_INCR if valence > 0 else valence - vader.C_INCR
            return valence
        if item == "no" and i != len(lowers) - 1 and lowers[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lowers[i - 1] == "no")
            or (i > 1 and lowers[i - 2] == "no")
            or (i > 2 and lowers[i - 3] == "no" and lowers[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[item] * vader.N_SCALAR
        if cap_diff and raw[i].isupper():
            valence = valence + vader.C_INCR if valence > 0 else valence - vader.C_INCR
        for start_i in range(min(i, 3)):
            before = lowers[i - (start_i + 1)]
            if before in lexicon:
                continue
            s = 0.0  # scalar_inc_dec
            if before in BOOSTERS:
                s = BOOSTERS[before]
                if valence < 0:
                    s *= -1
                if cap_diff and raw[i - (start_i + 1)].isupper():
                    s = s + vader.C_INCR if valence > 0 else s - vader.C_INCR
                if start_i:
                    s = s * (0.95 if start_i == 1 else 0.9)
            valence = valence + s
            # _negation_check
            if start_i == 0:
                if before in NEGATIONS or "n't" in before:
                    valence = valence * vader.N_SCALAR
            elif start_i == 1:
                if before == "never" and lowers[i - 1] in SO_THIS:
                    valence = valence * 1.25
                elif not (before == "without" and lowers[i - 1] == "doubt") and (
                    before in NEGATIONS or "n't" in before
                ):
                    valence = valence * vader.N_SCALAR
            else:
                if (before == "never" and lowers[i - 2] in SO_THIS) or lowers[i - 1] in SO_THIS:
                    valence = valence * 1.25
                elif not (before == "without" and "doubt" in (lowers[i - 2], lowers[i - 1])) and (
                    before in NEGATIONS or "n't" in before
                ):
                    valence = valence * vader.N_SCALAR
                if idiom_near(lowers, i):
                    valence = special_idioms(valence, lowers, i)
        if i > 1 and lowers[i - 1] == "least" and "least" not in lexicon:  # _least_check
            if lowers[i - 2] != "at" and lowers[i - 2] != "very":
                valence = valence * vader.N_SCALAR
        elif i > 0 and lowers[i - 1] == "least" and "least" not in lexicon:
            valence = valence * vader.N_SCALAR
        return valence


def idiom_near(lowers: Sequence[str], i: int) -> bool:
    """Whether `special_idioms` at `i` (> 2) can match: one of its sequences starts with an idiom's pair."""
    return (
        (lowers[i - 1], lowers[i]) in IDIOM_STARTS
        or (lowers[i - 2], lowers[i - 1]) in IDIOM_STARTS
        or (lowers[i - 3], lowers[i - 2]) in IDIOM_STARTS
        or (i + 1 < len(lowers) and (lowers[i], lowers[i + 1]) in IDIOM_STARTS)
    )


def special_idioms(valence: float, lowers: Sequence[str], i: int) -> float:
    """VADER's `_special_idioms_check` at `i` (> 2), on the lower-cased tokens."""
    three, two, one, zero = lowers[i - 3 : i + 1]
    onezero, twoonezero, twoone = f"{one} {zero}", f"{two} {one} {zero}", f"{two} {one}"
    threetwoone, threetwo = f"{three} {two} {one}", f"{three} {two}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(lowers) - 1 > i:
        zeroone = f"{lowers[i]} {lowers[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lowers) - 1 > i + 1:
        zeroonetwo = f"{lowers[i]} {lowers[i + 1]} {lowers[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTERS:
            valence = valence + BOOSTERS[n_gram]
    return valence


def but_check(values: list[float], positions: Sequence[int], bi: int) -> None:
    """VADER's `_but_check`, in place, on the sentiments at `positions` (all others are 0), for the
    first "but" at position `bi`.

    VADER walks the list and, for each value v it reads (after earlier changes), rescales the first
    position holding a value == v: x0.5 before `bi`, x1.5 after it. A zero only ever turns a zero into
    a zero (0, 0.0 or -0.0: nothing `score_valence` tells apart), so zeros are skipped, and a non-zero
    value is only found where a non-zero value is. Long lists keep a min-heap of indices per value;
    indices whose value has changed since are dropped when they surface."""
    if len(values) <= SCAN_BUT_UP_TO:
        for value in values:
            if value:
                first = values.index(value)
                if positions[first] < bi:
                    values[first] = value * 0.5
                elif positions[first] > bi:
                    values[first] = value * 1.5
        return
    heaps: dict[float, list[int]] = {}
    for index, value in enumerate(values):
        heaps.setdefault(value, []).append(index)  # ascending, so already a heap
    for value in values:
        if not value:
            continue
        heap = heaps[value]
        while values[heap[0]] != value:
            heapq.heappop(heap)
        first = heap[0]
        if positions[first] != bi:
            values[first] = changed = value * 0.5 if positions[first] < bi else value * 1.5
            heapq.heappush(heaps.setdefault(changed, []), first)


def _score_valence(values: list[float], n: int, text: str) -> dict[str, float]:
    """VADER's `score_valence` for `n` tokens whose non-zero sentiments are among `values`, in order.

    Left out zeros change no sum: Python's `sum` starts from the int 0 and never reaches -0.0, and
    x + 0 == x + 0.0 == x + -0.0 == x for any other x (small int partial sums are exact as floats)."""
    sum_s = float(sum(values))
    qm_count = text.count("?")  # _punctuation_emphasis
    qm_amplifier = (qm_count * 0.18 if qm_count <= 3 else 0.96) if qm_count > 1 else 0
    punct_emph_amplifier = min(text.count("!"), 4) * 0.292 + qm_amplifier
    if sum_s > 0:
        sum_s += punct_emph_amplifier
    elif sum_s < 0:
        sum_s -= punct_emph_amplifier
    compound = vader.normalize(sum_s)
    pos_sum, neg_sum, neu_count = 0.0, 0.0, n  # _sift_sentiment_scores
    for sentiment_score in values:
        if sentiment_score > 0:
            pos_sum += float(sentiment_score) + 1
            neu_count -= 1
        elif sentiment_score < 0:
            neg_sum += float(sentiment_score) - 1
            neu_count -= 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += punct_emph_amplifier
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= punct_emph_amplifier
    total = pos_sum + math.fabs(neg_sum) + neu_count
    return {
        "neg": round(math.fabs(neg_sum / total), 3),
        "neu": round(math.fabs(neu_count / total), 3),
        "pos": round(math.fabs(pos_sum / total), 3),
        "compound": round(compound, 4),
    }
