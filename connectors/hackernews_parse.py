"""Algolia's Hacker News hits -> brandmon mentions, with no I/O: the pure half of the connector.

Split from `connectors.hackernews`, as the other connectors keep their wire format in a `_parse`
module, so the polling and cursor logic there is not interleaved with HTML handling: what a hit
becomes can be read and tested on its own. Comments and story texts arrive as HN's HTML
(`<p>` between paragraphs, links, entities) and are published as plain text; ids are the
objectID percent-encoded, so they stay printable ASCII as the contract asks; polls, jobs and
hits with no text are not mentions. A hit that cannot be read raises KeyError, TypeError or
ValueError (pydantic's ValidationError is one), which the connector counts and skips: a
`created_at_i` beyond the platform's time range is a ValueError too, never an OverflowError that
would end every poll at the same hit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from brandmon.schemas import Author, Engagement, Mention

ITEM_URL = "https://news.ycombinator.com/item?id="


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "br"):
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """HN's comment HTML (`<p>` between paragraphs, `<a>`, `<i>`, `<pre>`, entities) as text."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def _native_id(value: object) -> str:
    return quote(str(value), safe="")


MAX_COUNT = 2**63 - 1


def _count(value: object) -> int | None:
    """A count, or None when it is not one: negative, or beyond what orjson can publish (64 bits;
    Algolia's JSON is read by the standard library, which takes any integer)."""
    return value if isinstance(value, int) and 0 <= value <= MAX_COUNT else None


def _created_at(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError):
        raise ValueError("created_at_i is out of the range of dates") from None


def hit_to_mention(hit: Mapping[str, Any], fetched_at: datetime) -> Mention | None:
    """A story (title and text, else its link) or a comment; None for polls, jobs and empty text."""
    tags = hit.get("_tags") or []
    comment = "comment" in tags if tags else hit.get("comment_text") is not None
    if tags and not comment and "story" not in tags:
        return None
    if comment:
        text = plain_text(hit.get("comment_text") or "")
    else:
        body = plain_text(hit["story_text"]) if hit.get("story_text") else hit.get("url") or ""
        text = "\n\n".join(part for part in (hit.get("title") or "", body) if part)
    if not text:
        return None
    object_id, parent, author = _native_id(hit["objectID"]), hit.get("parent_id"), hit.get("author")
    points, replies = hit.get("points"), hit.get("num_comments")
    return Mention(
        id=f"hackernews:{object_id}",
        source="hackernews",
        url=ITEM_URL + object_id,
        author=Author(id=author, handle=author),
        text=text,
        created_at=_created_at(hit["created_at_i"]),
        fetched_at=fetched_at,
        reply_to=f"hackernews:{_native_id(parent)}" if comment and parent is not None else None,
        engagement=Engagement(
            likes=_count(points),
            replies=_count(replies),
        ),
    )
