"""Answers to `evaluate`'s questions about one post, from where the automaton found each term.

Presence is a set lookup. Field values are normalised once per post. Positions (for NEAR and
for ordering the reported terms) are computed only when asked, from the automaton's end offsets
through `PostText.position`, and proximity looks only at the occurrences of the other term within
reach (bisect), so a 100k-character post with thousands of occurrences stays fast.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from streams.query_ast import Field, Term, normalise
from streams.query_text import PostText

if TYPE_CHECKING:
    from streams.query_match import PostFields

Hit = tuple[int, int, int, int]
"""First and last word index, first and last hashtag part: 0, 0 in the word stream, -1, -1 for a
#hashtag or @handle, 1, 2, ... in a hashtag's split parts."""


class PostOracle:
    """Answers `evaluate`'s questions about one post from the automaton's hits."""

    __slots__ = (
        "_ends",
        "_fields",
        "_hits",
        "_key_lengths",
        "_node_ids",
        "_positions",
        "_post",
        "_text",
        "present",
    )

    def __init__(
        self,
        node_ids: dict[int, int],
        key_lengths: list[int],
        text: PostText,
        hits: list[tuple[int, int]],
        post: PostFields,
        present: set[int] | None = None,
    ) -> None:
        """`node_ids`: id() of each query Term -> term id; `key_lengths`: per term id, its automaton
        key's length; `hits`: (end offset, term id) as the automaton found them in `text.canonical`;
        `present`: their term ids, if already known."""
        self._node_ids = node_ids
        self._key_lengths = key_lengths
        self._text = text
        self._hits = hits
        self.present = {term_id for _, term_id in hits} if present is None else present
        self._post = post
        self._fields: dict[str, str] = {}
        self._ends: dict[int, list[int]] = {}
        self._positions: dict[int, list[Hit]] = {}

    def term(self, term: Term) -> bool:
        return self._node_ids[id(term)] in self.present

    def _ends_of(self, term_id: int) -> list[int]:
        """Where the automaton found `term_id` (end offsets in `canonical`, ascending)."""
        if (ends := self._ends.get(term_id)) is None:
            ends = self._ends[term_id] = [end for end, found in self._hits if found == term_id]
        return ends

    def field(self, field: Field) -> bool:
        name = field.name
        if (value := self._fields.get(name)) is None:
            value = self._fields[name] = self._field_value(name)
        return field_holds(field, value)

    def _field_value(self, name: str) -> str:
        """The post's value of field `name` as queries spell it (normalised once per post)."""
        post = self._post
        if name == "lang":
            return normalise(post.lang or "").replace("_", "-")
        if name == "source":
            return normalise(post.source or "")
        if name == "author":
            return normalise(post.author or "").lstrip("@")
        return url_host(post.url or "")

    def hits(self, term: Term) -> list[Hit]:
        """Every occurrence of `term`, sorted by where it starts."""
        term_id = self._node_ids[id(term)]
        if (known := self._positions.get(term_id)) is None:
            known = self._positions[term_id] = self._find(term_id, len(term.words))
        return known

    def _find(self, term_id: int, size: int) -> list[Hit]:
        """The hits of the term `term_id` of `size` words, sorted."""
        position, length = self._text.position, self._key_lengths[term_id] - 1
        found: list[Hit] = []
        for end in self._ends_of(term_id):
            word, part = position(end - length)
            if part:
                found.append((word, word, part, part + size - 1 if part > 0 else -1))
            else:
                found.append((word, word + size - 1, 0, 0))
        found.sort()
        return found

    def near(self, first: Term, second: Term, distance: int, ordered: bool) -> bool:
        others = self.hits(second)
        starts = [hit[0] for hit in others]
        reach = distance + len(second.words)
        for a in self.hits(first):
            low, high = bisect.bisect_left(starts, a[0] - reach), bisect.bisect_right(starts, a[1] + reach)
            for b in others[low:high]:
                if (apart := gap(a, b)) is not None and apart[0] <= distance and (apart[1] or not ordered):
                    return True
        return False

    def in_order(self, terms: list[Term]) -> list[str]:
        """Displays of the longest `terms` found, by first appearance on their own. A term found only
        inside longer ones (`acme` in "acme corp", the word of `#acme`) is not listed, as with aliases."""
        unique: dict[int, Term] = {}
        """Term id -> the first of `terms` with it: `dict.fromkeys(terms)`, without hashing Terms."""
        for term in terms:
            unique.setdefault(self._node_ids[id(term)], term)
        if len(unique) == 1:
            return [term.display for term in unique.values()]
        if len(unique) == 2 and (only := self._sigil_form_only(*unique.items())) is not None:
            return only
        spans: list[list[Hit]] = []
        longest = 0
        for term_id, term in unique.items():
            if (known := self._positions.get(term_id)) is None:
                known = self._positions[term_id] = self._find(term_id, len(term.words))
            spans.append(known)
            longest = max(longest, len(term.words))
        first: dict[str, tuple[int, int]] = {}
        for i, term in enumerate(unique.values()):
            if len(spans) == 2:
                others = spans[1 - i]  # already sorted
            else:
                others = sorted(hit for j, hits in enumerate(spans) if j != i for hit in hits)
            earliest = _first_uncovered(spans[i], others, longest)
            if earliest is not None and ((seen := first.get(term.display)) is None or earliest < seen):
                first[term.display] = earliest
        return sorted(first, key=first.__getitem__)

    def _sigil_form_only(self, one: tuple[int, Term], two: tuple[int, Term]) -> list[str] | None:
        """`in_order` of a word and its #hashtag or @handle when the word is found only in that
        form (most posts with a sigil: `#acme` is also the word `acme`), without positions: every
        #acme or @acme segment puts `acme` in the word stream at its word, which the segment covers,
        so when the word stream holds `acme` as often as segments hold `#acme` none is left on its
        own (a hit of the word in a hashtag's split parts is not in the word stream: no shortcut).
        None where this does not apply."""
        (word_id, word), (sigil_id, sigil) = (one, two) if one[1].kind == "word" else (two, one)
        if word.kind != "word" or sigil.kind == "word" or word.prefix or sigil.prefix:
            return None
        if len(word.words) != 1 or word.words != sigil.words:
            return None
        in_words = self._ends_of(word_id)
        if in_words[-1] >= self._text.main_end or len(in_words) != len(self._ends_of(sigil_id)):
            return None
        return [sigil.display]


