"""The terms a mention is about: hashtags, linked domains and noun-ish word n-grams.

Spike explanations name the terms that drive a burst ("recall", "#brewbirdrecall", a news site).
Stop words of English, German and Danish (the `stop-words` package) and numbers are dropped so
that what remains is what people talk about. Terms are counted per brand and bucket in a bounded
frequent-items sketch (Apache DataSketches), so memory stays flat however many terms appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

from datasketches import frequent_items_error_type, frequent_strings_sketch
from stop_words import get_stop_words

from streams.query_ast import normalise

STOP_WORD_LANGUAGES = ("en", "de", "da")
MIN_WORD_CHARS = 3
SKETCH_LG_MAX_K = 7
"""128 counters per sketch: the top terms of a brand's bucket are exact unless far more appear."""

_URL = re.compile(r"https?://[^\s<>\"')]+", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![\w#])#(\w{2,60})")
_HANDLE = re.compile(r"(?<![\w@])@[\w.]+")
_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*[^\W_]|[^\W\d_]")


@cache
def stop_words() -> frozenset[str]:
    """One set for all languages: mentions mix them and the detected language can be `und`."""
    words: set[str] = set()
    for lang in STOP_WORD_LANGUAGES:
        words.update(normalise(w) for w in get_stop_words(lang))
    words.update({"rt", "via", "amp", "http", "https", "www"})
    return frozenset(words)


_PLAIN_HOST = re.compile(r"https?://([a-z0-9.-]+)(?::[0-9]*)?(?:[/?#]|$)", re.IGNORECASE)
"""The host of a URL without user info, IPv6 or odd characters: `urlsplit` costs ~8 us a URL,
this a fraction of that, and it gives the same host (tests/test_spike_inputs.py)."""


def domain_of(url: str) -> str | None:
    plain = _PLAIN_HOST.match(url)
    if plain is not None:
        return plain.group(1).lower().removeprefix("www.")
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def extract_terms(text: str, url: str | None = None, exclude: Iterable[str] = ()) -> list[str]:
    """Distinct terms of one mention: `#hashtag`, `site:domain` and word uni- and bigrams.

    `exclude` drops the brand's own words (its name is in every mention and explains nothing).
    """
    normal = normalise(text)
    terms: dict[str, None] = {}
    for link in _URL.findall(normal):
        domain = domain_of(link)
        if domain:
            terms[f"site:{domain}"] = None
    own = domain_of(url) if url else None
    if own:
        terms[f"site:{own}"] = None
    prose = _HANDLE.sub(" ", _URL.sub(" ", normal))
    for tag in _HASHTAG.findall(prose):
        terms[f"#{tag}"] = None
    stop, own_words = stop_words(), {normalise(word) for word in exclude}
    for sentence in re.split(r"[.!?;:,()\[\]\"“”]+|#\w+", prose):
        previous: str | None = None
        for word in _WORD.findall(sentence):
            if len(word) < MIN_WORD_CHARS or word in stop or word in own_words:
                previous = None
                continue
            terms[word] = None
            if previous is not None:
                terms[f"{previous} {word}"] = None
            previous = word
    return list(terms)


class TermCounter:
    """Bounded counts of terms (a frequent-strings sketch) that can be stored and merged."""

    def __init__(self, sketch: frequent_strings_sketch | None = None) -> None:
        self._sketch = sketch if sketch is not None else frequent_strings_sketch(SKETCH_LG_MAX_K)

    def add(self, terms: Iterable[str], weight: int = 1) -> None:
        for term in terms:
            self._sketch.update(term, weight)

    def merge(self, other: TermCounter) -> None:
        self._sketch.merge(other._sketch)

    def estimate(self, term: str) -> int:
        return int(self._sketch.get_estimate(term))

    def top(self, n: int) -> list[tuple[str, int]]:
        items = self._sketch.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES)
        ranked = sorted((-int(estimate), term) for term, estimate, _, _ in items)
        return [(term, -negative) for negative, term in ranked[:n]]

    @property
    def total(self) -> int:
        return int(self._sketch.total_weight)

    def to_bytes(self) -> bytes:
        return bytes(self._sketch.serialize())

    @classmethod
    def from_bytes(cls, data: bytes) -> TermCounter:
        return cls(frequent_strings_sketch.deserialize(data))
