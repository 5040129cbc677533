"""Answers to `evaluate`'s questions about one post, from where the automaton found each term.

Presence is a set lookup. Positions (for NEAR and for ordering the reported terms) are computed
only when asked, from the automaton's end offsets through `PostText.position`, and proximity looks
only at the occurrences of the other term within reach (bisect), so a 100k-character post with
thousands of occurrences stays fast.
"""

from __future__ import annotations

import bisect
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

    def __init__(
        self,
        node_ids: dict[int, int],
        key_lengths: list[int],
        text: PostText,
        hits: list[tuple[int, int]],
        post: PostFields,
    ) -> None:
        """`node_ids`: id() of each query Term -> term id; `key_lengths`: per term id, its automaton
        key's length; `hits`: (end offset, term id) as the automaton found them in `text.canonical`."""
        self._node_ids = node_ids
        self._key_lengths = key_lengths
        self._text = text
        self._hits = hits
        self.present = {term_id for _, term_id in hits}
        self._post = post
        self._host: str | None = None
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
        post = self._post
        if field.name == "lang":
            lang = normalise(post.lang or "").replace("_", "-")
            return any(lang == value or lang.startswith(value + "-") for value in field.values)
        if field.name == "source":
            return normalise(post.source or "") in field.values
        if field.name == "author":
            return normalise(post.author or "").lstrip("@") in field.values
        if self._host is None:
            self._host = url_host(post.url or "")
        return any(self._host == value or self._host.endswith("." + value) for value in field.values)

    def hits(self, term: Term) -> list[Hit]:
        """Every occurrence of `term`, sorted by where it starts."""
        term_id = self._node_ids[id(term)]
        if (known := self._positions.get(term_id)) is not None:
            return known
        found: list[Hit] = []
        for end in self._ends_of(term_id):
            word, part = self._text.position(end - self._key_lengths[term_id] + 1)
            if part:
                found.append((word, word, part, part + len(term.words) - 1 if part > 0 else -1))
            else:
                found.append((word, word + len(term.words) - 1, 0, 0))
        found.sort()
        self._positions[term_id] = found
        return found

    def near(self, first: Term, second: Term, distance: int, ordered: bool) -> bool:
        others = self.hits(second)
        starts = [hit[0] for hit in others]
        reach = distance + len(second.words)
        for a in self.hits(first):
            low, high = bisect.bisect_left(starts, a[0] - reach), bisect.bisect_right(starts, a[1] + reach)
            for b in others[low:high]:
                if (gap := _gap(a, b)) is not None and gap[0] <= distance and (gap[1] or not ordered):
                    return True
        return False

    def in_order(self, terms: list[Term]) -> list[str]:
        """Displays of the longest `terms` found, by first appearance on their own. A term found only
        inside longer ones (`acme` in "acme corp", the word of `#acme`) is not listed, as with aliases."""
        unique = list(dict.fromkeys(terms))
        if len(unique) == 1:
            return [unique[0].display]
        spans = [self.hits(term) for term in unique]
        longest = max(len(term.words) for term in unique)
        first: dict[str, tuple[int, int]] = {}
        for i, term in enumerate(unique):
            others = sorted(hit for j, hits in enumerate(spans) if j != i for hit in hits)
            if alone := _uncovered(spans[i], others, longest):
                first[term.display] = min(min(alone), first.get(term.display, min(alone)))
        return sorted(first, key=first.__getitem__)


def _uncovered(hits: list[Hit], others: list[Hit], longest: int) -> list[tuple[int, int]]:
    """(word, part) where each of `hits` not inside one of `others` (sorted) starts."""
    starts = [other[0] for other in others]
    found = []
    for hit in hits:
        around = others[bisect.bisect_left(starts, hit[0] - longest) : bisect.bisect_right(starts, hit[0])]
        if not any(_covers(other, hit) for other in around):
            found.append((hit[0], hit[2]))
    return found


def _gap(a: Hit, b: Hit) -> tuple[int, bool] | None:
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


def _covers(a: Hit, b: Hit) -> bool:
    """Hit `a` holds hit `b` and more: more words or parts, or the #/@ form of b's word."""
    if b[2] > 0:
        if a[2] <= 0:
            return a[0] <= b[0] <= a[1]
        return a[0] == b[0] and a[2] <= b[2] and b[3] <= a[3] and a[3] - a[2] > b[3] - b[2]
    if a[2] > 0 or not a[0] <= b[0] <= b[1] <= a[1]:
        return False
    return a[1] - a[0] > b[1] - b[0] or a[2] < b[2]


def url_host(url: str) -> str:
    """The host of `url` (scheme optional), normalised, without a trailing dot; empty if none."""
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:
        return ""
    return normalise(host).rstrip(".")
