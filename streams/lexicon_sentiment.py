"""VADER's rules for languages other than English: one engine, parametrised per language by `LexiconRules`.

It keeps vaderSentiment 3.3.2's constants (booster +-0.293, ALL-CAPS +0.733, negation x-0.74, "!"
+0.292 up to four, "?"-runs, contrast x0.5 before and x1.5 after, compound = s / sqrt(s^2 + 15),
pos/neu/neg as VADER computes them), so a compound means about the same in every language. It
differs from VADER on purpose:

- cost is linear in the text (a 256 KiB message of any kind takes milliseconds, see
  `bench.sentiment_speed`) and a word's value is looked up once per process (memoised);
- negators and boosters act within their clause: punctuation stops them; post-negators also negate
  the word before them when nothing follows in the clause ("das gefällt mir nicht", "jeg elsker
  det ikke"); a contrast word shifts weight within its sentence, or from the previous sentence
  when it opens one ("Pünktlich. Aber laut.");
- emoji are tokens with their own valence, URLs are skipped, phrases have up to 3 words, a word
  with a capital letter may end in a lexicon noun ("Heizungsausfall" scores as "ausfall"), and an
  unknown word may be an inflection of a lexicon word (`suffixes`: "gode" -> "god");
- courtesy words ("danke", "tak") count only in posts with nothing negative in them: in complaints
  they are formulas or sarcasm ("Danke, wieder 30 Minuten Verspätung").
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from brandmon.schemas import Sentiment
from streams.sentiment import label_for

B_INCR, C_INCR, N_SCALAR = 0.293, 0.733, -0.74
"""VADER's booster step, ALL-CAPS step and negation factor."""
EXCLAMATION_INCR, MAX_EXCLAMATIONS, ALPHA = 0.292, 4, 15.0
WINDOW, BOOSTER_DECAY = 3, (1.0, 0.95, 0.9)
"""Negators and boosters reach this many tokens ahead, weaker with distance, as in VADER."""
MAX_PHRASE = 3
MIN_PREFIX, MAX_COMPOUND_LEN = 3, 40
"""A compound's first part has at least 3 letters; longer "words" (hashes, junk) are not split."""
MAX_CACHED_WORDS, MAX_CACHED_WORD_CHARS = 200_000, 64
"""Word -> valence memo per scorer, cleared when full; longer words are not remembered (junk is
rarely repeated), so memory stays bounded on any input."""

LOWER, TITLE, UPPER = 0, 1, 2
"""A word's shape as written: only TITLE/UPPER words are split as compounds, UPPER ones are shouted."""
_PIECE = re.compile(r"([^\W_]+(?:['\u2019-][^\W_]+)*)|([.!?]+)|([,;:()]+)|([^\w\s])")
"""Words (with inner apostrophes and hyphens), sentence ends, clause breaks, other symbols (emoji)."""
_URL_PREFIXES = ("http://", "https://", "www.")
_CLAUSE, _SENTENCE, _QUESTION = "\x00,", "\x00.", "\x00?"
_ENDS = {",": _CLAUSE, ";": _CLAUSE, ":": _CLAUSE, ".": _SENTENCE, "!": _SENTENCE, "?": _QUESTION}
_UNKNOWN = 1e9
"""Not yet in the word memo (no valence is anywhere near it)."""


def _shape(word: str) -> int:
    return LOWER if word.islower() else UPPER if word.isupper() and len(word) > 1 else TITLE


def word_set(text: str) -> frozenset[str]:
    """Rule words written as one string: `word_set("nicht nie kein")`."""
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class LexiconRules:
    """What one language needs: its lexicon (lowercase words or phrases -> -4..+4) and rule words."""

    lexicon: Mapping[str, float]
    negators: frozenset[str]
    boosters: frozenset[str]
    dampeners: frozenset[str]
    contrast: frozenset[str]
    post_negators: frozenset[str] = frozenset()
    courtesy: frozenset[str] = frozenset()
    """Lexicon words or phrases that count only when no other value in the post is negative."""
    emoji: Mapping[str, float] = field(default_factory=dict)
    """Emoji characters and whole-token ASCII emoticons -> valence."""
    compound_heads: Mapping[str, float] = field(default_factory=dict)
    """Words that keep their valence at the end of a compound ("ausfall" in "zugausfall")."""
    min_compound_head: int = 5
    suffixes: tuple[str, ...] = ()
    """Inflection endings stripped from an unknown word to find its lexicon form ("gode" -> "god")."""
    min_stem: int = 3

    def digest(self) -> str:
        """10 hex digits of SHA-256 over everything that decides a score (this module's code included)."""
        tables = [sorted(t.items()) for t in (self.lexicon, self.emoji, self.compound_heads)]
        words = [sorted(w) for w in (self.negators, self.boosters, self.dampeners, self.contrast,
                                     self.post_negators, self.courtesy)]  # fmt: skip
        data = repr((tables, words, self.min_compound_head, self.suffixes, self.min_stem)).encode()
        return hashlib.sha256(data + Path(__file__).read_bytes()).hexdigest()[:10]


