"""Emoji and emoticon valences for the lexicon scorers, on VADER's -4..+4 scale, the same in every language.

Built once per process, from three sources (a later one wins):

1. vaderSentiment's own emoji descriptions (`emoji_utf8_lexicon.txt`, e.g. 😭 "loudly crying face")
   scored by vaderSentiment itself and turned back from compound to a valence sum, so an emoji weighs
   in German and Danish what it weighs in English. Single code points only: VADER matches one
   character at a time, and so do we (a variation selector or skin tone after it is ignored).
2. AFINN-emoticon-8 (`streams/lexicons/afinn-emoticon-8.txt`, Apache-2.0) for ASCII emoticons such
   as `:)`, `:-(` and `<3`, scaled from AFINN's -5..+5 to VADER's range. They count as whole tokens.
3. Our own values for frequent emoji whose description VADER's lexicon misses (👍 "thumbs up",
   😡 "pouting face" score 0) or reads the wrong way (💔 "broken heart" scores positive).

The `emoji` package is not used. The table is part of the hash in each lexicon scorer's `model_version`,
so a change here (or in vaderSentiment's emoji lexicon) changes the version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from types import MappingProxyType

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

EMOTICON_FILE = "afinn-emoticon-8.txt"
AFINN_TO_VADER = 0.8
"""AFINN rates -5..+5, VADER -4..+4."""
VADER_ALPHA = 15.0
"""vaderSentiment's `normalize` constant: compound = s / sqrt(s^2 + alpha)."""

OVERRIDES: Mapping[str, float] = MappingProxyType(
    {
        "👍": 1.8, "👏": 1.8, "🙏": 1.2, "💯": 1.5, "💪": 1.5, "✅": 1.0, "🤩": 2.5, "😉": 1.0,
        "😋": 1.5, "🤞": 0.8, "🍀": 1.0, "🥳": 2.5, "🤍": 3.2,
        "👎": -1.8, "😡": -2.5, "🤬": -3.0, "😤": -1.5, "😠": -2.5, "🤮": -2.5, "🤢": -2.0,
        "💩": -2.0, "🙄": -1.5, "😒": -1.5, "🤦": -1.5, "💔": -2.5, "❌": -1.0, "😑": -0.8,
        "😖": -2.0, "😣": -1.5, "😔": -1.2, "🥱": -1.0, "😴": -0.5, "🐌": -0.8, "🤡": -1.5,
        "🖕": -3.0, "🙈": -0.5, "🤷": -0.5,
    }
)  # fmt: skip


def _vader_sum(compound: float) -> float:
    """The valence sum vaderSentiment normalised into `compound` (inverse of its `normalize`)."""
    compound = max(-0.9999, min(0.9999, compound))
    return compound * math.sqrt(VADER_ALPHA / (1.0 - compound * compound))


def _vader_emoji() -> dict[str, float]:
    analyzer = SentimentIntensityAnalyzer()
    table: dict[str, float] = {}
    for char, description in analyzer.emojis.items():
        if len(char) != 1:
            continue
        compound = analyzer.polarity_scores(description)["compound"]
        if compound:
            table[char] = round(_vader_sum(compound), 3)
    return table


def _afinn_emoticons() -> dict[str, float]:
    text = (files("streams") / "lexicons" / EMOTICON_FILE).read_text(encoding="utf-8")
    table: dict[str, float] = {}
    for line in text.splitlines():
        token, _, value = line.rpartition("\t")
        if token and value.strip():
            table[token] = int(value) * AFINN_TO_VADER
    return table


@cache
def emoji_valences() -> Mapping[str, float]:
    """Emoji character or ASCII emoticon -> valence (-4..+4); read-only, built on first use (~50 ms)."""
    table = _vader_emoji()
    table.update(_afinn_emoticons())
    table.update(OVERRIDES)
    return MappingProxyType({token: value for token, value in table.items() if value})
