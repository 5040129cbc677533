"""The terms a mention is about: hashtags, linked domains and noun-ish word n-grams.

Spike explanations name the terms that drive a burst ("recall", "#brewbirdrecall", a news site).
Stop words of English, German and Danish (the `stop-words` package) and numbers are dropped so
that what remains is what people talk about. Terms are counted per brand and bucket in a bounded
frequent-items sketch (Apache DataSketches), so memory stays flat however many terms appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache
from urllib.parse import urlsplit

from datasketches import frequent_items_error_type, frequent_strings_sketch
from stop_words import get_stop_words

from streams.query_ast import normalise

STOP_WORD_LANGUAGES = ("en", "de", "da")
MIN_WORD_CHARS = 3
KNOWN_BRANDS_PER_TEXT = 8
"""Brands whose terms of one text `TextTerms` keeps (a text matched by more starts over)."""
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


_TOKEN = re.compile(rf"""(?:[.!?;:,()\[\]"“”]+|#\w+)|({_WORD.pattern})""")
"""The sentence breaks and words of `extract_terms` in one pass: a break (punctuation or a
`#hashtag`) is found as the empty string, a word as itself. Words contain none of the characters
a break begins with, so this finds the words that splitting at breaks and then finding words in
each piece finds (tests/test_spike_inputs.py compares the two)."""


def extract_terms(text: str, url: str | None = None, exclude: Iterable[str] = ()) -> list[str]:
    """Distinct terms of one mention: `#hashtag`, `site:domain` and word uni- and bigrams.

    `exclude` drops the brand's own words (its name is in every mention and explains nothing).
    """
    return list(text_terms(normalise(text)).terms(site_of(url), own_words(tuple(exclude))))


def site_of(url: str | None) -> str | None:
    """The `site:domain` term of a mention's own URL."""
    domain = domain_of(url) if url else None
    return f"site:{domain}" if domain else None


@lru_cache(maxsize=1024)
def own_words(exclude: tuple[str, ...]) -> frozenset[str]:
    """The normalised `exclude` words: a brand's matched terms, over and over."""
    return frozenset(normalise(word) for word in exclude)


class TextTerms:
    """What the terms of a mention owe to its text alone, for `terms` to finish per brand and URL.

    Apart so that a text seen again (a reshare, a bot's copies, one post matching two brands) is
    not read again: `streams.buckets` keeps them for recent texts.
    """

    __slots__ = ("_by_own", "_plain", "sites", "tags", "words")

    def __init__(self, sites: tuple[str, ...], tags: tuple[str, ...], words: list[str | None]) -> None:
        self.sites = sites
        """`site:domain` of the links in the text, first seen first."""
        self.tags = tags
        """`#hashtag`s, first seen first."""
        self.words = words
        """Words long enough and not stop words, in order; None where no bigram spans."""
        self._plain: tuple[str, ...] | None = None
        """The word terms for brands none of whose words is in the text."""
        self._by_own: dict[frozenset[str], tuple[str, ...]] = {}
        """The word terms for brands whose words are in the text (most are)."""

    def terms(self, own_site: str | None, own: frozenset[str]) -> tuple[str, ...]:
        """The terms of the mention, given the `site_of` its URL and the brand's `own_words`."""
        for word in own:
            if word in self.words:
                words = self._by_own.get(own)
                if words is None:
                    if len(self._by_own) >= KNOWN_BRANDS_PER_TEXT:
                        self._by_own.clear()
                    words = self._by_own[own] = self._without(own)
                break
        else:
            words = self._plain
            if words is None:
                words = self._plain = self._without(frozenset())
        sites = self.sites
        if own_site is not None and own_site not in sites:
            sites += (own_site,)
        if sites or self.tags:
            return sites + self.tags + words
        return words

    def _without(self, own: frozenset[str]) -> tuple[str, ...]:
        terms: dict[str, None] = {}
        previous: str | None = None
        for word in self.words:
            if word is None or word in own:
                previous = None
                continue
            terms[word] = None
            if previous is not None:
                terms[f"{previous} {word}"] = None
            previous = word
        return tuple(terms)


def text_terms(normal: str) -> TextTerms:
    """The `TextTerms` of a normalised text."""
    sites: dict[str, None] = {}
    prose = normal
    if "://" in normal:  # in every `_URL` match, whatever the case of `http`
        for link in _URL.findall(normal):
            domain = domain_of(link)
            if domain:
                sites[f"site:{domain}"] = None
        prose = _URL.sub(" ", normal)
    if "@" in prose:
        prose = _HANDLE.sub(" ", prose)
    tags = tuple(dict.fromkeys(f"#{tag}" for tag in _HASHTAG.findall(prose))) if "#" in prose else ()
    stop = stop_words()
    words: list[str | None] = []
    broken = True
    for word in _TOKEN.findall(prose):
        if len(word) < MIN_WORD_CHARS or word in stop:  # a break ("") too
            if not broken:
                words.append(None)
                broken = True
        else:
            words.append(word)
            broken = False
    return TextTerms(tuple(sites), tags, words)


class TermCounter:
    """Bounded counts of terms (a frequent-strings sketch) that can be stored and merged."""

    def __init__(self, sketch: frequent_strings_sketch | None = None) -> None:
        self._sketch = sketch if sketch is not None else frequent_strings_sketch(SKETCH_LG_MAX_K)

    def add(self, terms: Iterable[str], weight: int = 1) -> None:
        update = self._sketch.update
        for term in terms:
            update(term, weight)

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