class LexiconScorer:
    """Scores text with `rules`; every result is labelled `model`/`model_version`."""

    def __init__(self, rules: LexiconRules, model: str, model_version: str) -> None:
        self.rules = rules
        self.model = model
        self.model_version = model_version
        self._phrase_starts = frozenset(p.split()[0] for p in rules.lexicon if " " in p)
        self._modifiers = rules.boosters | rules.dampeners
        self._caches: tuple[dict[str, float], dict[str, float]] = ({}, {})
        """Values of lowercase words; of capitalised ones (which may be compounds)."""

    def score(self, text: str) -> Sentiment:
        s = self.polarity_scores(text)
        return Sentiment(
            compound=s["compound"], pos=s["pos"], neu=s["neu"], neg=s["neg"], label=label_for(s["compound"]),
            model=self.model, model_version=self.model_version,
        )  # fmt: skip

    def polarity_scores(self, text: str) -> dict[str, float]:
        """VADER's dict: compound in [-1, 1] and the pos/neu/neg proportions."""
        words, shapes = self._tokens(text)
        n_words = len(words) - words.count(_CLAUSE) - words.count(_SENTENCE) - words.count(_QUESTION)
        values, negated = self._valences(words, shapes, n_words)
        rules = self.rules
        if not rules.post_negators.isdisjoint(words):
            self._negate_backwards(words, values, negated)
        if not rules.contrast.isdisjoint(words):
            self._shift_contrast(words, values)
        return _summarise(values, n_words, text)

    def _tokens(self, text: str) -> tuple[list[str], list[int]]:
        """Lowercase words, emoji and emoticons, plus clause/sentence markers; and each one's shape."""
        words: list[str] = []
        shapes: list[int] = []
        emoji = self.rules.emoji
        for raw in text.split():
            end = None
            if raw in emoji:  # emoticons are whole tokens: ":-)", "<3", "xD"
                words.append(raw)
                shapes.append(LOWER)
                continue
            if not raw.isalpha():  # most tokens are plain words and need no regular expression
                if raw[-1] not in _ENDS or not raw[:-1].isalpha():
                    self._split(raw, words, shapes)
                    continue
                raw, end = raw[:-1], _ENDS[raw[-1]]  # "gut," "Tag." "nie!"
            words.append(raw.lower())
            shapes.append(LOWER if raw.islower() else _shape(raw))
            if end:
                words.append(end)
                shapes.append(LOWER)
        return words, shapes

    def _split(self, raw: str, words: list[str], shapes: list[int]) -> None:
        """A token with inner punctuation, hyphens or emoji: its pieces; nothing for a URL."""
        if raw.startswith(_URL_PREFIXES):
            return
        for word, stop, _pause, symbol in _PIECE.findall(raw):
            if word:
                if "-" in word and word.lower() not in self.rules.lexicon:
                    word = word.rpartition("-")[2]  # a compound means what its last part means
                words.append(word.lower())
                shapes.append(_shape(word))
            elif symbol:
                if symbol in self.rules.emoji:
                    words.append(symbol)
                    shapes.append(LOWER)
            elif words and words[-1][0] != "\x00":
                words.append((_QUESTION if "?" in stop else _SENTENCE) if stop else _CLAUSE)
                shapes.append(LOWER)
            elif words and stop:
                words[-1] = _QUESTION if "?" in stop else _SENTENCE

    def _remember(self, word: str, capitalised: bool) -> float:
        """A word's value, memoised: 0.0 if none, for modifiers and for clause markers."""
        rules, cache = self.rules, self._caches[capitalised]
        if len(cache) >= MAX_CACHED_WORDS:
            cache.clear()
        value = rules.lexicon.get(word, rules.emoji.get(word))
        for suffix in rules.suffixes if value is None else ():
            if word.endswith(suffix) and len(word) - len(suffix) >= rules.min_stem:
                stem = word[: -len(suffix)]
                value = rules.lexicon.get(stem)
                if value is None and stem[-1] == stem[-2]:
                    value = rules.lexicon.get(stem[:-1])  # "flotte" -> "flott" -> "flot"
                if value is not None:
                    break
        if value is None and capitalised and rules.min_compound_head < len(word) <= MAX_COMPOUND_LEN:
            for start in range(MIN_PREFIX, len(word) - rules.min_compound_head + 1):
                if (value := rules.compound_heads.get(word[start:])) is not None:
                    break
        value = 0.0 if word in self._modifiers or word[0] == "\x00" else value or 0.0
        if len(word) <= MAX_CACHED_WORD_CHARS:
            cache[word] = value
        return value

    def _valences(self, words: list[str], shapes: list[int], n_words: int) -> tuple[list[float], list[bool]]:
        rules, lexicon = self.rules, self.rules.lexicon
        lower, capitalised = self._caches
        if rules.compound_heads:
            pairs = zip(words, shapes, strict=True)
            values = [(capitalised if shape else lower).get(w, _UNKNOWN) for w, shape in pairs]
        else:  # capitalisation changes nothing: one memo
            values = [lower.get(w, _UNKNOWN) for w in words]
        if _UNKNOWN in values:
            for i, v in enumerate(values):
                if v == _UNKNOWN:
                    values[i] = self._remember(words[i], bool(rules.compound_heads) and shapes[i] != LOWER)
        keys: dict[int, str] = {}
        if not self._phrase_starts.isdisjoint(words):
            skip_until = 0
            for i, word in enumerate(words):
                if i >= skip_until and word in self._phrase_starts:
                    for size in range(MAX_PHRASE, 1, -1):
                        phrase = " ".join(words[i : i + size])
                        if (value := lexicon.get(phrase)) is not None:
                            values[i : i + size] = [value] + [0.0] * (size - 1)
                            keys[i], skip_until = phrase, i + size
                            break
        negated = [False] * len(words)
        n_caps = shapes.count(UPPER)
        emphasis = 0 < n_caps < n_words
        courtesy: list[int] = []
        for i in [i for i, v in enumerate(values) if v]:
            value = values[i]
            if rules.courtesy and keys.get(i, words[i]) in rules.courtesy:
                courtesy.append(i)
            sign = 1.0 if value > 0 else -1.0
            if emphasis and shapes[i] == UPPER:
                value += sign * C_INCR
            for distance in range(1, WINDOW + 1):
                j = i - distance
                if j < 0 or words[j][0] == "\x00":
                    break
                before = words[j]
                if before in rules.negators:
                    value *= N_SCALAR
                    negated[i] = True
                elif before in self._modifiers:
                    scalar = B_INCR if before in rules.boosters else -B_INCR
                    if emphasis and shapes[j] == UPPER:
                        scalar += C_INCR  # as VADER: a shouted modifier always adds emphasis
                    value += sign * scalar * BOOSTER_DECAY[distance - 1]
            values[i] = value
        if courtesy and min(values) < 0:
            for i in courtesy:
                values[i] = 0.0
        return values, negated

    def _negate_backwards(self, words: list[str], values: list[float], negated: list[bool]) -> None:
        """A post-negator with no sentiment after it in its clause negates the one just before it."""
        post = self.rules.post_negators
        for k in [k for k, word in enumerate(words) if word in post]:
            ahead = words[k + 1 : k + 1 + WINDOW]
            stop = next((d for d, w in enumerate(ahead) if w[0] == "\x00"), len(ahead))
            if any(values[k + 1 + d] for d in range(stop)):
                continue
            for j in range(k - 1, max(k - WINDOW - 1, -1), -1):
                if words[j][0] == "\x00":
                    break
                if values[j]:
                    if not negated[j]:
                        values[j] *= N_SCALAR
                    break

    def _shift_contrast(self, words: list[str], values: list[float]) -> None:
        """Per sentence: x0.5 before a contrast word, x1.5 after it (from the previous sentence
        if the word opens one)."""
        previous_start = start = 0
        pivot: int | None = None
        for i, word in enumerate([*words, _SENTENCE]):
            if word[0] == "\x00" and word != _CLAUSE:
                if pivot is not None:
                    for j in range(previous_start if pivot == start else start, pivot):
                        values[j] *= 0.5
                    for j in range(pivot + 1, i):
                        values[j] *= 1.5
                previous_start, start, pivot = start, i + 1, None
            elif pivot is None and word in self.rules.contrast:
                pivot = i


def _summarise(values: list[float], n_words: int, text: str) -> dict[str, float]:
    """VADER's `score_valence` on the values (markers hold 0.0 and are not words)."""
    if not n_words:
        return {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
    scored = [v for v in values if v]
    positive = [v for v in scored if v > 0]
    pos_sum = sum(positive)
    neg_sum = sum(scored) - pos_sum
    n_negative = len(scored) - len(positive)
    total, pos, neg = pos_sum + neg_sum, pos_sum + len(positive), n_negative - neg_sum
    neutral = n_words - len(scored)
    questions = text.count("?")
    emphasis = min(text.count("!"), MAX_EXCLAMATIONS) * EXCLAMATION_INCR
    if questions > 1:
        emphasis += questions * 0.18 if questions <= 3 else 0.96
    total += emphasis if total > 0 else -emphasis if total < 0 else 0.0
    compound = total / math.sqrt(total * total + ALPHA)
    if pos > neg:
        pos += emphasis
    elif neg > pos:
        neg += emphasis
    share = pos + neg + neutral
    return {"neg": round(neg / share, 3), "neu": round(neutral / share, 3), "pos": round(pos / share, 3),
            "compound": round(max(-1.0, min(1.0, compound)), 4)}  # fmt: skip