def _first_uncovered(hits: list[Hit], others: list[Hit], longest: int) -> tuple[int, int] | None:
    """The least (word, part) where one of `hits` not inside one of `others` (sorted) starts."""
    starts = [other[0] for other in others]
    earliest = None
    for hit in hits:
        for other in others[
            bisect.bisect_left(starts, hit[0] - longest) : bisect.bisect_right(starts, hit[0])
        ]:
            if covers(other, hit):
                break
        else:
            if earliest is None or (hit[0], hit[2]) < earliest:
                earliest = (hit[0], hit[2])
    return earliest


def field_holds(field: Field, value: str) -> bool:
    """Whether `field` holds for the post's `value` of it (as `PostOracle` normalises it): the
    language or one of its subtags, the site or one of its subdomains, else the value itself."""
    if field.name == "lang":
        return any(value == wanted or value.startswith(wanted + "-") for wanted in field.values)
    if field.name == "site":
        return any(value == wanted or value.endswith("." + wanted) for wanted in field.values)
    return value in field.values


def gap(a: Hit, b: Hit) -> tuple[int, bool] | None:
    """(words between a and b, whether a comes first); None when they overlap."""
    if a[1] < b[0]:
        return b[0] - a[1] - 1, True
    if b[1] < a[0]:
        return a[0] - b[1] - 1, False
    if a[2] > 0 and b[2] > 0 and a[0] == b[0]:
        if a[3] < b[2]:
            return b[2] - a[3] - 1, True
        if b[3] < a[2]:
            return a[2] - b[3] - 1, False
    return None


def covers(a: Hit, b: Hit) -> bool:
    """Hit `a` holds hit `b` and more: more words or parts, or the #/@ form of b's word."""
    if b[2] > 0:
        if a[2] <= 0:
            return a[0] <= b[0] <= a[1]
        return a[0] == b[0] and a[2] <= b[2] and b[3] <= a[3] and a[3] - a[2] > b[3] - b[2]
    if a[2] > 0 or not a[0] <= b[0] <= b[1] <= a[1]:
        return False
    return a[1] - a[0] > b[1] - b[0] or a[2] < b[2]


_PLAIN_URL = re.compile(r"https?://([0-9A-Za-z.-]+)(?=[/?#]|\Z)")
"""An http(s) URL whose host is plain ASCII with no user, port or stray characters: `urlsplit`'s
host is the one matched (lowercased), without its 3 us."""


def url_host(url: str) -> str:
    """The host of `url` (scheme optional), normalised, without a trailing dot; empty if none."""
    if plain := _PLAIN_URL.match(url):
        return plain.group(1).lower().rstrip(".")
    return split_host(url)


def split_host(url: str) -> str:
    """`url_host` by `urlsplit`, for any URL."""
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:
        return ""
    return normalise(host).rstrip(".")
